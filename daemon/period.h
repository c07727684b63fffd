/* SPDX-License-Identifier: Apache-2.0 */
/* period: the standard periods (year, quarter, month) around "now", in both modes. */
#ifndef ONESTOP_PERIOD_H
#define ONESTOP_PERIOD_H

#include "util.h"

/* How the standard periods are cut ([metrics] period_mode). */
enum period_mode {
    PERIOD_CALENDAR = 0, /* calendar months, quarters and years */
    PERIOD_REPORT = 1,   /* the national cut-off: month M runs from the 15th of M-1 */
};

enum period_kind {
    PK_YEAR = 0,
    PK_QUARTER = 1,
    PK_MONTH = 2,
};
#define PK_COUNT 3

struct period {
    enum period_kind kind;
    char label[24];        /* "2022", "2022-Q4", "2022-12"; "report:2023", ... */
    struct ldate from, to; /* inclusive; for the current period `to` is today */
    struct ldate end;      /* the period's last day, whether or not reached */
};

/* The three current periods containing today, in mode. out[PK_YEAR..PK_MONTH]. */
void period_current(enum period_mode mode, const struct ldate *today, struct period out[PK_COUNT]);
/* The whole year before the current one (for the on-time target): calendar year Y-1,
 * or report year Y-1 in report mode; `to` is its last day. */
void period_previous_year(enum period_mode mode, const struct ldate *today, struct period *out);

#endif
