/* SPDX-License-Identifier: Apache-2.0 */
/* period: calendar and national-report periods. */
#include "period.h"

#include <stdio.h>

static struct ldate mkdate(int y, int m, int d)
{
    /* Months outside 1..12 wrap into the neighbouring years. */
    while (m < 1) {
        m += 12;
        y--;
    }
    while (m > 12) {
        m -= 12;
        y++;
    }
    struct ldate r = {y, m, d};
    return r;
}

static void finish(struct period *p, const struct ldate *today)
{
    /* A current period has not ended: it runs to today. */
    p->to = ldate_cmp(today, &p->end) < 0 ? *today : p->end;
}

static void calendar(const struct ldate *t, struct period out[PK_COUNT])
{
    int q = (t->m - 1) / 3 + 1;

    out[PK_YEAR].kind = PK_YEAR;
    out[PK_YEAR].from = mkdate(t->y, 1, 1);
    out[PK_YEAR].end = mkdate(t->y, 12, 31);
    snprintf(out[PK_YEAR].label, sizeof out[PK_YEAR].label, "%04d", t->y);

    out[PK_QUARTER].kind = PK_QUARTER;
    out[PK_QUARTER].from = mkdate(t->y, 3 * q - 2, 1);
    out[PK_QUARTER].end = mkdate(t->y, 3 * q, ldate_days_in_month(t->y, 3 * q));
    snprintf(out[PK_QUARTER].label, sizeof out[PK_QUARTER].label, "%04d-Q%d", t->y, q);

    out[PK_MONTH].kind = PK_MONTH;
    out[PK_MONTH].from = mkdate(t->y, t->m, 1);
    out[PK_MONTH].end = mkdate(t->y, t->m, ldate_days_in_month(t->y, t->m));
    snprintf(out[PK_MONTH].label, sizeof out[PK_MONTH].label, "%04d-%02d", t->y, t->m);
}

/* National reporting cut-off: a month M runs from the 15th of M-1 to the 14th of M. */
static void report(const struct ldate *t, struct period out[PK_COUNT])
{
    struct ldate rm = mkdate(t->y, t->d >= 15 ? t->m + 1 : t->m, 1); /* report month */
    int q = (rm.m - 1) / 3 + 1;

    out[PK_YEAR].kind = PK_YEAR;
    out[PK_YEAR].from = mkdate(rm.y - 1, 12, 15);
    out[PK_YEAR].end = mkdate(rm.y, 12, 14);
    snprintf(out[PK_YEAR].label, sizeof out[PK_YEAR].label, "report:%04d", rm.y);

    out[PK_QUARTER].kind = PK_QUARTER;
    out[PK_QUARTER].from = mkdate(rm.y, 3 * q - 3, 15);
    out[PK_QUARTER].end = mkdate(rm.y, 3 * q, 14);
    snprintf(out[PK_QUARTER].label, sizeof out[PK_QUARTER].label, "report:%04d-Q%d", rm.y, q);

    out[PK_MONTH].kind = PK_MONTH;
    out[PK_MONTH].from = mkdate(rm.y, rm.m - 1, 15);
    out[PK_MONTH].end = mkdate(rm.y, rm.m, 14);
    snprintf(out[PK_MONTH].label, sizeof out[PK_MONTH].label, "report:%04d-%02d", rm.y, rm.m);
}

void period_current(enum period_mode mode, const struct ldate *today, struct period out[PK_COUNT])
{
    if (mode == PERIOD_REPORT)
        report(today, out);
    else
        calendar(today, out);
    for (int k = 0; k < PK_COUNT; k++)
        finish(&out[k], today);
}

void period_previous_year(enum period_mode mode, const struct ldate *today, struct period *out)
{
    struct period cur[PK_COUNT];
    period_current(mode, today, cur);
    /* The day before the current year starts lies in the previous year. */
    struct ldate before = ldate_add_days(&cur[PK_YEAR].from, -1);
    period_current(mode, &before, cur);
    *out = cur[PK_YEAR];
    out->to = out->end;
}
