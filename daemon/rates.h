/* SPDX-License-Identifier: Apache-2.0 */
/* rates: the Biểu 06 counts and ratios per agency and period. The tables of the daemon
 * come from the rollups (rollup.h); rates_table_reference computes the same table from
 * the stored rows in one SQL pass, as the reference the rollups are checked against. */
#ifndef ONESTOP_RATES_H
#define ONESTOP_RATES_H

#include <libpq-fe.h>
#include <stddef.h>

#include "util.h"

/* Biểu 06 counts of one agency (or ALL) over one period. */
struct b06_counts {
    long carried_over;
    long received_online, received_direct, received_postal;
    long resolved_early, resolved_on_time, resolved_late;
    long pending_within, pending_overdue;
    long resolved_returned;         /* resolved with status 9/10 */
    long resolved_returned_by_post; /* ... of which HinhThuc = 1 */
    /* Pending overdue with no apology slip (PhieuXinLoi), at pending_at; filled by the
     * rollups only (the reference leaves it 0: rollcheck.c checks it apart). */
    long pending_overdue_no_apology;
};

/* Ratios are NaN when their denominator is 0 (absent on /metrics, null in JSON). */
struct b06_ratios {
    double on_time;          /* (early + on time + within) / (resolved + pending) */
    double resolved_on_time; /* (early + on time) / resolved */
    double online_dossier;   /* received online / received */
    double postal_receipt;   /* received postal / received */
    double postal_return;    /* returned by post / resolved (9,10) */
};

void rates_ratios(const struct b06_counts *c, struct b06_ratios *out);
long rates_received(const struct b06_counts *c);
long rates_resolved(const struct b06_counts *c);
long rates_pending(const struct b06_counts *c);

/* One row of a report: agency "ALL" is the province-wide total. */
struct b06_row {
    char *agency; /* owned */
    char *name;   /* owned, NULL when unknown */
    struct b06_counts c;
    struct b06_ratios r;
};

struct b06_table {
    struct ldate from, to, pending_at;
    struct b06_row *rows; /* every known agency, sorted by code (byte order) */
    size_t nrows;
    struct b06_row total; /* agency "ALL" */
};

/*
 * The reference: computes the table for [from, to] with pending counted at pending_at
 * (to, or today when to is later) by scanning the stored dossiers, which costs in
 * proportion to the history. agency, when not NULL, limits rows to that one agency (total
 * stays province-wide). Returns 0, or -1 with err. rollup_table gives the same table
 * from the rollups.
 */
int rates_table_reference(PGconn *conn, const struct ldate *from, const struct ldate *to,
                          const struct ldate *pending_at, const char *agency, struct b06_table *out,
                          char *err, size_t errlen);
/* Frees the contents; safe on a zeroed or cleared table and on NULL. */
void rates_table_clear(struct b06_table *t);

/* Finds a row by agency code in t (NULL if absent); "ALL" gives &t->total. */
const struct b06_row *rates_find(const struct b06_table *t, const char *agency);
/* Row i of t in report order, i from 0 to nrows: the agencies, then (i == nrows) the
 * province total; *agency is its code ("ALL" for the total). */
const struct b06_row *rates_row_at(const struct b06_table *t, size_t i, const char **agency);

#endif
