/* SPDX-License-Identifier: Apache-2.0 */
/* trend: 90 days of two ratios per agency for the status page (trend.h). */
#include "trend.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"
#include "util.h"

/* ---- building ---- */

struct sorted_point {
    const struct trend_point *p;
    size_t order; /* position in the input: the later point wins */
};

static int point_cmp(const void *a, const void *b)
{
    const struct sorted_point *x = a, *y = b;
    int c;

    if (x->p->kind != y->p->kind)
        return x->p->kind < y->p->kind ? -1 : 1;
    c = strcmp(x->p->agency, y->p->agency);
    if (c != 0)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

void trend_clear(struct trend *t)
{
    if (!t)
        return;
    for (int k = 0; k < PK_COUNT; k++) {
        for (size_t i = 0; i < t->nseries[k]; i++)
            free(t->series[k][i].agency);
        free(t->series[k]);
    }
    memset(t, 0, sizeof *t);
}

static void series_init(struct trend_series *s)
{
    for (int d = 0; d < TREND_DAYS; d++)
        s->on_time[d] = s->online[d] = NAN;
}

int trend_build(const struct ldate *today, const struct trend_point *pts, size_t n, struct trend *t)
{
    struct sorted_point *sp = NULL;
    size_t groups[PK_COUNT] = {0};
    int rc = -1;

    trend_clear(t);
    t->first = ldate_add_days(today, -(TREND_DAYS - 1));
    if (n == 0)
        return 0;
    sp = malloc(n * sizeof *sp);
    if (!sp)
        goto cleanup;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (pts[i].day < 0 || pts[i].day >= TREND_DAYS || !pts[i].agency || (int)pts[i].kind < 0 ||
            pts[i].kind >= PK_COUNT)
            continue;
        sp[m].p = &pts[i];
        sp[m].order = i;
        m++;
    }
    qsort(sp, m, sizeof *sp, point_cmp);
    for (size_t i = 0; i < m; i++)
        if (i == 0 || sp[i].p->kind != sp[i - 1].p->kind ||
            strcmp(sp[i].p->agency, sp[i - 1].p->agency) != 0)
            groups[sp[i].p->kind]++;
    for (int k = 0; k < PK_COUNT; k++) {
        if (groups[k] == 0)
            continue;
        t->series[k] = calloc(groups[k], sizeof *t->series[k]);
        if (!t->series[k])
            goto cleanup;
    }
    for (size_t i = 0; i < m; i++) {
        const struct trend_point *p = sp[i].p;
        int k = p->kind;
        if (t->nseries[k] == 0 || strcmp(t->series[k][t->nseries[k] - 1].agency, p->agency) != 0) {
            struct trend_series *s = &t->series[k][t->nseries[k]];
            series_init(s);
            s->agency = xstrdup(p->agency);
            if (!s->agency)
                goto cleanup;
            t->nseries[k]++;
        }
        struct trend_series *s = &t->series[k][t->nseries[k] - 1];
        s->on_time[p->day] = p->on_time;
        s->online[p->day] = p->online;
    }
    rc = 0;
cleanup:
    free(sp);
    if (rc != 0) {
        struct ldate first = t->first;
        trend_clear(t);
        t->first = first;
    }
    return rc;
}

static int series_cmp(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const struct trend_series *)elem)->agency);
}

const struct trend_series *trend_find(const struct trend *t, enum period_kind kind,
                                      const char *agency)
{
    if (!t || !agency || (int)kind < 0 || kind >= PK_COUNT || t->nseries[kind] == 0)
        return NULL;
    return bsearch(agency, t->series[kind], t->nseries[kind], sizeof *t->series[kind], series_cmp);
}

int trend_kind_of(enum period_mode mode, const struct ldate *day, const char *label)
{
    struct period cur[PK_COUNT];

    period_current(mode, day, cur);
    for (int k = 0; k < PK_COUNT; k++)
        if (strcmp(cur[k].label, label) == 0)
            return k;
    return -1;
}

/* ---- the cache ---- */

struct trend_cache {
    PGresult *past;          /* the rows read, kept: the points borrow its strings */
    struct trend_point *pts; /* the past points */
    size_t npts;
    int loaded; /* past holds the window before loaded_for in loaded_mode */
    struct ldate loaded_for;
    enum period_mode loaded_mode;
};

struct trend_cache *trend_cache_new(void)
{
    return calloc(1, sizeof(struct trend_cache));
}

static void cache_reset(struct trend_cache *c)
{
    PQclear(c->past);
    free(c->pts);
    c->past = NULL;
    c->pts = NULL;
    c->npts = 0;
    c->loaded = 0;
}

void trend_cache_free(struct trend_cache *c)
{
    if (!c)
        return;
    cache_reset(c);
    free(c);
}

static double ratio_col(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NAN : strtod(PQgetvalue(res, row, col), NULL);
}

/* Reads the days before today of the window. Each row belongs to the kind whose current
 * period that day has its label; rows of the other period mode match none and are left
 * out. 0, or -1 with err (the cache is then empty). */
static int load_past(struct trend_cache *c, PGconn *conn, enum period_mode mode,
                     const struct ldate *today, char *err, size_t errlen)
{
    struct ldate first = ldate_add_days(today, -(TREND_DAYS - 1));
    char from[11], to[11];
    const char *params[2] = {from, to};
    /* Labels of the periods current on each day of the window, computed once. */
    struct period cur[TREND_DAYS][PK_COUNT];
    int rc = -1;

    cache_reset(c);
    ldate_format(&first, from);
    ldate_format(today, to);
    c->past = pg_query(conn,
                       "SELECT day - $1::date, period, agency, on_time_ratio,"
                       " online_dossier_ratio FROM indicator_daily"
                       " WHERE day >= $1::date AND day < $2::date",
                       2, params, "reading indicator_daily for the trend", err, errlen);
    if (!c->past)
        goto cleanup;
    int n = PQntuples(c->past);
    c->pts = calloc(n > 0 ? (size_t)n : 1, sizeof *c->pts);
    if (!c->pts) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    for (int d = 0; d < TREND_DAYS; d++) {
        struct ldate day = ldate_add_days(&first, d);
        period_current(mode, &day, cur[d]);
    }
    for (int i = 0; i < n; i++) {
        long d = pg_long(c->past, i, 0, -1);
        const char *label = PQgetvalue(c->past, i, 1);
        if (d < 0 || d >= TREND_DAYS - 1)
            continue;
        for (int k = 0; k < PK_COUNT; k++) {
            if (strcmp(cur[d][k].label, label) != 0)
                continue;
            c->pts[c->npts++] = (struct trend_point){
                .agency = PQgetvalue(c->past, i, 2),
                .kind = (enum period_kind)k,
                .day = d,
                .on_time = ratio_col(c->past, i, 3),
                .online = ratio_col(c->past, i, 4),
            };
            break;
        }
    }
    c->loaded = 1;
    c->loaded_for = *today;
    c->loaded_mode = mode;
    rc = 0;
cleanup:
    if (rc != 0)
        cache_reset(c);
    return rc;
}

int trend_refresh(struct trend_cache *c, PGconn *conn, const struct model *m, struct trend *out,
                  char *err, size_t errlen)
{
    struct trend_point *all = NULL;
    size_t n = 0, cap;
    int rc = 0;

    trend_clear(out);
    if (!c || !m || m->computed_at == 0)
        return 0;
    if (!c->loaded || ldate_cmp(&c->loaded_for, &m->today) != 0 || c->loaded_mode != m->mode) {
        if (conn)
            rc = load_past(c, conn, m->mode, &m->today, err, errlen);
        else
            cache_reset(c); /* yesterday's window would be shifted by a day */
    }
    cap = c->npts;
    for (int k = 0; k < PK_COUNT; k++)
        cap += m->tables[k].nrows + 1;
    all = malloc((cap ? cap : 1) * sizeof *all);
    if (!all) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (c->npts)
        memcpy(all, c->pts, c->npts * sizeof *all);
    n = c->npts;
    /* Today's points last: they win over a stored row for today, if any. */
    for (int k = 0; k < PK_COUNT; k++) {
        const struct b06_table *t = &m->tables[k];
        for (size_t i = 0; i <= t->nrows; i++) {
            const struct b06_row *r = i < t->nrows ? &t->rows[i] : &t->total;
            all[n++] = (struct trend_point){
                .agency = i < t->nrows ? r->agency : "ALL",
                .kind = (enum period_kind)k,
                .day = TREND_DAYS - 1,
                .on_time = r->r.on_time,
                .online = r->r.online_dossier,
            };
        }
    }
    if (trend_build(&m->today, all, n, out) != 0) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    free(all);
    return rc;
}
