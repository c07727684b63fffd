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
 * Counting record versions in and out. The store's statements that change dossiers,
 * shipments or quarantine rows end with one of these: each is appended to a statement
 * "WITH ..., chg AS (...)" whose CTE chg lists every version that leaves the stored set
 * (sign -1: the old version of a replaced or deleted row, read in the statement's own
 * snapshot) or enters it (+1: what RETURNING gave), and adds them to the rollups in the
 * same statement, hence the same transaction.
 */

/* chg (sign, code, agency, status, channel, received, due, finished, by_post, apologies),
 * dates being the local ::date of the columns: the agency counts; the shipments a new
 * dossier code matches (codes never leave the table, so no shipment ever becomes unmatched
 * this way); and the Biểu 06 events per (day, agency), appended to rollup_b06_delta
 * (rollup_b06_events, shared with the rebuild). A version that comes back with the same
 * figures (a new NgayCapNhat, a new name) cancels out and writes nothing. */
#define ROLLUP_DOSSIER_CHANGES                                                                     \
    " agency_counts AS (INSERT INTO rollup_agency AS r (agency, dossiers)"                         \
    "  SELECT agency, sum(sign) FROM chg GROUP BY agency HAVING sum(sign) <> 0"                    \
    "  ON CONFLICT (agency) DO UPDATE SET dossiers = r.dossiers + EXCLUDED.dossiers),"             \
    " matched AS (UPDATE rollup_shipment r SET unmatched = r.unmatched - m.k"                      \
    "  FROM (SELECT s.direction, rollup_shipment_status(s.status_code) AS status,"                 \
    "   count(*) AS k"                                                                             \
    "   FROM (SELECT code FROM chg GROUP BY code HAVING min(sign) > 0) n"                          \
    "   JOIN shipments s ON s.order_number = n.code GROUP BY 1, 2) m"                              \
    "  WHERE r.direction = m.direction AND r.status = m.status)"                                   \
    " INSERT INTO rollup_b06_delta (bucket, agency, received_online, received_direct,"             \
    " received_postal, resolved_early, resolved_on_time, resolved_late, resolved_returned,"        \
    " resolved_returned_by_post, overdue, overdue_no_apology)"                                     \
    " SELECT * FROM (SELECT e.day, c.agency, sum(c.sign * e.received_online) AS a,"                \
    "  sum(c.sign * e.received_direct) AS b, sum(c.sign * e.received_postal) AS c,"                \
    "  sum(c.sign * e.resolved_early) AS d, sum(c.sign * e.resolved_on_time) AS e,"                \
    "  sum(c.sign * e.resolved_late) AS f, sum(c.sign * e.resolved_returned) AS g,"                \
    "  sum(c.sign * e.resolved_returned_by_post) AS h, sum(c.sign * e.overdue) AS i,"              \
    "  sum(c.sign * e.overdue_no_apology) AS j"                                                    \
    "  FROM chg c CROSS JOIN LATERAL rollup_b06_events(c.status, c.channel, c.received, c.due,"    \
    "   c.finished, c.by_post, c.apologies) e"                                                     \
    "  GROUP BY e.day, c.agency) s"                                                                \
    " WHERE (a, b, c, d, e, f, g, h, i, j) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)"

/* chg (sign, direction, status, order_number), status as rollup_shipment_status: the
 * shipment counts. Dossiers do not change in a shipment page's statement, so whether an
 * order number matches one is the same for the old version and the new. */
#define ROLLUP_SHIPMENT_CHANGES                                                                    \
    " INSERT INTO rollup_shipment AS r (direction, status, shipments, unmatched)"                  \
    " SELECT direction, status, sum(sign), coalesce(sum(sign) FILTER (WHERE NOT EXISTS"            \
    "  (SELECT 1 FROM dossiers d WHERE d.code = chg.order_number)), 0)"                            \
    " FROM chg GROUP BY direction, status"                                                         \
    " ON CONFLICT (direction, status) DO UPDATE SET shipments = r.shipments"                       \
    " + EXCLUDED.shipments, unmatched = r.unmatched + EXCLUDED.unmatched"

/* chg (sign, source, reason): the quarantine counts. */
#define ROLLUP_QUARANTINE_CHANGES                                                                  \
    " INSERT INTO rollup_quarantine AS r (source, reason, records)"                                \
    " SELECT source, reason, sum(sign) FROM chg GROUP BY source, reason"                           \
    " HAVING sum(sign) <> 0"                                                                       \
    " ON CONFLICT (source, reason) DO UPDATE SET records = r.records + EXCLUDED.records"

/* The pg_advisory_xact_lock of rollup_lock, for a caller that pipelines it; the key is
 * also in sql/0004_rollups.sql (rollup_rebuild). */
#define ROLLUP_LOCK_SQL "SELECT pg_advisory_xact_lock(28539296568129650)"

/* Takes the transaction-level lock that serialises the writers of the rollups (page
 * stores, rebuilds): the first statement of every writing transaction, so that the old
 * versions a statement reads are the ones it replaces. 0 or -1 with err. */
int rollup_lock(PGconn *conn, char *err, size_t errlen);

/* Dossier events go to rollup_b06_delta, day by day, page by page; this moves them into
 * rollup_b06 (day, month and year sums) inside the caller's transaction, after
 * rollup_lock. The figures read are the same before and after. 0 or -1 with err. */
int rollup_compact(PGconn *conn, char *err, size_t errlen);
/* Its statement (no parameters), for a caller that pipelines it. */
extern const char *const rollup_compact_sql;

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
