/* SPDX-License-Identifier: Apache-2.0 */
/* store: staging COPY + INSERT ... ON CONFLICT counted into the rollups, cursor in the same
 * transaction, the statements after the COPY sent as one pipeline. */
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

/* Dossier pages stored between two compactions of the rollup deltas (rollup_compact_sql):
 * enough that a compaction merges many pages' days, few enough that readers add only a
 * few thousand delta rows. */
#define STORE_COMPACT_PAGES 16

struct store {
    PGconn *conn;
    int leader;
    unsigned pages_since_compact; /* dossier pages whose rollup deltas wait */
};

/* Every statement that deletes quarantine rows counts them out of rollup_quarantine. */
#define RELEASE_CHANGES                                                                            \
    ", chg AS (SELECT -1 AS sign, source, reason FROM del)" ROLLUP_QUARANTINE_CHANGES

/* Per kind: the staging columns (text c0.., raw, seq) and the upsert from them.
 * $1 is the source name. DISTINCT ON keeps one row per key: the greatest update time,
 * then the one sent last (highest seq). The dossier and shipment upserts also count the
 * versions they replace out of the rollups and the ones they store in (rollup.h). */
struct kind_sql {
    const char *stage; /* the COPY target: stage and this kind's columns */
    const char *upsert;
    const char *delete_source; /* FEED_WHOLE only */
    const char *release;       /* drops quarantine rows a staged good version supersedes */
};

static const struct kind_sql KIND_SQL[FEED_KIND_COUNT] = {
    [FEED_DOSSIER] =
        {
            "stage (c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17,"
            " raw, seq)",
            /* The old version of every row the upsert replaces, read in the
             * statement's snapshot, and the new one are counted in the rollups. */
            "WITH s AS (SELECT DISTINCT ON (c0) * FROM stage WHERE NOT rej"
            "  ORDER BY c0, c17::timestamp DESC, seq DESC),"
            " up AS (" STORE_DOSSIER_INSERT " SELECT " STORE_DOSSIER_VALUES
            " FROM s" STORE_DOSSIER_ON_CONFLICT
            " RETURNING d.code, d.agency, d.status, d.channel, d.received_at, d.due_at,"
            " d.finished_at, d.return_by_post, d.apologies)"
            " , chg AS (SELECT 1 AS sign, code, agency, status, channel,"
            " received_at::date AS received, due_at::date AS due, finished_at::date AS finished,"
            " return_by_post AS by_post, apologies FROM up"
            " UNION ALL SELECT -1, o.code, o.agency, o.status, o.channel, o.received_at::date,"
            " o.due_at::date, o.finished_at::date, o.return_by_post, o.apologies"
            " FROM up JOIN dossiers o ON o.code = up.code)," ROLLUP_DOSSIER_CHANGES,
            NULL,
            "WITH del AS (DELETE FROM quarantine q USING stage s WHERE NOT s.rej AND q.source = $1"
            " AND q.feed = $2 AND q.record_id = 'key:' || s.c0"
            " AND (q.updated_at IS NULL OR q.updated_at <= s.c17::timestamp)"
            " RETURNING q.source, q.reason)" RELEASE_CHANGES,
        },
    [FEED_PROCEDURE] =
        {
            "stage (c0, c1, c2, c3, c4, c5, c6, c7, raw, seq)",
            "INSERT INTO procedures AS p (procedure_code, agency, name, field_code, level, postal,"
            " fee, updated_at, source, raw)"
            " SELECT DISTINCT ON (c0, c1) c0, c1, c2, c3, c4::smallint, c5::boolean, c6::boolean,"
            " c7::timestamp, $1, raw::jsonb"
            " FROM stage WHERE NOT rej ORDER BY c0, c1, c7::timestamp DESC, seq DESC"
            " ON CONFLICT (procedure_code, agency) DO UPDATE SET name = EXCLUDED.name,"
            " field_code = EXCLUDED.field_code, level = EXCLUDED.level,"
            " postal = EXCLUDED.postal, fee = EXCLUDED.fee, updated_at = EXCLUDED.updated_at,"
            " source = EXCLUDED.source, raw = EXCLUDED.raw"
            " WHERE p.updated_at <= EXCLUDED.updated_at",
            "DELETE FROM procedures WHERE source = $1",
            "WITH del AS (DELETE FROM quarantine q USING stage s WHERE NOT s.rej AND q.source = $1"
            " AND q.feed = $2 AND q.record_id = 'key:' || s.c0 || '|' || s.c1"
            " AND (q.updated_at IS NULL OR q.updated_at <= s.c7::timestamp)"
            " RETURNING q.source, q.reason)" RELEASE_CHANGES,
        },
    [FEED_SHIPMENT] =
        {
            "stage (c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, raw, seq)",
            "WITH s AS (SELECT DISTINCT ON (c0) * FROM stage WHERE NOT rej"
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
            " , chg AS (SELECT 1 AS sign, direction,"
            " rollup_shipment_status(status_code) AS status, order_number FROM up"
            " UNION ALL SELECT -1, o.direction, rollup_shipment_status(o.status_code),"
            " o.order_number FROM up JOIN shipments o ON o.item_code = "
            "up.item_code)" ROLLUP_SHIPMENT_CHANGES,
            NULL,
            "WITH del AS (DELETE FROM quarantine q USING stage s WHERE NOT s.rej AND q.source = $1"
            " AND q.feed = $2 AND q.record_id = 'key:' || s.c0"
            " AND (q.updated_at IS NULL OR q.updated_at <= s.c10::timestamp)"
            " RETURNING q.source, q.reason)" RELEASE_CHANGES,
        },
};

/* One staging table for every kind and for the rejects (rej): PostgreSQL truncates each
 * ON COMMIT DELETE ROWS table at every commit, used or not, and that is most of the cost
 * of a commit here. Records use c0.. for their columns; rejects c0 the key, c1 the reason,
 * c2 the detail, c3 the update time. */
static const char *const CREATE_STAGE =
    "CREATE TEMP TABLE IF NOT EXISTS stage (c0 text, c1 text, c2 text, c3 text, c4 text,"
    " c5 text, c6 text, c7 text, c8 text, c9 text, c10 text, c11 text, c12 text, c13 text,"
    " c14 text, c15 text, c16 text, c17 text, raw text, seq int,"
    " rej boolean NOT NULL DEFAULT false) ON COMMIT DELETE ROWS";
#define STAGE_REJECTS "stage (c0, c1, c2, c3, raw, seq, rej)"

/* One quarantine row per record: its key, or the hash of its canonical JSON (jsonb
 * orders keys) when the key is what is missing; the latest bad version sent wins. */
static const char *const INSERT_REJECTS =
    "WITH up AS (INSERT INTO quarantine AS q (source, feed, record_id, record_key, reason,"
    " detail, updated_at, raw)"
    " SELECT DISTINCT ON (id) $1, $2, id, c0, c1, c2, c3::timestamp, j"
    " FROM (SELECT coalesce('key:' || c0, 'md5:' || md5(raw::jsonb::text)) AS id,"
    "  raw::jsonb AS j, * FROM stage WHERE rej) r"
    " ORDER BY id, seq DESC"
    " ON CONFLICT (source, feed, record_id) DO UPDATE SET reason = EXCLUDED.reason,"
    " detail = EXCLUDED.detail, updated_at = EXCLUDED.updated_at, raw = EXCLUDED.raw,"
    " times_seen = q.times_seen + 1, last_seen = now()"
    " RETURNING q.source, q.feed, q.record_id, q.reason)"
    " , chg AS (SELECT 1 AS sign, source, reason FROM up"
    " UNION ALL SELECT -1, o.source, o.reason FROM up JOIN quarantine o"
    " ON o.source = up.source AND o.feed = up.feed AND o.record_id = "
    "up.record_id)" ROLLUP_QUARANTINE_CHANGES;

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
    return pg_exec_ok(conn, CREATE_STAGE, err, errlen);
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
    for (;;) {
        size_t n = strcspn(v, "\\\t\n\r");
        buf_append(b, v, n);
        v += n;
        if (!*v)
            return;
        switch (*v++) {
        case '\\':
            buf_append(b, "\\\\", 2);
            break;
        case '\t':
            buf_append(b, "\\t", 2);
            break;
        case '\n':
            buf_append(b, "\\n", 2);
            break;
        default:
            buf_append(b, "\\r", 2);
            break;
        }
    }
}

/* COPY b into table. before: a command to send in the same round trip ("BEGIN;"), or "". */
static int copy_buffer(PGconn *conn, const char *before, const char *table, const struct buf *b,
                       char *err, size_t errlen)
{
    char sql[320];
    int rc = -1;
    PGresult *res = NULL;

    if (b->oom) {
        snprintf(err, errlen, "out of memory building COPY data for %s", table);
        return -1;
    }
    snprintf(sql, sizeof sql, "%sCOPY %s FROM STDIN", before, table);
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

/* The seq column and the end of a row: buf_printf would format twice. */
static void copy_seq(struct buf *b, size_t i)
{
    char tmp[24], *p = tmp + sizeof tmp;
    *--p = '\n';
    do {
        *--p = (char)('0' + i % 10);
        i /= 10;
    } while (i > 0);
    *--p = '\t';
    buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

void store_rows_init(struct store_rows *rows)
{
    buf_init(&rows->recs);
    buf_init(&rows->rejs);
}

void store_rows_render(const struct record_batch *b, struct store_rows *out)
{
    size_t ncols = rec_ncols(b->kind), size = 0;

    buf_reset(&out->recs);
    buf_reset(&out->rejs);
    /* One allocation of about the right size rather than a dozen doublings. */
    for (size_t i = 0; i < b->nrecs; i++) {
        for (size_t c = 0; c < ncols; c++)
            size += (b->recs[i].col[c] ? strlen(b->recs[i].col[c]) : 2) + 1;
        size += strlen(b->recs[i].raw) + 16;
    }
    buf_reserve(&out->recs, size + size / 16);
    for (size_t i = 0; i < b->nrecs; i++) {
        for (size_t c = 0; c < ncols; c++) {
            copy_field(&out->recs, b->recs[i].col[c]);
            buf_append(&out->recs, "\t", 1);
        }
        copy_field(&out->recs, b->recs[i].raw);
        copy_seq(&out->recs, i);
    }
    for (size_t i = 0; i < b->nrejs; i++) {
        const struct reject *j = &b->rejs[i];
        copy_field(&out->rejs, j->key);
        buf_append(&out->rejs, "\t", 1);
        copy_field(&out->rejs, rec_reason_name(j->reason));
        buf_append(&out->rejs, "\t", 1);
        copy_field(&out->rejs, j->detail ? j->detail : "");
        buf_append(&out->rejs, "\t", 1);
        copy_field(&out->rejs, j->updated);
        buf_append(&out->rejs, "\t", 1);
        copy_field(&out->rejs, j->raw ? j->raw : "null");
        buf_printf(&out->rejs, "\t%zu\tt\n", i); /* seq, rej */
    }
}

void store_rows_free(struct store_rows *rows)
{
    if (!rows)
        return;
    buf_free(&rows->recs);
    buf_free(&rows->rejs);
}

/*
 * Every page deletes and rewrites rows of the small rollup tables, and readers scan the
 * whole of rollup_b06_delta: left to autovacuum, which may be busy with the dossiers of a
 * long sync, the dead rows of a million-record load made a computation read hundreds of
 * megabytes. So the store vacuums them itself, outside any transaction: the delta table
 * after each compaction, all of them at the end of a sync. A failure only costs speed.
 */
#define ROLLUP_VACUUM_DELTA "VACUUM rollup_b06_delta"
#define ROLLUP_VACUUM_ALL                                                                          \
    "VACUUM rollup_b06_delta, rollup_b06, rollup_agency, rollup_shipment, rollup_quarantine"

static void vacuum_rollups(PGconn *conn, const char *sql)
{
    char err[256];
    if (pg_exec_ok(conn, sql, err, sizeof err) != 0)
        log_warn("store", "%s", err);
}

/* One statement of a pipeline. */
struct stmt {
    const char *sql;
    int nparams;
    const char *const *params;
    const char *what;
};

/*
 * Sends the statements at once in libpq's pipeline mode, then reads their results: one
 * round trip instead of one per statement, which matters most when the database's CPU is
 * contended and every wake-up waits its turn. 0, or -1 with err naming the first statement
 * that failed (the server skips the ones after it).
 */
static int exec_pipeline(PGconn *conn, const struct stmt *s, size_t n, char *err, size_t errlen)
{
    size_t sent = 0;
    int rc = 0;
    PGresult *res;

    if (PQenterPipelineMode(conn) != 1) {
        pg_errf(err, errlen, NULL, conn, "pipeline mode");
        return -1;
    }
    for (; sent < n; sent++)
        if (PQsendQueryParams(conn, s[sent].sql, s[sent].nparams, NULL, s[sent].params, NULL, NULL,
                              0) != 1) {
            pg_errf(err, errlen, NULL, conn, s[sent].what);
            rc = -1;
            break;
        }
    if (PQpipelineSync(conn) != 1) {
        if (rc == 0)
            pg_errf(err, errlen, NULL, conn, "pipeline sync");
        rc = -1;
    }
    for (size_t i = 0; i < sent; i++) {
        /* Each statement's results end with a NULL. */
        while ((res = PQgetResult(conn)) != NULL) {
            ExecStatusType st = PQresultStatus(res);
            if (rc == 0 && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
                pg_errf(err, errlen, res, conn, s[i].what);
                rc = -1;
            }
            PQclear(res);
        }
    }
    while ((res = PQgetResult(conn)) != NULL) {
        int sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
        PQclear(res);
        if (sync)
            break;
    }
    if (PQexitPipelineMode(conn) != 1 && rc == 0) {
        pg_errf(err, errlen, NULL, conn, "leaving pipeline mode");
        rc = -1;
    }
    return rc;
}

/*
 * A batch in one transaction and three round trips: BEGIN with the COPY of the records (a
 * second COPY for the rejects, when there are any), then every statement that follows,
 * COMMIT included, in one pipeline. The first of those takes the rollup lock (rollup.h);
 * every STORE_COMPACT_PAGES dossier pages the rollup deltas are compacted in the same
 * transaction.
 */
static int store_batch(struct store *st, const char *source, const struct feed_desc *fd,
                       const struct record_batch *b, const struct store_rows *rows, int whole,
                       char *err, size_t errlen)
{
    PGconn *conn = st->conn;
    const struct kind_sql *k = &KIND_SQL[fd->kind];
    const char *src_param[1] = {source};
    const char *qparams[2] = {source, fd->name};
    const char *cparams[4] = {source, fd->name, b->cursor_time, b->cursor_key ? b->cursor_key : ""};
    int compact = fd->kind == FEED_DOSSIER && b->nrecs > 0 &&
                  st->pages_since_compact + 1 >= STORE_COMPACT_PAGES;
    struct stmt stmts[9];
    size_t n = 0;
    struct store_rows own;
    int rc = -1;

    if (!rows) {
        store_rows_init(&own);
        store_rows_render(b, &own);
        rows = &own;
    }
    if (b->nrecs > 0 ? copy_buffer(conn, "BEGIN; ", k->stage, &rows->recs, err, errlen) != 0
                     : pg_exec_ok(conn, "BEGIN", err, errlen) != 0)
        goto cleanup;
    if (b->nrejs > 0 && copy_buffer(conn, "", STAGE_REJECTS, &rows->rejs, err, errlen) != 0)
        goto cleanup;
    stmts[n++] = (struct stmt){ROLLUP_LOCK_SQL, 0, NULL, "rollup lock"};
    if (whole) {
        stmts[n++] = (struct stmt){k->delete_source, 1, src_param, "replacing the catalogue"};
        stmts[n++] = (struct stmt){DELETE_QUARANTINE, 2, qparams, "replacing quarantine"};
    }
    if (b->nrecs > 0)
        stmts[n++] = (struct stmt){k->upsert, 1, src_param, "upsert"};
    if (b->nrejs > 0)
        stmts[n++] = (struct stmt){INSERT_REJECTS, 2, qparams, "quarantine"};
    /* A good version at least as new releases its key from quarantine. */
    if (b->nrecs > 0)
        stmts[n++] = (struct stmt){k->release, 2, qparams, "releasing quarantine"};
    if (!whole && b->cursor_time[0])
        stmts[n++] = (struct stmt){UPSERT_CURSOR, 4, cparams, "moving the cursor"};
    if (compact)
        stmts[n++] = (struct stmt){rollup_compact_sql, 0, NULL, "compacting the rollups"};
    stmts[n++] = (struct stmt){"COMMIT", 0, NULL, "COMMIT"};
    if (exec_pipeline(conn, stmts, n, err, errlen) != 0)
        goto cleanup;
    if (fd->kind == FEED_DOSSIER && b->nrecs > 0)
        st->pages_since_compact = compact ? 0 : st->pages_since_compact + 1;
    if (compact)
        vacuum_rollups(conn, ROLLUP_VACUUM_DELTA);
    rc = 0;
cleanup:
    if (rc != 0 && PQtransactionStatus(conn) != PQTRANS_IDLE)
        pg_exec_ok(conn, "ROLLBACK", NULL, 0);
    if (rows == &own)
        store_rows_free(&own);
    return rc;
}

int store_keyset_page(struct store *st, const char *source, const struct feed_desc *fd,
                      const struct record_batch *b, const struct store_rows *rows, char *err,
                      size_t errlen)
{
    return store_batch(st, source, fd, b, rows, 0, err, errlen);
}

int store_replace_whole(struct store *st, const char *source, const struct feed_desc *fd,
                        const struct record_batch *b, char *err, size_t errlen)
{
    return store_batch(st, source, fd, b, NULL, 1, err, errlen);
}

int store_compact_rollups(struct store *st, char *err, size_t errlen)
{
    /* Also when this process stored nothing: a killed predecessor may have left deltas. */
    if (pg_exec_ok(st->conn, "BEGIN", err, errlen) != 0)
        return -1;
    if (rollup_lock(st->conn, err, errlen) != 0 || rollup_compact(st->conn, err, errlen) != 0 ||
        pg_exec_ok(st->conn, "COMMIT", err, errlen) != 0) {
        pg_exec_ok(st->conn, "ROLLBACK", NULL, 0);
        return -1;
    }
    st->pages_since_compact = 0;
    vacuum_rollups(st->conn, ROLLUP_VACUUM_ALL);
    return 0;
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
