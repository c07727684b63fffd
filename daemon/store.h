/* SPDX-License-Identifier: Apache-2.0 */
/* store: the PostgreSQL side of a sync (staging COPY, idempotent upsert, cursors). */
#ifndef ONESTOP_STORE_H
#define ONESTOP_STORE_H

#include <libpq-fe.h>
#include <stddef.h>

#include "adapter.h"
#include "record.h"
#include "util.h"

struct store;

/*
 * Connects (the password, if any, is passed apart from the conninfo) and runs the
 * migrations. NULL with err when the database cannot be reached or migrated; the caller
 * retries. application_name tells instances apart in pg_stat_activity.
 */
struct store *store_open(const char *conninfo, const char *password, const char *appname, char *err,
                         size_t errlen);
void store_free(struct store *st);

/* Borrowed connection, for the rates queries on the same thread. */
PGconn *store_conn(struct store *st);

/* 1 when the connection is usable (checked with a round trip), 0 otherwise. */
int store_ping(struct store *st);

/*
 * Reads the keyset cursor of (source, feed). Both outputs are empty strings when the
 * feed never stored a page. *key is a new string (caller frees). 0 or -1 with err.
 */
int store_get_cursor(struct store *st, const char *source, const char *feed, char time[15],
                     char **key, char *err, size_t errlen);

/* The staging rows of a batch: the COPY text of its records and of its rejects. Pure, no
 * database: a page can be rendered on the thread that fetched it, so that the thread that
 * stores pages only sends them. */
/* The dossier upsert's parts: the columns, their values cast from the staging text
 * columns (c0.., raw; $1 the source), and the update of a conflicting row by a version
 * at least as new. Shared with the raw COPY baseline the benchmark compares ingest with
 * (bench/copyrate.c), so that both always write the same rows the same way. */
#define STORE_DOSSIER_INSERT                                                                       \
    "INSERT INTO dossiers AS d (code, procedure_code, procedure_name, field_code, field_name,"     \
    " agency, agency_name, channel, level, status, received_at, due_at, finished_at,"              \
    " returned_at, refused_at, return_by_post, apologies, updated_at, source, raw)"
#define STORE_DOSSIER_VALUES                                                                       \
    "c0, c1, c2, c3, c4, c5, c6, c7::smallint, c8::smallint, c9::smallint, c10::timestamp,"        \
    " c11::timestamp, c12::timestamp, c13::timestamp, c14::timestamp, c15::boolean,"               \
    " c16::integer, c17::timestamp, $1, raw::jsonb"
#define STORE_DOSSIER_ON_CONFLICT                                                                  \
    " ON CONFLICT (code) DO UPDATE SET procedure_code = EXCLUDED.procedure_code,"                  \
    " procedure_name = EXCLUDED.procedure_name, field_code = EXCLUDED.field_code,"                 \
    " field_name = EXCLUDED.field_name, agency = EXCLUDED.agency,"                                 \
    " agency_name = EXCLUDED.agency_name, channel = EXCLUDED.channel, level = EXCLUDED.level,"     \
    " status = EXCLUDED.status, received_at = EXCLUDED.received_at, due_at = EXCLUDED.due_at,"     \
    " finished_at = EXCLUDED.finished_at, returned_at = EXCLUDED.returned_at,"                     \
    " refused_at = EXCLUDED.refused_at, return_by_post = EXCLUDED.return_by_post,"                 \
    " apologies = EXCLUDED.apologies, updated_at = EXCLUDED.updated_at,"                           \
    " source = EXCLUDED.source, raw = EXCLUDED.raw, stored_at = now()"                             \
    " WHERE d.updated_at <= EXCLUDED.updated_at"

struct store_rows {
    struct buf recs, rejs;
};
void store_rows_init(struct store_rows *rows);
/* Renders b into rows, reusing the buffers' memory (the next page is about as large). */
void store_rows_render(const struct record_batch *b, struct store_rows *out);
/* Frees the contents; safe on NULL. */
void store_rows_free(struct store_rows *rows);

/*
 * Stores one keyset page in one transaction: COPY into a staging table, one
 * INSERT ... ON CONFLICT that keeps the version with the greatest NgayCapNhat (the
 * one sent last on a tie), the rejects into quarantine, the rollups, and the cursor moved
 * to the page's last position. rows: b rendered by store_rows_render, or NULL to render it
 * here. Nothing is stored when it fails. 0 or -1 with err.
 */
int store_keyset_page(struct store *st, const char *source, const struct feed_desc *fd,
                      const struct record_batch *b, const struct store_rows *rows, char *err,
                      size_t errlen);

/* Replaces everything this source stored for a FEED_WHOLE feed (the catalogue) and its
 * quarantine rows by b, in one transaction. 0 or -1 with err. */
int store_replace_whole(struct store *st, const char *source, const struct feed_desc *fd,
                        const struct record_batch *b, char *err, size_t errlen);

/* Moves the rollup deltas of the pages stored so far into the rollups (rollup.h,
 * rollup_compact), in one transaction, then vacuums the rollup tables; the figures read
 * stay the same. Called at the end of every sync; the store also compacts every few pages.
 * 0 or -1 with err. */
int store_compact_rollups(struct store *st, char *err, size_t errlen);

/*
 * Leadership between instances sharing a database: a session-level advisory lock on
 * this connection. Returns 1 when held (now or already), 0 when another instance
 * holds it, -1 on error. The lock goes with the connection.
 */
int store_try_leader(struct store *st, char *err, size_t errlen);

#endif
