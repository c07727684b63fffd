/* SPDX-License-Identifier: Apache-2.0 */
/* rollcheck: proves the rollups right against the stored rows (onestopd --check-rollups
 * and the exactness test). */
#ifndef ONESTOP_ROLLCHECK_H
#define ONESTOP_ROLLCHECK_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

/*
 * In one REPEATABLE READ snapshot, compares
 *  - every rollup table with a recomputation from the stored rows (what
 *    `--rebuild-rollups` would write), all-zero rows left out;
 *  - for each of the n days, in both period modes, the Biểu 06 tables of the periods around
 *    the day (the current year, quarter and month to the day, the same periods whole with
 *    pending counted at the day, the previous year, and ranges of 1 to 1000 days before,
 *    across and after the day), computed from the rollups (rollup_tables) and by the
 *    reference SQL (rates_table_reference), every agency row and the total, with and
 *    without an agency filter; and the overdue dossiers without an apology at the day;
 *  - the stored record, shipment and quarantine counts with direct counts.
 * Writes each difference (and a summary line) to out. Returns the number of differences
 * (0: all agree), or -1 with err when the database failed.
 */
long rollcheck_run(PGconn *conn, const struct ldate *days, size_t n, FILE *out, char *err,
                   size_t errlen);

#endif
