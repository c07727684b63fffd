/* SPDX-License-Identifier: Apache-2.0 */
/* rollup: the indicators from incremental rollups (sql/0004_rollups.sql; docs/design.md,
 * "Rollups"). The store counts every replaced record version out of the rollups and the
 * new one in, in the transaction of its page; a Biểu 06 table for any period is then a
 * few prefix sums over a few rows per agency, whatever the size of the history. */
#ifndef ONESTOP_ROLLUP_H
#define ONESTOP_ROLLUP_H

#include <libpq-fe.h>
#include <stddef.h>

#include "rates.h"
#include "util.h"

/*
 * The change tables: temporary tables of a writing session (rollup_prepare_session). The
 * store's statements write into them, through RETURNING, one row per record version
 * that leaves the stored set (sign -1: the old version of a replaced or deleted row) or
 * enters it (+1); rollup_apply adds them to the rollups in the same transaction.
 *   rollup_dossier_change (sign, code, agency, status, channel, received, due, finished,
 *                          by_post, apologies): dates are the local ::date of the columns
 *   rollup_shipment_change (sign, direction, status, order_number): status as
 *                          rollup_shipment_status(StatusCode)
 *   rollup_quarantine_change (sign, source, reason)
 */
#define ROLLUP_DOSSIERS 1u
#define ROLLUP_SHIPMENTS 2u
#define ROLLUP_QUARANTINE 4u

/* Creates the change tables for this session. 0 or -1 with err. */
int rollup_prepare_session(PGconn *conn, char *err, size_t errlen);

/* Takes the transaction-level lock that serialises the writers of the rollups (page
 * stores, rebuilds): the first statement of every writing transaction, so that the old
 * versions a statement reads are the ones it replaces. 0 or -1 with err. */
int rollup_lock(PGconn *conn, char *err, size_t errlen);

/* Adds the captured changes of the kinds in `what` (ROLLUP_* flags) to the rollups and
 * empties those change tables; inside the caller's transaction. 0 or -1 with err. */
int rollup_apply(PGconn *conn, unsigned what, char *err, size_t errlen);

/* Recomputes every rollup from the stored rows, in its own transaction (it waits for a
 * page being stored). 0 or -1 with err. */
int rollup_rebuild(PGconn *conn, char *err, size_t errlen);

/* One table asked of rollup_tables: [from, to], pending counted at pending_at. */
struct rollup_span {
    struct ldate from, to, pending_at;
};

/*
 * Computes n Biểu 06 tables (out[i] for spans[i]), exactly as rates_table_reference would,
 * with the same agencies in the same order in each; agency, when not NULL, limits the rows
 * to that agency (the totals stay province-wide). Two queries whatever n is; run it inside
 * a REPEATABLE READ transaction when the tables must agree with other queries. 0, or -1
 * with err (every out[i] then cleared).
 */
int rollup_tables(PGconn *conn, const struct rollup_span *spans, size_t n, const char *agency,
                  struct b06_table *out, char *err, size_t errlen);

/* rollup_tables for one span: the drop-in for rates_table_reference. */
int rollup_table(PGconn *conn, const struct ldate *from, const struct ldate *to,
                 const struct ldate *pending_at, const char *agency, struct b06_table *out,
                 char *err, size_t errlen);

#endif
