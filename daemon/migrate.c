/* SPDX-License-Identifier: Apache-2.0 */
/* migrate: schema migrations embedded in the binary. */
#include "migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pgutil.h"

/* Arbitrary constant shared by every onestopd: "onestop" in ASCII. */
#define MIGRATE_LOCK_KEY "28539296568129648"

static const char *const CREATE_TABLE =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

int migrate_current(PGconn *conn, char *err, size_t errlen)
{
    int v = -1;
    PGresult *res = PQexec(conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_errf(err, errlen, res, conn, "reading schema_migrations");
        goto cleanup;
    }
    v = atoi(PQgetvalue(res, 0, 0));
cleanup:
    PQclear(res);
    return v;
}

/* Returns 1 if version is applied (checksum into sum), 0 if not, -1 on error. */
static int applied_checksum(PGconn *conn, int version, char *sum, size_t sumlen, char *err,
                            size_t errlen)
{
    char vbuf[16];
    const char *params[1] = {vbuf};
    int rc = -1;
    snprintf(vbuf, sizeof vbuf, "%d", version);
    PGresult *res = PQexecParams(conn, "SELECT checksum FROM schema_migrations WHERE version = $1",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_errf(err, errlen, res, conn, "reading schema_migrations");
        goto cleanup;
    }
    rc = PQntuples(res) > 0;
    if (rc)
        snprintf(sum, sumlen, "%s", PQgetvalue(res, 0, 0));
cleanup:
    PQclear(res);
    return rc;
}

static int apply_one(PGconn *conn, const struct migration *m, char *err, size_t errlen)
{
    char vbuf[16];
    const char *params[3] = {vbuf, m->name, m->sql};
    int rc = -1;
    PGresult *res = NULL;

    snprintf(vbuf, sizeof vbuf, "%d", m->version);
    if (pg_exec_ok(conn, "BEGIN", err, errlen) != 0)
        return -1;
    res = PQexec(conn, m->sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_errf(err, errlen, res, conn, m->name);
        goto cleanup;
    }
    PQclear(res);
    res = PQexecParams(conn,
                       "INSERT INTO schema_migrations (version, name, checksum)"
                       " VALUES ($1, $2, md5($3))",
                       3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg_errf(err, errlen, res, conn, "recording migration");
        goto cleanup;
    }
    if (pg_exec_ok(conn, "COMMIT", err, errlen) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    PQclear(res);
    if (rc != 0)
        pg_exec_ok(conn, "ROLLBACK", NULL, 0);
    return rc;
}

static int check_checksum(PGconn *conn, const struct migration *m, const char *stored, char *err,
                          size_t errlen)
{
    const char *params[1] = {m->sql};
    int rc = -1;
    PGresult *res = PQexecParams(conn, "SELECT md5($1)", 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_errf(err, errlen, res, conn, "checksum");
        goto cleanup;
    }
    if (strcmp(PQgetvalue(res, 0, 0), stored) != 0) {
        snprintf(err, errlen,
                 "migration %s was changed after it was applied (checksum %s, database has %s)",
                 m->name, PQgetvalue(res, 0, 0), stored);
        goto cleanup;
    }
    rc = 0;
cleanup:
    PQclear(res);
    return rc;
}

int migrate_run(PGconn *conn, const struct migration *list, size_t n, int *applied, char *err,
                size_t errlen)
{
    int rc = -1, locked = 0, count = 0;
    char sum[64];

    if (pg_exec_ok(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err, errlen) != 0)
        goto cleanup;
    locked = 1;
    /* Re-read under the lock: another instance may have migrated meanwhile. */
    if (pg_exec_ok(conn, CREATE_TABLE, err, errlen) != 0)
        goto cleanup;
    int current = migrate_current(conn, err, errlen);
    if (current < 0)
        goto cleanup;
    if (n > 0 && current > list[n - 1].version) {
        snprintf(err, errlen,
                 "the database schema is at version %d, newer than this onestopd knows (%d)",
                 current, list[n - 1].version);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        int have = applied_checksum(conn, list[i].version, sum, sizeof sum, err, errlen);
        if (have < 0)
            goto cleanup;
        if (have) {
            if (check_checksum(conn, &list[i], sum, err, errlen) != 0)
                goto cleanup;
            continue;
        }
        log_info("migrate", "applying %s", list[i].name);
        if (apply_one(conn, &list[i], err, errlen) != 0)
            goto cleanup;
        count++;
    }
    rc = 0;
cleanup:
    if (locked)
        pg_exec_ok(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", NULL, 0);
    if (applied)
        *applied = count;
    return rc;
}
