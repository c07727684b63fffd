/* SPDX-License-Identifier: Apache-2.0 */
/* pg: libpq helpers. */
#include "pgutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pg_errf(char *err, size_t errlen, const PGresult *res, const PGconn *conn, const char *what)
{
    if (!err || errlen == 0)
        return;
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (!msg || !*msg)
        msg = conn ? PQerrorMessage(conn) : "unknown error";
    /* libpq messages end in a newline; keep log lines single. */
    int n = (int)strcspn(msg, "\n");
    snprintf(err, errlen, "%s: %.*s", what, n, msg);
}

int pg_exec_ok(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : -1;
    if (rc != 0)
        pg_errf(err, errlen, res, conn, sql);
    PQclear(res);
    return rc;
}

int pg_exec_params(PGconn *conn, const char *sql, int n, const char *const *params,
                   const char *what, char *err, size_t errlen)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    int rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : -1;
    if (rc != 0)
        pg_errf(err, errlen, res, conn, what);
    PQclear(res);
    return rc;
}

PGresult *pg_query(PGconn *conn, const char *sql, int n, const char *const *params,
                   const char *what, char *err, size_t errlen)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_errf(err, errlen, res, conn, what);
        PQclear(res);
        return NULL;
    }
    return res;
}

int pg_conn_params(const char *conninfo, const char *password, const char *appname,
                   const char *keys[PG_CONN_PARAMS_MAX], const char *vals[PG_CONN_PARAMS_MAX])
{
    /* Later entries override earlier ones, so the defaults come first and the
     * operator's conninfo (expanded from "dbname") can change them. */
    int n = 0;
    keys[n] = "connect_timeout", vals[n++] = "10";
    keys[n] = "keepalives", vals[n++] = "1";
    keys[n] = "keepalives_idle", vals[n++] = "30";
    keys[n] = "keepalives_interval", vals[n++] = "10";
    keys[n] = "keepalives_count", vals[n++] = "3";
    /* A server that goes silent mid-query is given up after a minute, not TCP's ~15. */
    keys[n] = "tcp_user_timeout", vals[n++] = "60000";
    keys[n] = "application_name", vals[n++] = appname ? appname : "onestopd";
    keys[n] = "dbname", vals[n++] = conninfo ? conninfo : "";
    if (password)
        keys[n] = "password", vals[n++] = password;
    keys[n] = NULL, vals[n] = NULL;
    return n;
}

PGconn *pg_connect(const char *conninfo, const char *password, const char *appname)
{
    const char *keys[PG_CONN_PARAMS_MAX], *vals[PG_CONN_PARAMS_MAX];

    pg_conn_params(conninfo, password, appname, keys, vals);
    return PQconnectdbParams(keys, vals, 1);
}

long pg_long(const PGresult *res, int row, int col, long def)
{
    if (PQgetisnull(res, row, col))
        return def;
    return strtol(PQgetvalue(res, row, col), NULL, 10);
}
