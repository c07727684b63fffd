/* SPDX-License-Identifier: Apache-2.0 */
/* rollcheck: the rollups against a recomputation and against the reference SQL. */
#include "rollcheck.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "period.h"
#include "pgutil.h"
#include "rates.h"
#include "rollup.h"

/* What a rollup table holds (a query) and what the stored rows say it should hold (the
 * views of sql/0004_rollups.sql, which the rebuild writes); rows of zeros mean nothing. */
struct content {
    const char *name, *stored, *view;
};

static const struct content CONTENTS[] = {
    /* rollup_b06 with the deltas not compacted yet folded in, at every grain. */
    {"rollup_b06",
     "SELECT grain, bucket, agency, sum(received_online)::bigint AS a,"
     " sum(received_direct)::bigint AS b, sum(received_postal)::bigint AS c,"
     " sum(resolved_early)::bigint AS d, sum(resolved_on_time)::bigint AS e,"
     " sum(resolved_late)::bigint AS f, sum(resolved_returned)::bigint AS g,"
     " sum(resolved_returned_by_post)::bigint AS h, sum(overdue)::bigint AS i,"
     " sum(overdue_no_apology)::bigint AS j"
     " FROM (SELECT * FROM rollup_b06 UNION ALL"
     "  SELECT g.grain, g.bucket, x.agency, x.received_online, x.received_direct,"
     "   x.received_postal, x.resolved_early, x.resolved_on_time, x.resolved_late,"
     "   x.resolved_returned, x.resolved_returned_by_post, x.overdue, x.overdue_no_apology"
     "  FROM rollup_b06_delta x CROSS JOIN LATERAL (VALUES ('d'::\"char\", x.bucket),"
     "   ('m', date_trunc('month', x.bucket::timestamp)::date),"
     "   ('y', date_trunc('year', x.bucket::timestamp)::date)) g(grain, bucket)) u"
     " GROUP BY grain, bucket, agency"
     " HAVING (sum(received_online), sum(received_direct), sum(received_postal),"
     "  sum(resolved_early), sum(resolved_on_time), sum(resolved_late),"
     "  sum(resolved_returned), sum(resolved_returned_by_post), sum(overdue),"
     "  sum(overdue_no_apology)) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)",
     "rollup_b06_expected"},
    {"rollup_agency", "SELECT * FROM rollup_agency WHERE dossiers <> 0", "rollup_agency_expected"},
    {"rollup_shipment", "SELECT * FROM rollup_shipment WHERE (shipments, unmatched) <> (0, 0)",
     "rollup_shipment_expected"},
    {"rollup_quarantine", "SELECT * FROM rollup_quarantine WHERE records <> 0",
     "rollup_quarantine_expected"},
};

/* Direct counts, as the daemon computed them before the rollups existed, next to what the
 * rollups give: (what, direct, rollups). */
static const char *const COUNTS_SQL =
    "SELECT 'stored dossiers', (SELECT count(*) FROM dossiers),"
    " (SELECT coalesce(sum(dossiers), 0) FROM rollup_agency)"
    " UNION ALL SELECT 'stored shipments', (SELECT count(*) FROM shipments),"
    " (SELECT coalesce(sum(shipments), 0) FROM rollup_shipment)"
    " UNION ALL SELECT 'unmatched shipments', (SELECT count(*) FROM shipments s"
    "   WHERE NOT EXISTS (SELECT 1 FROM dossiers d WHERE d.code = s.order_number)),"
    " (SELECT coalesce(sum(unmatched), 0) FROM rollup_shipment)"
    " UNION ALL SELECT 'shipments ' || coalesce(a.direction, b.direction) || '/'"
    "  || coalesce(a.status, b.status), coalesce(a.n, 0), coalesce(b.shipments, 0)"
    " FROM (SELECT direction, CASE status_code WHEN 6 THEN 0 WHEN 14 THEN 2 WHEN 15 THEN 3"
    "   WHEN 22 THEN 4 ELSE 1 END AS status, count(*) AS n FROM shipments GROUP BY 1, 2) a"
    " FULL JOIN rollup_shipment b ON a.direction = b.direction AND a.status = b.status"
    " UNION ALL SELECT 'quarantine ' || coalesce(a.source, b.source) || '/'"
    "  || coalesce(a.reason, b.reason), coalesce(a.n, 0), coalesce(b.records, 0)"
    " FROM (SELECT source, reason, count(*) AS n FROM quarantine GROUP BY 1, 2) a"
    " FULL JOIN rollup_quarantine b ON a.source = b.source AND a.reason = b.reason";

/* The overdue dossiers without an apology at $1, per agency and ALL, as model.c counted
 * them before the rollups (pending at $1, overdue, not in 5, 6, 8, no PhieuXinLoi). */
static const char *const OVERDUE_REF_SQL =
    "SELECT agency, grouping(agency), count(*) FROM dossiers"
    " WHERE status IN (2, 4, 7, 9, 10) AND received_at::date <= $1::date"
    " AND (status IN (2, 4) OR finished_at::date > $1::date)"
    " AND due_at::date < $1::date AND apologies = 0"
    " GROUP BY GROUPING SETS ((agency), ())";

struct check {
    PGconn *conn;
    FILE *out;
    long comparisons, differences;
    char *err;
    size_t errlen;
};

static void differ(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void differ(struct check *c, const char *fmt, ...)
{
    va_list ap;
    c->differences++;
    /* The first differences say what is wrong; a thousand more would only hide it. */
    if (c->differences > 50)
        return;
    fputs("rollups differ: ", c->out);
    va_start(ap, fmt);
    vfprintf(c->out, fmt, ap);
    va_end(ap);
    fputc('\n', c->out);
}

static int check_content(struct check *c, const struct content *k)
{
    char sql[4096];
    /* Queries and identifiers from the table above, never input. */
    snprintf(sql, sizeof sql,
             "WITH s AS MATERIALIZED (%s),"
             " e AS MATERIALIZED (SELECT * FROM %s)"
             " SELECT d.side, d.r FROM ("
             "  SELECT 'stored' AS side, x::text AS r FROM (SELECT * FROM s EXCEPT ALL"
             "   SELECT * FROM e) x"
             "  UNION ALL SELECT 'expected', x::text FROM (SELECT * FROM e EXCEPT ALL"
             "   SELECT * FROM s) x) d ORDER BY 2, 1",
             k->stored, k->view);
    PGresult *res = pg_query(c->conn, sql, 0, NULL, k->name, c->err, c->errlen);
    if (!res)
        return -1;
    c->comparisons++;
    for (int i = 0; i < PQntuples(res); i++)
        differ(c, "%s: only %s: %s", k->name, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
    PQclear(res);
    return 0;
}

static int check_counts(struct check *c)
{
    PGresult *res = pg_query(c->conn, COUNTS_SQL, 0, NULL, "stored counts", c->err, c->errlen);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        c->comparisons++;
        if (strcmp(PQgetvalue(res, i, 1), PQgetvalue(res, i, 2)) != 0)
            differ(c, "%s: rollups %s, direct count %s", PQgetvalue(res, i, 0),
                   PQgetvalue(res, i, 2), PQgetvalue(res, i, 1));
    }
    PQclear(res);
    return 0;
}

static int same_name(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void compare_counts(struct check *c, const char *what, const char *agency,
                           const struct b06_counts *got, const struct b06_counts *want)
{
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
#define F(x) {#x, offsetof(struct b06_counts, x)}
        F(carried_over),
        F(received_online),
        F(received_direct),
        F(received_postal),
        F(resolved_early),
        F(resolved_on_time),
        F(resolved_late),
        F(pending_within),
        F(pending_overdue),
        F(resolved_returned),
        F(resolved_returned_by_post),
#undef F
    };
    for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
        long g = *(const long *)((const char *)got + fields[i].off);
        long w = *(const long *)((const char *)want + fields[i].off);
        c->comparisons++;
        if (g != w)
            differ(c, "%s agency %s %s: rollups %ld, reference %ld", what, agency, fields[i].name,
                   g, w);
    }
}

static void compare_tables(struct check *c, const char *what, const struct b06_table *got,
                           const struct b06_table *want)
{
    c->comparisons++;
    if (got->nrows != want->nrows) {
        differ(c, "%s: %zu agencies from the rollups, %zu from the reference", what, got->nrows,
               want->nrows);
        return;
    }
    for (size_t i = 0; i < got->nrows; i++) {
        const struct b06_row *g = &got->rows[i], *w = &want->rows[i];
        c->comparisons++;
        if (strcmp(g->agency, w->agency) != 0) {
            differ(c, "%s: agency %s from the rollups where the reference has %s", what, g->agency,
                   w->agency);
            continue;
        }
        if (!same_name(g->name, w->name))
            differ(c, "%s agency %s: name %s, reference %s", what, g->agency,
                   g->name ? g->name : "(none)", w->name ? w->name : "(none)");
        compare_counts(c, what, g->agency, &g->c, &w->c);
    }
    compare_counts(c, what, "ALL", &got->total.c, &want->total.c);
}

/* The rollups and the reference for each span (and agency filter). */
static int check_spans(struct check *c, const struct rollup_span *spans, size_t n,
                       const char *agency)
{
    struct b06_table *got = calloc(n ? n : 1, sizeof *got);
    int rc = -1;

    if (!got) {
        snprintf(c->err, c->errlen, "out of memory");
        return -1;
    }
    if (rollup_tables(c->conn, spans, n, agency, got, c->err, c->errlen) != 0)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        struct b06_table want;
        char what[128], f[11], t[11], p[11];
        ldate_format(&spans[i].from, f);
        ldate_format(&spans[i].to, t);
        ldate_format(&spans[i].pending_at, p);
        snprintf(what, sizeof what, "[%s, %s] pending at %s%s%s", f, t, p,
                 agency ? " for agency " : "", agency ? agency : "");
        if (rates_table_reference(c->conn, &spans[i].from, &spans[i].to, &spans[i].pending_at,
                                  agency, &want, c->err, c->errlen) != 0)
            goto cleanup;
        compare_tables(c, what, &got[i], &want);
        rates_table_clear(&want);
    }
    rc = 0;
cleanup:
    for (size_t i = 0; i < n; i++)
        rates_table_clear(&got[i]);
    free(got);
    return rc;
}

/* Overdue dossiers without an apology at day: the rollups (any table pending at day)
 * against the direct count. */
static int check_overdue(struct check *c, const struct ldate *day, const struct b06_table *t)
{
    char d[11];
    const char *params[1] = {d};
    ldate_format(day, d);
    PGresult *res =
        pg_query(c->conn, OVERDUE_REF_SQL, 1, params, "overdue dossiers", c->err, c->errlen);
    if (!res)
        return -1;
    for (size_t i = 0; i <= t->nrows; i++) {
        const struct b06_row *r = i < t->nrows ? &t->rows[i] : &t->total;
        long want = 0;
        for (int k = 0; k < PQntuples(res); k++) {
            int all = strcmp(PQgetvalue(res, k, 1), "1") == 0;
            if (i < t->nrows ? !all && strcmp(PQgetvalue(res, k, 0), r->agency) == 0 : all)
                want = pg_long(res, k, 2, 0);
        }
        c->comparisons++;
        if (r->c.pending_overdue_no_apology != want)
            differ(c, "overdue without apology at %s, agency %s: rollups %ld, reference %ld", d,
                   i < t->nrows ? r->agency : "ALL", r->c.pending_overdue_no_apology, want);
    }
    PQclear(res);
    return 0;
}

static struct rollup_span span(struct ldate from, struct ldate to, struct ldate pending_at)
{
    return (struct rollup_span){from, to, pending_at};
}

static struct ldate earlier(struct ldate a, struct ldate b)
{
    return ldate_cmp(&a, &b) <= 0 ? a : b;
}

static int check_day(struct check *c, const struct ldate *day)
{
    static const enum period_mode modes[] = {PERIOD_CALENDAR, PERIOD_REPORT};
    struct rollup_span spans[2 * (2 * PK_COUNT + 1) + 6];
    size_t n = 0;
    struct ldate d = *day;

    for (size_t m = 0; m < ARRAY_LEN(modes); m++) {
        struct period cur[PK_COUNT], prev;
        period_current(modes[m], day, cur);
        period_previous_year(modes[m], day, &prev);
        for (int k = 0; k < PK_COUNT; k++) {
            /* As /metrics shows it (to today), and whole as the report API gives it. */
            spans[n++] = span(cur[k].from, cur[k].to, cur[k].to);
            spans[n++] = span(cur[k].from, cur[k].end, earlier(cur[k].end, d));
        }
        spans[n++] = span(prev.from, prev.to, prev.to);
    }
    spans[n++] = span(d, d, d);
    spans[n++] = span(ldate_add_days(&d, -6), d, d);
    spans[n++] = span(ldate_add_days(&d, -45), d, d);
    spans[n++] = span(ldate_add_days(&d, -400), ldate_add_days(&d, 20), d);
    spans[n++] =
        span(ldate_add_days(&d, -1000), ldate_add_days(&d, -500), ldate_add_days(&d, -500));
    /* A period after the day: pending counted before it starts. */
    spans[n++] = span(ldate_add_days(&d, 10), ldate_add_days(&d, 40), d);
    if (check_spans(c, spans, n, NULL) != 0)
        return -1;

    /* With an agency filter: the first known agency, and one that does not exist. */
    struct b06_table t;
    if (rollup_tables(c->conn, &spans[0], 1, NULL, &t, c->err, c->errlen) != 0)
        return -1;
    int rc = check_overdue(c, day, &t);
    if (rc == 0 && t.nrows > 0)
        rc = check_spans(c, spans, 2, t.rows[0].agency);
    if (rc == 0)
        rc = check_spans(c, spans, 1, "no such agency");
    rates_table_clear(&t);
    return rc;
}

long rollcheck_run(PGconn *conn, const struct ldate *days, size_t n, FILE *out, char *err,
                   size_t errlen)
{
    struct check c = {conn, out, 0, 0, err, errlen};
    int rc = -1;

    if (pg_exec_ok(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < ARRAY_LEN(CONTENTS); i++)
        if (check_content(&c, &CONTENTS[i]) != 0)
            goto cleanup;
    if (check_counts(&c) != 0)
        goto cleanup;
    for (size_t i = 0; i < n; i++)
        if (check_day(&c, &days[i]) != 0)
            goto cleanup;
    rc = 0;
cleanup:
    pg_exec_ok(conn, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, 0);
    if (rc != 0)
        return -1;
    fprintf(out, "rollups: %ld comparisons over %zu day(s), %ld difference(s)\n", c.comparisons, n,
            c.differences);
    return c.differences;
}
