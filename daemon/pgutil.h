/* SPDX-License-Identifier: Apache-2.0 */
/* pg: small libpq helpers shared by the store, rates and migrations. */
#ifndef ONESTOP_PGUTIL_H
#define ONESTOP_PGUTIL_H

#include <libpq-fe.h>
#include <stddef.h>

/* Writes "what: <server message>" into err (when err is not NULL). */
void pg_errf(char *err, size_t errlen, const PGresult *res, const PGconn *conn, const char *what);
/* Runs a parameterless command; 0 when it succeeded, -1 with err. */
int pg_exec_ok(PGconn *conn, const char *sql, char *err, size_t errlen);
/* Runs a parameterised statement that returns no rows we need; 0, or -1 with
 * "what: <server message>" in err. */
int pg_exec_params(PGconn *conn, const char *sql, int n, const char *const *params,
                   const char *what, char *err, size_t errlen);
/* Runs a parameterised query; the result (caller PQclears) or NULL with err. */
PGresult *pg_query(PGconn *conn, const char *sql, int n, const char *const *params,
                   const char *what, char *err, size_t errlen);
/* The keyword/value arrays every connection of the daemon uses, NULL-terminated: the
 * defaults (connect_timeout, keepalives, tcp_user_timeout, application_name) first, then
 * conninfo (expanded from "dbname", so it overrides them), then the password (may be
 * NULL) as a separate keyword, never in the conninfo string. Returns the count. */
#define PG_CONN_PARAMS_MAX 12
int pg_conn_params(const char *conninfo, const char *password, const char *appname,
                   const char *keys[PG_CONN_PARAMS_MAX], const char *vals[PG_CONN_PARAMS_MAX]);
/* Connects, blocking, with pg_conn_params(). Returns a connection (check PQstatus) or NULL on
 * allocation failure. */
PGconn *pg_connect(const char *conninfo, const char *password, const char *appname);
/* The text of column col in row 0 of res as a long; def when NULL. */
long pg_long(const PGresult *res, int row, int col, long def);

#endif
