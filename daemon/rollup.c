/* SPDX-License-Identifier: Apache-2.0 */
/* rollup: incremental Biểu 06 rollups: their compaction and rebuild, and the tables read
 * back from them as prefix sums. */
#include "rollup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"

/* The columns every Biểu 06 rollup table has after its key, in order. */
#define B06_COLS                                                                                   \
    "received_online, received_direct, received_postal, resolved_early, resolved_on_time,"         \
    " resolved_late, resolved_returned, resolved_returned_by_post, overdue, overdue_no_apology"

/* The ten sums a-j of B06_COLS, and the test that one of them is not 0. */
#define B06_SUMS                                                                                   \
    "sum(received_online) AS a, sum(received_direct) AS b, sum(received_postal) AS c,"             \
    " sum(resolved_early) AS d, sum(resolved_on_time) AS e, sum(resolved_late) AS f,"              \
    " sum(resolved_returned) AS g, sum(resolved_returned_by_post) AS h, sum(overdue) AS i,"        \
    " sum(overdue_no_apology) AS j"
#define B06_NONZERO "(a, b, c, d, e, f, g, h, i, j) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)"

/* Moves the sums of rollup_b06_delta into rollup_b06 at the three grains, each bucket
 * added to in place; many pages touch the same days, so this writes far fewer rows than
 * updating rollup_b06 page by page would. */
const char *const rollup_compact_sql =
    "WITH moved AS (DELETE FROM rollup_b06_delta RETURNING *),"
    " sums AS (SELECT bucket, agency, " B06_SUMS " FROM moved GROUP BY bucket, agency)"
    " INSERT INTO rollup_b06 AS r (grain, bucket, agency, " B06_COLS ")"
    " SELECT * FROM (SELECT 'd'::\"char\", bucket, agency, a, b, c, d, e, f, g, h, i, j FROM sums"
    "  UNION ALL SELECT 'm'::\"char\", date_trunc('month', bucket::timestamp)::date, agency,"
    "   sum(a), sum(b), sum(c), sum(d), sum(e), sum(f), sum(g), sum(h), sum(i), sum(j)"
    "   FROM sums GROUP BY 2, 3"
    "  UNION ALL SELECT 'y'::\"char\", date_trunc('year', bucket::timestamp)::date, agency,"
    "   sum(a), sum(b), sum(c), sum(d), sum(e), sum(f), sum(g), sum(h), sum(i), sum(j)"
    "   FROM sums GROUP BY 2, 3) s(grain, bucket, agency, a, b, c, d, e, f, g, h, i, j)"
    " WHERE " B06_NONZERO " ON CONFLICT (grain, bucket, agency) DO UPDATE SET"
    " received_online = r.received_online + EXCLUDED.received_online,"
    " received_direct = r.received_direct + EXCLUDED.received_direct,"
    " received_postal = r.received_postal + EXCLUDED.received_postal,"
    " resolved_early = r.resolved_early + EXCLUDED.resolved_early,"
    " resolved_on_time = r.resolved_on_time + EXCLUDED.resolved_on_time,"
    " resolved_late = r.resolved_late + EXCLUDED.resolved_late,"
    " resolved_returned = r.resolved_returned + EXCLUDED.resolved_returned,"
    " resolved_returned_by_post = r.resolved_returned_by_post"
    "  + EXCLUDED.resolved_returned_by_post,"
    " overdue = r.overdue + EXCLUDED.overdue,"
    " overdue_no_apology = r.overdue_no_apology + EXCLUDED.overdue_no_apology";

/*
 * Prefix sums of rollup_b06 up to each day p[i] (inclusive), per agency: the years
 * before p's year, the months of its year before p's month, the days of its month up to
 * p; and the days up to p not compacted yet. $1 the days, $2 the first of their months,
 * $3 the 1 January of their years.
 */
static const char *const PREFIX_SQL =
    "SELECT q.i, r.agency, sum(r.received_online), sum(r.received_direct),"
    " sum(r.received_postal), sum(r.resolved_early), sum(r.resolved_on_time),"
    " sum(r.resolved_late), sum(r.resolved_returned), sum(r.resolved_returned_by_post),"
    " sum(r.overdue), sum(r.overdue_no_apology)"
    " FROM unnest($1::date[], $2::date[], $3::date[]) WITH ORDINALITY AS q(p, m0, y0, i)"
    " CROSS JOIN LATERAL ("
    "  SELECT agency, " B06_COLS " FROM rollup_b06 WHERE grain = 'y' AND bucket < q.y0"
    "  UNION ALL SELECT agency, " B06_COLS " FROM rollup_b06 WHERE grain = 'm'"
    "   AND bucket >= q.y0 AND bucket < q.m0"
    "  UNION ALL SELECT agency, " B06_COLS " FROM rollup_b06 WHERE grain = 'd'"
    "   AND bucket >= q.m0 AND bucket <= q.p"
    "  UNION ALL SELECT agency, " B06_COLS " FROM rollup_b06_delta WHERE bucket <= q.p) r"
    " GROUP BY q.i, r.agency";

/* Every known agency (a stored dossier of any status, or a catalogue row) with the name
 * of its most recently updated dossier: greatest (NgayCapNhat, MaHoSo), codes compared
 * byte by byte, one probe of dossiers_agency_latest_idx per agency. */
static const char *const AGENCIES_SQL =
    "SELECT a.agency, (SELECT d.agency_name FROM dossiers d WHERE d.agency = a.agency"
    "  ORDER BY d.updated_at DESC, d.code COLLATE \"C\" DESC LIMIT 1)"
    " FROM (SELECT agency FROM rollup_agency WHERE dossiers > 0"
    "  UNION SELECT agency FROM procedures) a"
    " WHERE $1::text IS NULL OR a.agency = $1::text";

/* Columns of a prefix vector, in PREFIX_SQL's order (from column 2). */
enum {
    PX_ONLINE,
    PX_DIRECT,
    PX_POSTAL,
    PX_EARLY,
    PX_ON_TIME,
    PX_LATE,
    PX_RETURNED,
    PX_BY_POST,
    PX_OVERDUE,
    PX_OVERDUE_NO_APOLOGY,
    PX_NCOLS
};

/* Prefix vectors of every agency at every point, read from one PREFIX_SQL result. */
struct prefixes {
    size_t npoints, nagencies;
    const char **agencies; /* sorted, unique; borrowed from the result */
    long *v;               /* [point][agency][PX_NCOLS] */
    long *total;           /* [point][PX_NCOLS]: every agency */
};

int rollup_lock(PGconn *conn, char *err, size_t errlen)
{
    return pg_exec_ok(conn, ROLLUP_LOCK_SQL, err, errlen);
}

int rollup_compact(PGconn *conn, char *err, size_t errlen)
{
    return pg_exec_params(conn, rollup_compact_sql, 0, NULL, "compacting the rollups", err, errlen);
}

int rollup_rebuild(PGconn *conn, char *err, size_t errlen)
{
    if (pg_exec_ok(conn, "BEGIN", err, errlen) != 0)
        return -1;
    if (pg_exec_ok(conn, "SELECT rollup_rebuild()", NULL, 0) != 0) {
        pg_errf(err, errlen, NULL, conn, "rebuilding the rollups");
        goto fail;
    }
    if (pg_exec_ok(conn, "COMMIT", err, errlen) != 0)
        goto fail;
    return 0;
fail:
    pg_exec_ok(conn, "ROLLBACK", NULL, 0);
    return -1;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void prefixes_free(struct prefixes *px)
{
    free(px->agencies);
    free(px->v);
    free(px->total);
    memset(px, 0, sizeof *px);
}

/* Appends "YYYY-MM-DD" to a PostgreSQL array literal being built in b. */
static void array_date(struct buf *b, const struct ldate *d)
{
    char s[11];
    ldate_format(d, s);
    buf_puts(b, b->len > 1 ? "," : "");
    buf_puts(b, s);
}

/* Reads the prefix vectors at the n days of points. res is kept by the caller as long as
 * px is used (px->agencies points into it). */
static int prefixes_load(PGconn *conn, const struct ldate *points, size_t n, PGresult **res,
                         struct prefixes *px, char *err, size_t errlen)
{
    struct buf days, months, years;
    int rc = -1;

    memset(px, 0, sizeof *px);
    *res = NULL;
    buf_init(&days);
    buf_init(&months);
    buf_init(&years);
    buf_puts(&days, "{");
    buf_puts(&months, "{");
    buf_puts(&years, "{");
    for (size_t i = 0; i < n; i++) {
        struct ldate m0 = {points[i].y, points[i].m, 1}, y0 = {points[i].y, 1, 1};
        array_date(&days, &points[i]);
        array_date(&months, &m0);
        array_date(&years, &y0);
    }
    buf_puts(&days, "}");
    buf_puts(&months, "}");
    buf_puts(&years, "}");
    if (days.oom || months.oom || years.oom)
        goto oom;
    const char *params[3] = {days.data, months.data, years.data};
    *res = pg_query(conn, PREFIX_SQL, 3, params, "reading the rollups", err, errlen);
    if (!*res)
        goto cleanup;

    int rows = PQntuples(*res);
    px->npoints = n;
    px->agencies = calloc(rows > 0 ? (size_t)rows : 1, sizeof *px->agencies);
    if (!px->agencies)
        goto oom;
    for (int r = 0; r < rows; r++)
        px->agencies[r] = PQgetvalue(*res, r, 1);
    qsort(px->agencies, (size_t)rows, sizeof *px->agencies, str_cmp);
    for (int r = 0; r < rows; r++)
        if (px->nagencies == 0 || strcmp(px->agencies[px->nagencies - 1], px->agencies[r]) != 0)
            px->agencies[px->nagencies++] = px->agencies[r];

    px->v = calloc(n * (px->nagencies ? px->nagencies : 1) * PX_NCOLS, sizeof *px->v);
    px->total = calloc(n * PX_NCOLS, sizeof *px->total);
    if (!px->v || !px->total)
        goto oom;
    for (int r = 0; r < rows; r++) {
        long i = pg_long(*res, r, 0, 0) - 1;
        const char *agency = PQgetvalue(*res, r, 1);
        const char **found =
            bsearch(&agency, px->agencies, px->nagencies, sizeof *px->agencies, str_cmp);
        if (i < 0 || (size_t)i >= n || !found)
            continue;
        long *v = px->v + ((size_t)i * px->nagencies + (size_t)(found - px->agencies)) * PX_NCOLS;
        for (int k = 0; k < PX_NCOLS; k++) {
            v[k] = pg_long(*res, r, k + 2, 0);
            px->total[(size_t)i * PX_NCOLS + k] += v[k];
        }
    }
    rc = 0;
    goto cleanup;
oom:
    snprintf(err, errlen, "out of memory");
cleanup:
    buf_free(&days);
    buf_free(&months);
    buf_free(&years);
    if (rc != 0) {
        prefixes_free(px);
        PQclear(*res);
        *res = NULL;
    }
    return rc;
}

/* The vector of agency at point i (all zeros when the agency has no rollup row). */
static const long *prefix_of(const struct prefixes *px, size_t i, const char *agency)
{
    static const long zero[PX_NCOLS];
    const char **found =
        bsearch(&agency, px->agencies, px->nagencies, sizeof *px->agencies, str_cmp);
    if (!found)
        return zero;
    return px->v + (i * px->nagencies + (size_t)(found - px->agencies)) * PX_NCOLS;
}

static long px_received(const long *v)
{
    return v[PX_ONLINE] + v[PX_DIRECT] + v[PX_POSTAL];
}

static long px_resolved(const long *v)
{
    return v[PX_EARLY] + v[PX_ON_TIME] + v[PX_LATE];
}

/*
 * The counts of [from, to] from the prefix vectors at from - 1 (a), to (b) and
 * pending_at (c): what happened in the period is b - a; a dossier is pending at a day
 * when it was received by then and not resolved by then, so "pending at d" is received
 * minus resolved up to d, and carried over is pending at from - 1 (received before from,
 * not resolved before from). Overdue is already a running count (the deltas).
 */
static void derive(const long *a, const long *b, const long *c, struct b06_counts *out)
{
    long pending = px_received(c) - px_resolved(c);

    out->carried_over = px_received(a) - px_resolved(a);
    out->received_online = b[PX_ONLINE] - a[PX_ONLINE];
    out->received_direct = b[PX_DIRECT] - a[PX_DIRECT];
    out->received_postal = b[PX_POSTAL] - a[PX_POSTAL];
    out->resolved_early = b[PX_EARLY] - a[PX_EARLY];
    out->resolved_on_time = b[PX_ON_TIME] - a[PX_ON_TIME];
    out->resolved_late = b[PX_LATE] - a[PX_LATE];
    out->resolved_returned = b[PX_RETURNED] - a[PX_RETURNED];
    out->resolved_returned_by_post = b[PX_BY_POST] - a[PX_BY_POST];
    out->pending_overdue = c[PX_OVERDUE];
    out->pending_within = pending - c[PX_OVERDUE];
    out->pending_overdue_no_apology = c[PX_OVERDUE_NO_APOLOGY];
}

static int row_cmp(const void *a, const void *b)
{
    return strcmp(((const struct b06_row *)a)->agency, ((const struct b06_row *)b)->agency);
}

/* The known agencies (and names) into every table, in code order. */
static int load_agencies(PGconn *conn, const char *agency, struct b06_table *out, size_t n,
                         char *err, size_t errlen)
{
    const char *params[1] = {agency};
    int rc = -1;
    PGresult *res = pg_query(conn, AGENCIES_SQL, 1, params, "listing agencies", err, errlen);
    if (!res)
        return -1;
    size_t rows = (size_t)PQntuples(res);
    for (size_t t = 0; t < n; t++) {
        struct b06_table *tab = &out[t];
        tab->rows = calloc(rows ? rows : 1, sizeof *tab->rows);
        if (!tab->rows)
            goto oom;
        for (size_t i = 0; i < rows; i++) {
            struct b06_row *r = &tab->rows[tab->nrows++];
            r->agency = xstrdup(PQgetvalue(res, (int)i, 0));
            if (!r->agency)
                goto oom;
            if (!PQgetisnull(res, (int)i, 1) && !(r->name = xstrdup(PQgetvalue(res, (int)i, 1))))
                goto oom;
        }
        qsort(tab->rows, tab->nrows, sizeof *tab->rows, row_cmp);
    }
    rc = 0;
    goto cleanup;
oom:
    snprintf(err, errlen, "out of memory");
cleanup:
    PQclear(res);
    return rc;
}

int rollup_tables(PGconn *conn, const struct rollup_span *spans, size_t n, const char *agency,
                  struct b06_table *out, char *err, size_t errlen)
{
    struct ldate *points = NULL;
    struct prefixes px = {0};
    PGresult *res = NULL;
    int rc = -1;

    for (size_t t = 0; t < n; t++) {
        memset(&out[t], 0, sizeof out[t]);
        out[t].from = spans[t].from;
        out[t].to = spans[t].to;
        out[t].pending_at = spans[t].pending_at;
        if (!(out[t].total.agency = xstrdup("ALL"))) {
            snprintf(err, errlen, "out of memory");
            goto cleanup;
        }
    }
    if (n == 0)
        return 0;
    /* Three days per table: the eve of from, to, and the day pending is counted at. */
    points = calloc(3 * n, sizeof *points);
    if (!points) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    for (size_t t = 0; t < n; t++) {
        points[3 * t] = ldate_add_days(&spans[t].from, -1);
        points[3 * t + 1] = spans[t].to;
        points[3 * t + 2] = spans[t].pending_at;
    }
    if (load_agencies(conn, agency, out, n, err, errlen) != 0 ||
        prefixes_load(conn, points, 3 * n, &res, &px, err, errlen) != 0)
        goto cleanup;
    for (size_t t = 0; t < n; t++) {
        struct b06_table *tab = &out[t];
        for (size_t i = 0; i < tab->nrows; i++) {
            struct b06_row *r = &tab->rows[i];
            derive(prefix_of(&px, 3 * t, r->agency), prefix_of(&px, 3 * t + 1, r->agency),
                   prefix_of(&px, 3 * t + 2, r->agency), &r->c);
            rates_ratios(&r->c, &r->r);
        }
        derive(px.total + 3 * t * PX_NCOLS, px.total + (3 * t + 1) * PX_NCOLS,
               px.total + (3 * t + 2) * PX_NCOLS, &tab->total.c);
        rates_ratios(&tab->total.c, &tab->total.r);
    }
    rc = 0;
cleanup:
    prefixes_free(&px);
    PQclear(res);
    free(points);
    if (rc != 0)
        for (size_t t = 0; t < n; t++)
            rates_table_clear(&out[t]);
    return rc;
}

int rollup_table(PGconn *conn, const struct ldate *from, const struct ldate *to,
                 const struct ldate *pending_at, const char *agency, struct b06_table *out,
                 char *err, size_t errlen)
{
    const struct rollup_span span = {*from, *to, *pending_at};
    return rollup_tables(conn, &span, 1, agency, out, err, errlen);
}
