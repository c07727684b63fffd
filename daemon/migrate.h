/* SPDX-License-Identifier: Apache-2.0 */
/* migrate: applies the embedded sql/NNNN_name.sql files, each in its own transaction. */
#ifndef ONESTOP_MIGRATE_H
#define ONESTOP_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

struct migration {
    int version;
    const char *name; /* "0001_init" */
    const char *sql;
};

/* Generated at build time from sql/ (cmake/embed_sql.cmake), sorted by version. */
extern const struct migration migrate_embedded[];
extern const size_t migrate_embedded_count;

/*
 * Brings the schema up to date under a session advisory lock, so two daemons starting
 * together apply each file once. Each file and its schema_migrations row commit
 * together. A database newer than this binary (unknown versions) is an error, and so
 * is an applied file whose checksum changed. *applied (if not NULL) receives how many
 * files ran. Returns 0, or -1 with err.
 */
int migrate_run(PGconn *conn, const struct migration *list, size_t n, int *applied, char *err,
                size_t errlen);

/* Highest applied version, 0 on an empty database, -1 on error. */
int migrate_current(PGconn *conn, char *err, size_t errlen);

#endif
