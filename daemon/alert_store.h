/* SPDX-License-Identifier: Apache-2.0 */
/* alert_store: the alert tables in PostgreSQL (indicator_daily, alert_state). */
#ifndef ONESTOP_ALERT_STORE_H
#define ONESTOP_ALERT_STORE_H

#include <libpq-fe.h>
#include <stddef.h>

#include "alert.h"
#include "alert_rules.h"
#include "model.h"
#include "util.h"

/* Each function runs on the caller's connection and returns 0, or -1 with err. Only
 * alert_store_save_daily opens a transaction of its own; the others run in the caller's. */

/* Today's indicators of every period and agency of m into indicator_daily (one upsert per
 * row, in one transaction). */
int alert_store_save_daily(PGconn *conn, const struct model *m, char *err, size_t errlen);
/* Deletes the indicator_daily rows dated before `before`. */
int alert_store_prune_daily(PGconn *conn, const struct ldate *before, char *err, size_t errlen);

/* On-time ratios read from indicator_daily; v points into res. */
struct alert_store_prev {
    struct alert_prev_ratio *v;
    size_t n;
    PGresult *res;
};
/* The on-time ratios stored for the days from lo to hi (alert_rules_eval picks the latest
 * of each period and agency) into *out (clear it). */
int alert_store_load_prev(PGconn *conn, const struct ldate *lo, const struct ldate *hi,
                          struct alert_store_prev *out, char *err, size_t errlen);
/* Frees what p holds and zeroes it. NULL-safe. */
void alert_store_prev_clear(struct alert_store_prev *p);

/* Appends the rows of alert_state to out, locking them for the caller's transaction. A row
 * that cannot be read is skipped (logged): a condition with its labels overwrites it. */
int alert_store_load_states(PGconn *conn, struct alert_list *out, char *err, size_t errlen);
/* Inserts or updates a's row. */
int alert_store_write_state(PGconn *conn, const struct alert *a, char *err, size_t errlen);
/* Deletes the row of the alert with this fingerprint. */
int alert_store_delete_state(PGconn *conn, const char *fingerprint, char *err, size_t errlen);

#endif
