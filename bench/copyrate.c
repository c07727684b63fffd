/* SPDX-License-Identifier: Apache-2.0 */
/* onestop-copyrate: the raw COPY-staging upsert rate of the dossiers a database holds,
 * the yardstick of the ingest benchmark (bench/run.py). `export` writes the stored rows in
 * NgayCapNhat order; `load` upserts them into another database, freshly migrated, the
 * way the store did before the rollups: per batch one transaction with a COPY into a staging
 * table and one INSERT ... SELECT DISTINCT ON ... ON CONFLICT DO UPDATE. Nothing else:
 * no fetching, no parsing, no rollups, no cursor, no quarantine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "migrate.h"
#include "pgutil.h"
#include "store.h"
#include "util.h"

static const char *const EXPORT_SQL =
    "COPY (SELECT code, procedure_code, procedure_name, field_code, field_name, agency,"
    " agency_name, channel, level, status, received_at, due_at, finished_at, returned_at,"
    " refused_at, return_by_post, apologies, updated_at, raw FROM dossiers"
    " ORDER BY updated_at, code) TO STDOUT";

static const char *const CREATE_STAGE =
    "CREATE TEMP TABLE stage_dossier (c0 text, c1 text, c2 text, c3 text, c4 text, c5 text,"
    " c6 text, c7 text, c8 text, c9 text, c10 text, c11 text, c12 text, c13 text, c14 text,"
    " c15 text, c16 text, c17 text, raw text, seq int) ON COMMIT DELETE ROWS";

/* The store's dossier upsert (store.h) without the rollups, the quarantine or the cursor. */
static const char *const UPSERT_SQL = STORE_DOSSIER_INSERT
    " SELECT DISTINCT ON (c0) " STORE_DOSSIER_VALUES
    " FROM stage_dossier ORDER BY c0, c17::timestamp DESC, seq DESC" STORE_DOSSIER_ON_CONFLICT;

static int export_rows(PGconn *src, FILE *out, long *rows)
{
    PGresult *res = PQexec(src, EXPORT_SQL);
    char *line;
    int n, rc = -1;

    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        fprintf(stderr, "export: %s", PQerrorMessage(src));
        PQclear(res);
        return -1;
    }
    PQclear(res);
    *rows = 0;
    while ((n = PQgetCopyData(src, &line, 0)) > 0) {
        fwrite(line, 1, (size_t)n, out);
        PQfreemem(line);
        (*rows)++;
    }
    res = PQgetResult(src);
    if (n == -1 && PQresultStatus(res) == PGRES_COMMAND_OK)
        rc = 0;
    else
        fprintf(stderr, "export: %s", PQerrorMessage(src));
    PQclear(res);
    return rc;
}

/* One batch: its rows (each "...\n" without the seq column) get their seq appended. */
static int store_batch(PGconn *dst, struct buf *rows)
{
    const char *params[1] = {"bench"};
    PGresult *res;

    if (pg_exec_ok(dst, "BEGIN", NULL, 0) != 0)
        return -1;
    res = PQexec(dst, "COPY stage_dossier FROM STDIN");
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        PQclear(res);
        return -1;
    }
    PQclear(res);
    if (PQputCopyData(dst, rows->data, (int)rows->len) != 1 || PQputCopyEnd(dst, NULL) != 1)
        return -1;
    res = PQgetResult(dst);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    while ((res = PQgetResult(dst)) != NULL)
        PQclear(res);
    if (!ok || pg_exec_params(dst, UPSERT_SQL, 1, params, "upsert", NULL, 0) != 0 ||
        pg_exec_ok(dst, "COMMIT", NULL, 0) != 0) {
        fprintf(stderr, "batch: %s", PQerrorMessage(dst));
        return -1;
    }
    return 0;
}

static int load(PGconn *dst, FILE *in, long batch)
{
    char err[512], *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long in_batch = 0, stored = 0;
    int applied, rc = -1;
    struct buf b;

    buf_init(&b);
    if (pg_exec_ok(dst, "SET client_min_messages = warning", err, sizeof err) != 0 ||
        migrate_run(dst, migrate_embedded, migrate_embedded_count, &applied, err, sizeof err) !=
            0 ||
        pg_exec_ok(dst, CREATE_STAGE, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        goto cleanup;
    }
    int64_t start = util_now_ms();
    while ((len = getline(&line, &cap, in)) > 0) {
        buf_append(&b, line, (size_t)len - 1);
        buf_printf(&b, "\t%ld\n", in_batch++);
        if (in_batch == batch) {
            if (store_batch(dst, &b) != 0)
                goto cleanup;
            stored += in_batch;
            in_batch = 0;
            buf_reset(&b);
        }
    }
    if (in_batch > 0) {
        if (store_batch(dst, &b) != 0)
            goto cleanup;
        stored += in_batch;
    }
    double secs = (double)(util_now_ms() - start) / 1000.0;
    printf("copyrate: %ld rows in %.2f s = %.0f rows/s (batches of %ld)\n", stored, secs,
           secs > 0 ? (double)stored / secs : 0.0, batch);
    rc = 0;
cleanup:
    free(line);
    buf_free(&b);
    return rc;
}

int main(int argc, char **argv)
{
    int export = argc >= 4 && strcmp(argv[1], "export") == 0;
    int import = argc >= 4 && strcmp(argv[1], "load") == 0;
    long batch = import && argc > 4 ? atol(argv[4]) : 1000, rows = 0;
    int rc = EX_SOFTWARE;

    if ((!export && !import) || batch < 1) {
        fprintf(stderr, "usage: onestop-copyrate export SOURCE-CONNINFO FILE\n"
                        "       onestop-copyrate load TARGET-CONNINFO FILE [BATCH]\n"
                        "  export writes the stored dossiers in NgayCapNhat order; load migrates\n"
                        "  the target and prints the rows/s of the raw COPY-staging upsert\n");
        return EX_USAGE;
    }
    PGconn *conn = pg_connect(argv[2], NULL, "onestop-copyrate");
    FILE *f = fopen(argv[3], export ? "w" : "r");
    if (PQstatus(conn) != CONNECTION_OK || !f) {
        fprintf(stderr, "cannot connect or open %s\n", argv[3]);
        goto cleanup;
    }
    if (export ? export_rows(conn, f, &rows) == 0 : load(conn, f, batch) == 0)
        rc = EX_OK;
    if (export && rc == EX_OK)
        printf("exported %ld rows\n", rows);
cleanup:
    if (f && fclose(f) != 0)
        rc = EX_IOERR;
    PQfinish(conn);
    return rc;
}
