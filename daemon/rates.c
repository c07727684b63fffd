/* SPDX-License-Identifier: Apache-2.0 */
/* rates: ratios in C, and the reference Biểu 06 counts in one SQL pass per period. */
#include "rates.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"

/*
 * $1 from, $2 to, $3 the day pending is counted at. Dates are the ::date of Vietnam
 * wall-clock timestamps, so nothing depends on any TimeZone setting. Statuses 1 and 3
 * were never received and count nowhere.
 */
static const char *const COUNTS_SQL =
    "WITH d AS ("
    " SELECT agency, status, channel, return_by_post, received_at::date AS r,"
    "  finished_at::date AS f, due_at::date AS u"
    " FROM dossiers"
    /* Only dossiers received by the end and still open at the start can count; comparing
     * the raw timestamps with dates (midnight) keeps the filter index-friendly. */
    " WHERE status NOT IN (1, 3) AND received_at < greatest($2::date, $3::date) + 1"
    "  AND (status IN (2,4,5,6,8) OR finished_at >= least($1::date, $3::date)))"
    " SELECT agency, grouping(agency),"
    "  count(*) FILTER (WHERE r < $1::date AND (status IN (2,4,5,6,8) OR f >= $1::date)),"
    "  count(*) FILTER (WHERE r BETWEEN $1::date AND $2::date AND channel = 2),"
    "  count(*) FILTER (WHERE r BETWEEN $1::date AND $2::date AND channel = 1),"
    "  count(*) FILTER (WHERE r BETWEEN $1::date AND $2::date AND channel = 3),"
    "  count(*) FILTER (WHERE status IN (9,10) AND f BETWEEN $1::date AND $2::date"
    "   AND f < u),"
    "  count(*) FILTER (WHERE status IN (7,9,10) AND f BETWEEN $1::date AND $2::date"
    "   AND (status = 7 OR u IS NULL OR f = u)),"
    "  count(*) FILTER (WHERE status IN (9,10) AND f BETWEEN $1::date AND $2::date"
    "   AND f > u),"
    "  count(*) FILTER (WHERE r <= $3::date AND (status IN (2,4,5,6,8) OR f > $3::date)"
    "   AND (status IN (5,6,8) OR u IS NULL OR u >= $3::date)),"
    "  count(*) FILTER (WHERE r <= $3::date AND (status IN (2,4,5,6,8) OR f > $3::date)"
    "   AND NOT (status IN (5,6,8) OR u IS NULL OR u >= $3::date)),"
    "  count(*) FILTER (WHERE status IN (9,10) AND f BETWEEN $1::date AND $2::date),"
    "  count(*) FILTER (WHERE status IN (9,10) AND f BETWEEN $1::date AND $2::date"
    "   AND return_by_post)"
    " FROM d GROUP BY GROUPING SETS ((agency), ())";

/* Every known agency, with the name of its most recently updated dossier: greatest
 * (NgayCapNhat, MaHoSo), codes compared byte by byte (dossiers_agency_latest_idx). */
static const char *const AGENCIES_SQL =
    "SELECT a.agency, (SELECT d.agency_name FROM dossiers d WHERE d.agency = a.agency"
    "  ORDER BY d.updated_at DESC, d.code COLLATE \"C\" DESC LIMIT 1)"
    " FROM (SELECT DISTINCT agency FROM dossiers UNION SELECT agency FROM procedures) a"
    " WHERE $1::text IS NULL OR a.agency = $1::text";

long rates_received(const struct b06_counts *c)
{
    return c->received_online + c->received_direct + c->received_postal;
}

long rates_resolved(const struct b06_counts *c)
{
    return c->resolved_early + c->resolved_on_time + c->resolved_late;
}

long rates_pending(const struct b06_counts *c)
{
    return c->pending_within + c->pending_overdue;
}

static double ratio(long num, long den)
{
    return den > 0 ? (double)num / (double)den : NAN;
}

void rates_ratios(const struct b06_counts *c, struct b06_ratios *out)
{
    long resolved = rates_resolved(c), pending = rates_pending(c), received = rates_received(c);
    out->on_time =
        ratio(c->resolved_early + c->resolved_on_time + c->pending_within, resolved + pending);
    out->resolved_on_time = ratio(c->resolved_early + c->resolved_on_time, resolved);
    out->online_dossier = ratio(c->received_online, received);
    out->postal_receipt = ratio(c->received_postal, received);
    out->postal_return = ratio(c->resolved_returned_by_post, c->resolved_returned);
}

static int row_cmp(const void *a, const void *b)
{
    return strcmp(((const struct b06_row *)a)->agency, ((const struct b06_row *)b)->agency);
}

const struct b06_row *rates_find(const struct b06_table *t, const char *agency)
{
    if (strcmp(agency, "ALL") == 0)
        return &t->total;
    struct b06_row key = {.agency = (char *)agency};
    return bsearch(&key, t->rows, t->nrows, sizeof key, row_cmp);
}

const struct b06_row *rates_row_at(const struct b06_table *t, size_t i, const char **agency)
{
    *agency = i < t->nrows ? t->rows[i].agency : "ALL";
    return i < t->nrows ? &t->rows[i] : &t->total;
}

static void fill_counts(const PGresult *res, int i, struct b06_counts *c)
{
    long *f[] = {&c->carried_over,      &c->received_online,          &c->received_direct,
                 &c->received_postal,   &c->resolved_early,           &c->resolved_on_time,
                 &c->resolved_late,     &c->pending_within,           &c->pending_overdue,
                 &c->resolved_returned, &c->resolved_returned_by_post};
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
        *f[k] = pg_long(res, i, (int)k + 2, 0);
}

static int load_agencies(PGconn *conn, const char *agency, struct b06_table *t, char *err,
                         size_t errlen)
{
    const char *params[1] = {agency};
    int rc = -1;
    PGresult *res = pg_query(conn, AGENCIES_SQL, 1, params, "listing agencies", err, errlen);
    if (!res)
        return -1;
    int n = PQntuples(res);
    t->rows = calloc(n > 0 ? (size_t)n : 1, sizeof *t->rows);
    if (!t->rows)
        goto oom;
    for (int i = 0; i < n; i++) {
        struct b06_row *r = &t->rows[t->nrows++];
        r->agency = xstrdup(PQgetvalue(res, i, 0));
        if (!r->agency)
            goto oom;
        if (!PQgetisnull(res, i, 1) && !(r->name = xstrdup(PQgetvalue(res, i, 1))))
            goto oom;
    }
    qsort(t->rows, t->nrows, sizeof *t->rows, row_cmp);
    rc = 0;
    goto cleanup;
oom:
    snprintf(err, errlen, "out of memory");
cleanup:
    PQclear(res);
    return rc;
}

int rates_table_reference(PGconn *conn, const struct ldate *from, const struct ldate *to,
                          const struct ldate *pending_at, const char *agency, struct b06_table *out,
                          char *err, size_t errlen)
{
    char f[11], t[11], p[11];
    const char *params[3] = {f, t, p};
    PGresult *res = NULL;
    int rc = -1;

    memset(out, 0, sizeof *out);
    out->from = *from;
    out->to = *to;
    out->pending_at = *pending_at;
    out->total.agency = xstrdup("ALL");
    if (!out->total.agency) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    if (load_agencies(conn, agency, out, err, errlen) != 0)
        goto cleanup;

    ldate_format(from, f);
    ldate_format(to, t);
    ldate_format(pending_at, p);
    res = pg_query(conn, COUNTS_SQL, 3, params, "computing Biểu 06 counts", err, errlen);
    if (!res)
        goto cleanup;
    for (int i = 0; i < PQntuples(res); i++) {
        struct b06_row *r;
        if (strcmp(PQgetvalue(res, i, 1), "1") == 0)
            r = &out->total;
        else
            r = (struct b06_row *)rates_find(out, PQgetvalue(res, i, 0));
        if (r)
            fill_counts(res, i, &r->c);
    }
    for (size_t i = 0; i < out->nrows; i++)
        rates_ratios(&out->rows[i].c, &out->rows[i].r);
    rates_ratios(&out->total.c, &out->total.r);
    rc = 0;
cleanup:
    PQclear(res);
    if (rc != 0)
        rates_table_clear(out);
    return rc;
}

void rates_table_clear(struct b06_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows; i++) {
        free(t->rows[i].agency);
        free(t->rows[i].name);
    }
    free(t->rows);
    free(t->total.agency);
    free(t->total.name);
    memset(t, 0, sizeof *t);
}
