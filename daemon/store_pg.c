/* SPDX-License-Identifier: Apache-2.0 */
/* store: staging COPY + INSERT ... ON CONFLICT, cursor in the same transaction. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "migrate.h"
#include "pgutil.h"
#include "rollup.h"
#include "util.h"

/* Leader lock key, distinct from the migration lock. */
#define STORE_LEADER_KEY "28539296568129649"

struct store {
    PGconn *conn;
    int leader;
};

/* Every statement that deletes quarantine rows counts them out of rollup_quarantine. */
#define RELEASE_CHANGES                                                                            \
    " INSERT INTO rollup_quarantine_change (sign, source, reason)"                                 \
    " SELECT -1, source, reason FROM del"

/* Per kind: the staging table (text columns c0.., raw, seq) and the upsert from it.
 * $1 is the source name. DISTINCT ON keeps one row per key: the greatest update time,
 * then the one sent last (highest seq). The dossier and shipment upserts also write the
 * versions they replace and store into the rollup change tables (rollup.h). */
struct kind_sql {
    const char *stage;
    const char *create_stage;
    const char *upsert;
    const char *delete_source; /* FEED_WHOLE only */
    const char *release;       /* drops quarantine rows a staged good version supersedes */
};

static const struct kind_sql KIND_SQL[FEED_KIND_COUNT] = {
    [FEED_DOSSIER] =
        {
            "stage_dossier",
            "CREATE TEMP TABLE IF NOT EXISTS stage_dossier (c0 text, c1 text, c2 text, c3 text,"
            " c4 text, c5 text, c6 text, c7 text, c8 text, c9 text, c10 text, c11 text, c12 text,"
            " c13 text, c14 text, c15 text, c16 text, c17 text, raw text, seq int)"
            " ON COMMIT DELETE ROWS",
            /* The old version of every row the upsert replaces, read from the
             * statement's snapshot, and the new one, go to the change table. */
            "WITH s AS (SELECT DISTINCT ON (c0) * FROM stage_dossier"
            "  ORDER BY c0, c17::timestamp DESC, seq DESC),"
            " up AS (INSERT INTO dossiers AS d (code, procedure_code, procedure_name, field_code,"
            " field_name, agency, agency_name, channel, level, status, received_at, due_at,"
            " finished_at, returned_at, refused_at, return_by_post, apologies, updated_at,"
            " source, raw)"
            " SELECT c0, c1, c2, c3, c4, c5, c6, c7::smallint, c8::smallint,"
            " c9::smallint, c10::timestamp, c11::timestamp, c12::timestamp, c13::timestamp,"
            " c14::timestamp, c15::boolean, c16::integer, c17::timestamp, $1, raw::jsonb FROM s"
            " ON CONFLICT (code) DO UPDATE SET procedure_code = EXCLUDED.procedure_code,"
            " procedure_name = EXCLUDED.procedure_name, field_code = EXCLUDED.field_code,"
            " field_name = EXCLUDED.field_name, agency = EXCLUDED.agency,"
            " agency_name = EXCLUDED.agency_name, channel = EXCLUDED.channel,"
            " level = EXCLUDED.level, status = EXCLUDED.status,"
            " received_at = EXCLUDED.received_at, due_at = EXCLUDED.due_at,"
            " finished_at = EXCLUDED.finished_at, returned_at = EXCLUDED.returned_at,"
            " refused_at = EXCLUDED.refused_at, return_by_post = EXCLUDED.return_by_post,"
            " apologies = EXCLUDED.apologies, updated_at = EXCLUDED.updated_at,"
            " source = EXCLUDED.source, raw = EXCLUDED.raw, stored_at = now()"
            " WHERE d.updated_at <= EXCLUDED.updated_at"
            " RETURNING d.code, d.agency, d.status, d.channel, d.received_at, d.due_at,"
            " d.finished_at, d.return_by_post, d.apologies)"
            " INSERT INTO rollup_dossier_change (sign, code, agency, status, channel, received,"
            " due, finished, by_post, apologies)"
            " SELECT 1, code, agency, status, channel, received_at::date, due_at::date,"
            " finished_at::date, return_by_post, apologies FROM up"
            " UNION ALL SELECT -1, o.code, o.agency, o.status, o.channel, o.received_at::date,"
            " o.due_at::date, o.finished_at::date, o.return_by_post, o.apologies"
            " FROM up JOIN dossiers o ON o.code = up.code",
            NULL,
            "WITH del AS (DELETE FROM quarantine q USING stage_dossier s WHERE q.source = $1"
            " AND q.feed = $2 AND q.record_id = 'key:' || s.c0"
            " AND (q.updated_at IS NULL OR q.updated_at <= s.c17::timestamp)"
            " RETURNING q.source, q.reason)" RELEASE_CHANGES,
        },
    [FEED_PROCEDURE] =
        {
            "stage_procedure",
            "CREATE TEMP TABLE IF NOT EXISTS stage_procedure (c0 text, c1 text, c2 text, c3 text,"
            " c4 text, c5 text, c6 text, c7 text, raw text, seq int) ON COMMIT DELETE ROWS",
            "INSERT INTO procedures AS p (procedure_code, agency, name, field_code, level, postal,"
            " fee, updated_at, source, raw)"
            " SELECT DISTINCT ON (c0, c1) c0, c1, c2, c3, c4::smallint, c5::boolean, c6::boolean,"
            " c7::timestamp, $1, raw::jsonb"
            " FROM stage_procedure ORDER BY c0, c1, c7::timestamp DESC, seq DESC"
            " ON CONFLICT (procedure_code, agency) DO UPDATE SET name = EXCLUDED.name,"
            " field_code = EXCLUDED.field_code, level = EXCLUDED.level,"
            " postal = EXCLUDED.postal, fee = EXCLUDED.fee, updated_at = EXCLUDED.updated_at,"
            " source = EXCLUDED.source, raw = EXCLUDED.raw"
            " WHERE p.updated_at <= EXCLUDED.updated_at",
            "DELETE FROM procedures WHERE source = $1",
            "WITH del AS (DELETE FROM quarantine q USING stage_procedure s WHERE q.source = $1"
            " AND q.feed = $2 AND q.record_id = 'key:' || s.c0 || '|' || s.c1"
            " AND (q.updated_at IS NULL OR q.updated_at <= s.c7::timestamp)"
            " RETURNING q.source, q.reason)" RELEASE_CHANGES,
        },
    [FEED_SHIPMENT] =
        {
            "stage_shipment",
            "CREATE TEMP TABLE IF NOT EXISTS stage_shipment (c0 text, c1 text, c2 text, c3 text,"
            " c4 text, c5 text, c6 text, c7 text, c8 text, c9 text, c10 text, raw text, seq int)"
            " ON COMMIT DELETE ROWS",
            "WITH s AS (SELECT DISTINCT ON (c0) * FROM stage_shipment"
            "  ORDER BY c0, c10::timestamp DESC, seq DESC),"
            " up AS (INSERT INTO shipments AS s (item_code, order_number, direction,"
            " status_code, accepted_at, delivered_at, sender_province, receiver_province, fee,"
            " cod_amount, updated_at, source, raw)"
            " SELECT c0, c1, c2::smallint, c3::bigint, c4::timestamp,"
            " c5::timestamp, c6, c7, c8::bigint, c9::bigint, c10::timestamp, $1, raw::jsonb"
            " FROM s"
            " ON CONFLICT (item_code) DO UPDATE SET order_number = EXCLUDED.order_number,"
            " direction = EXCLUDED.direction, status_code = EXCLUDED.status_code,"
            " accepted_at = EXCLUDED.accepted_at, delivered_at = EXCLUDED.delivered_at,"
            " sender_province = EXCLUDED.sender_province,"
            " receiver_province = EXCLUDED.receiver_province, fee = EXCLUDED.fee,"
            " cod_amount = EXCLUDED.cod_amount, updated_at = EXCLUDED.updated_at,"
            " source = EXCLUDED.source, raw = EXCLUDED.raw"
            " WHERE s.updated_at <= EXCLUDED.updated_at"
            " RETURNING s.item_code, s.order_number, s.direction, s.status_code)"
            " INSERT INTO rollup_shipment_change (sign, direction, status, order_number)"
            " SELECT 1, direction, rollup_shipment_status(status_code), order_number FROM up"
            " UNION ALL SELECT -1, o.direction, rollup_shipment_status(o.status_code),"
            " o.order_number FROM up JOIN shipments o ON o.item_code = up.item_code",
            NULL,
            "WITH del AS (DELETE FROM quarantine q USING stage_shipment s WHERE q.source = $1"
            " AND q.feed = $2 AND q.record_id = 'key:' || s.c0"
            " AND (q.updated_at IS NULL OR q.updated_at <= s.c10::timestamp)"
            " RETURNING q.source, q.reason)" RELEASE_CHANGES,
        },
};

static const char *const CREATE_STAGE_REJECT =
    "CREATE TEMP TABLE IF NOT EXISTS stage_reject (record_key text, reason text, detail text,"
    " updated_at text, raw text, seq int) ON COMMIT DELETE ROWS";

/* One quarantine row per record: its key, or the hash of its canonical JSON (jsonb
 * orders keys) when the key is what is missing; the latest bad version sent wins. */
static const char *const INSERT_REJECTS =
    "WITH up AS (INSERT INTO quarantine AS q (source, feed, record_id, record_key, reason,"
    " detail, updated_at, raw)"
    " SELECT DISTINCT ON (id) $1, $2, id, record_key, reason, detail, updated_at::timestamp, j"
    " FROM (SELECT coalesce('key:' || record_key, 'md5:' || md5(raw::jsonb::text)) AS id,"
    "  raw::jsonb AS j, * FROM stage_reject) r"
    " ORDER BY id, seq DESC"
    " ON CONFLICT (source, feed, record_id) DO UPDATE SET reason = EXCLUDED.reason,"
    " detail = EXCLUDED.detail, updated_at = EXCLUDED.updated_at, raw = EXCLUDED.raw,"
    " times_seen = q.times_seen + 1, last_seen = now()"
    " RETURNING q.source, q.feed, q.record_id, q.reason)"
    " INSERT INTO rollup_quarantine_change (sign, source, reason)"
    " SELECT 1, source, reason FROM up"
    " UNION ALL SELECT -1, o.source, o.reason FROM up JOIN quarantine o"
    " ON o.source = up.source AND o.feed = up.feed AND o.record_id = up.record_id";

static const char *const DELETE_QUARANTINE =
    "WITH del AS (DELETE FROM quarantine WHERE source = $1 AND feed = $2"
    " RETURNING source, reason)" RELEASE_CHANGES;

static const char *const UPSERT_CURSOR =
    "INSERT INTO sync_cursors (source, feed, cursor_time, cursor_key, pages)"
    " VALUES ($1, $2, $3, $4, 1)"
    " ON CONFLICT (source, feed) DO UPDATE SET cursor_time = EXCLUDED.cursor_time,"
    " cursor_key = EXCLUDED.cursor_key, pages = sync_cursors.pages + 1, changed_at = now()";

static int prepare_session(PGconn *conn, char *err, size_t errlen)
{
    /* Wall-clock timestamps are stored as they come; fix the session's zone anyway so
     * that nothing (now(), logs) varies with the server's configuration. */
    if (pg_exec_ok(conn, "SET TIME ZONE 'Asia/Ho_Chi_Minh'", err, errlen) != 0)
        return -1;
    for (int k = 0; k < FEED_KIND_COUNT; k++)
        if (pg_exec_ok(conn, KIND_SQL[k].create_stage, err, errlen) != 0)
            return -1;
    if (rollup_prepare_session(conn, err, errlen) != 0)
        return -1;
    return pg_exec_ok(conn, CREATE_STAGE_REJECT, err, errlen);
}

struct store *store_open(const char *conninfo, const char *password, const char *appname, char *err,
                         size_t errlen)
{
    struct store *st = calloc(1, sizeof *st);
    int applied = 0;
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->conn = pg_connect(conninfo, password, appname);
    if (!st->conn || PQstatus(st->conn) != CONNECTION_OK) {
        pg_errf(err, errlen, NULL, st->conn, "connecting to PostgreSQL");
        goto fail;
    }
    if (pg_exec_ok(st->conn, "SET client_min_messages = warning", err, errlen) != 0)
        goto fail;
    if (migrate_run(st->conn, migrate_embedded, migrate_embedded_count, &applied, err, errlen) != 0)
        goto fail;
    if (applied > 0)
        log_notice("store", "applied %d schema migration(s)", applied);
    if (prepare_session(st->conn, err, errlen) != 0)
        goto fail;
    return st;
fail:
    store_free(st);
    return NULL;
}

void store_free(struct store *st)
{
    if (!st)
        return;
    if (st->conn)
        PQfinish(st->conn);
    free(st);
}

PGconn *store_conn(struct store *st)
{
    return st ? st->conn : NULL;
}

int store_ping(struct store *st)
{
    if (!st || PQstatus(st->conn) != CONNECTION_OK)
        return 0;
    return pg_exec_ok(st->conn, "SELECT 1", NULL, 0) == 0;
}

int store_get_cursor(struct store *st, const char *source, const char *feed, char time[15],
                     char **key, char *err, size_t errlen)
{
    const char *params[2] = {source, feed};
    int rc = -1;
    time[0] = '\0';
    *key = NULL;
    PGresult *res = PQexecParams(st->conn,
                                 "SELECT cursor_time, cursor_key FROM sync_cursors"
                                 " WHERE source = $1 AND feed = $2",
                                 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_errf(err, errlen, res, st->conn, "reading the cursor");
        goto cleanup;
    }
    if (PQntuples(res) == 1) {
        snprintf(time, 15, "%s", PQgetvalue(res, 0, 0));
        *key = xstrdup(PQgetvalue(res, 0, 1));
    } else {
        *key = xstrdup("");
    }
    if (!*key) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    rc = 0;
cleanup:
    PQclear(res);
    return rc;
}

/* COPY text format: backslash escapes for the bytes that delimit fields and rows. */
static void copy_field(struct buf *b, const char *v)
{
    if (!v) {
        buf_append(b, "\\N", 2);
        return;
    }
    const char *start = v;
    for (const char *p = v; *p; p++) {
        const char *esc = NULL;
        switch (*p) {
        case '\\':
            esc = "\\\\";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        default:
            continue;
        }
        buf_append(b, start, (size_t)(p - start));
        buf_append(b, esc, 2);
        start = p + 1;
    }
    buf_puts(b, start);
}

static int copy_buffer(PGconn *conn, const char *table, struct buf *b, char *err, size_t errlen)
{
    char sql[96];
    int rc = -1;
    PGresult *res = NULL;

    if (b->oom) {
        snprintf(err, errlen, "out of memory building COPY data for %s", table);
        return -1;
    }
    snprintf(sql, sizeof sql, "COPY %s FROM STDIN", table);
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        pg_errf(err, errlen, res, conn, sql);
        goto cleanup;
    }
    PQclear(res);
    res = NULL;
    if (b->len > 0 && PQputCopyData(conn, b->data, (int)b->len) != 1) {
        pg_errf(err, errlen, NULL, conn, "COPY data");
        goto cleanup;
    }
    if (PQputCopyEnd(conn, NULL) != 1) {
        pg_errf(err, errlen, NULL, conn, "COPY end");
        goto cleanup;
    }
    res = PQgetResult(conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg_errf(err, errlen, res, conn, sql);
        goto cleanup;
    }
    rc = 0;
cleanup:
    PQclear(res);
    /* Drain so the connection is ready for the next command. */
    while ((res = PQgetResult(conn)) != NULL)
        PQclear(res);
    return rc;
}

static int stage_records(PGconn *conn, const struct record_batch *b, char *err, size_t errlen)
{
    struct buf data;
    size_t ncols = rec_ncols(b->kind);
    int rc;

    if (b->nrecs == 0)
        return 0;
    buf_init(&data);
    for (size_t i = 0; i < b->nrecs; i++) {
        for (size_t c = 0; c < ncols; c++) {
            copy_field(&data, b->recs[i].col[c]);
            buf_append(&data, "\t", 1);
        }
        copy_field(&data, b->recs[i].raw);
        buf_printf(&data, "\t%zu\n", i);
    }
    rc = copy_buffer(conn, KIND_SQL[b->kind].stage, &data, err, errlen);
    buf_free(&data);
    return rc;
}

static int stage_rejects(PGconn *conn, const struct record_batch *b, char *err, size_t errlen)
{
    struct buf data;
    int rc;

    if (b->nrejs == 0)
        return 0;
    buf_init(&data);
    for (size_t i = 0; i < b->nrejs; i++) {
        const struct reject *j = &b->rejs[i];
        copy_field(&data, j->key);
        buf_append(&data, "\t", 1);
        copy_field(&data, rec_reason_name(j->reason));
        buf_append(&data, "\t", 1);
        copy_field(&data, j->detail ? j->detail : "");
        buf_append(&data, "\t", 1);
        copy_field(&data, j->updated);
        buf_append(&data, "\t", 1);
        copy_field(&data, j->raw ? j->raw : "null");
        buf_printf(&data, "\t%zu\n", i);
    }
    rc = copy_buffer(conn, "stage_reject", &data, err, errlen);
    buf_free(&data);
    return rc;
}

static int store_in_tx(struct store *st, const char *source, const struct feed_desc *fd,
                       const struct record_batch *b, int whole, char *err, size_t errlen)
{
    PGconn *conn = st->conn;
    const struct kind_sql *k = &KIND_SQL[fd->kind];
    const char *src_param[1] = {source};
    const char *qparams[2] = {source, fd->name};
    unsigned changed = ROLLUP_QUARANTINE;

    if (fd->kind == FEED_DOSSIER && b->nrecs > 0)
        changed |= ROLLUP_DOSSIERS;
    if (fd->kind == FEED_SHIPMENT && b->nrecs > 0)
        changed |= ROLLUP_SHIPMENTS;
    if (rollup_lock(conn, err, errlen) != 0)
        return -1;
    if (stage_records(conn, b, err, errlen) != 0 || stage_rejects(conn, b, err, errlen) != 0)
        return -1;
    if (whole) {
        if (pg_exec_params(conn, k->delete_source, 1, src_param, "replacing the catalogue", err,
                           errlen) != 0)
            return -1;
        if (pg_exec_params(conn, DELETE_QUARANTINE, 2, qparams, "replacing quarantine", err,
                           errlen) != 0)
            return -1;
    }
    if (b->nrecs > 0 && pg_exec_params(conn, k->upsert, 1, src_param, "upsert", err, errlen) != 0)
        return -1;
    if (b->nrejs > 0 &&
        pg_exec_params(conn, INSERT_REJECTS, 2, qparams, "quarantine", err, errlen) != 0)
        return -1;
    /* A good version at least as new releases its key from quarantine. */
    if (b->nrecs > 0 &&
        pg_exec_params(conn, k->release, 2, qparams, "releasing quarantine", err, errlen) != 0)
        return -1;
    if (!whole && b->cursor_time[0]) {
        const char *cparams[4] = {source, fd->name, b->cursor_time,
                                  b->cursor_key ? b->cursor_key : ""};
        if (pg_exec_params(conn, UPSERT_CURSOR, 4, cparams, "moving the cursor", err, errlen) != 0)
            return -1;
    }
    return rollup_apply(conn, changed, err, errlen);
}

static int store_batch(struct store *st, const char *source, const struct feed_desc *fd,
                       const struct record_batch *b, int whole, char *err, size_t errlen)
{
    if (pg_exec_ok(st->conn, "BEGIN", err, errlen) != 0)
        return -1;
    if (store_in_tx(st, source, fd, b, whole, err, errlen) != 0 ||
        pg_exec_ok(st->conn, "COMMIT", err, errlen) != 0) {
        pg_exec_ok(st->conn, "ROLLBACK", NULL, 0);
        return -1;
    }
    return 0;
}

int store_keyset_page(struct store *st, const char *source, const struct feed_desc *fd,
                      const struct record_batch *b, char *err, size_t errlen)
{
    return store_batch(st, source, fd, b, 0, err, errlen);
}

int store_replace_whole(struct store *st, const char *source, const struct feed_desc *fd,
                        const struct record_batch *b, char *err, size_t errlen)
{
    return store_batch(st, source, fd, b, 1, err, errlen);
}

int store_try_leader(struct store *st, char *err, size_t errlen)
{
    if (st->leader && PQstatus(st->conn) == CONNECTION_OK)
        return 1;
    PGresult *res = PQexec(st->conn, "SELECT pg_try_advisory_lock(" STORE_LEADER_KEY ")");
    int rc = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_errf(err, errlen, res, st->conn, "leader lock");
        goto cleanup;
    }
    rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    st->leader = rc;
cleanup:
    PQclear(res);
    return rc;
}
