/* SPDX-License-Identifier: Apache-2.0 */
/* model: the database-derived part of /metrics, computed on the main thread. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"
#include "rollup.h"
#include "util.h"

const char *const model_ship_status_names[SHIP_STATUS_COUNT] = {"collected", "in_transit",
                                                                "delivered", "failed", "cancelled"};
const char *const model_ship_direction_names[2] = {"to_agency", "to_applicant"};
const char *const model_target_names[TGT_COUNT] = {"online_dossier", "online_procedure",
                                                   "postal_procedure", "on_time"};

const char *const model_alert_receiver_names[ALERT_RCV_COUNT] = {"webhook", "alertmanager"};
const char *const model_alert_result_names[ALERT_RES_COUNT] = {"success", "failure", "retry"};

static const char *const PROCS_SQL =
    "SELECT agency, grouping(agency), count(*), count(*) FILTER (WHERE level IN (3, 4)),"
    " count(*) FILTER (WHERE level = 4), count(*) FILTER (WHERE postal)"
    " FROM procedures GROUP BY GROUPING SETS ((agency), ())";

/* The stored counts come from the rollups the store keeps (rollup.h), so that none of
 * these scans the dossiers or the shipments; rollcheck.c compares them with the direct
 * counts. */
static const char *const SHIPMENTS_SQL = "SELECT direction, status, shipments FROM rollup_shipment";

static const char *const TOTALS_SQL =
    "SELECT (SELECT coalesce(sum(dossiers), 0) FROM rollup_agency),"
    " (SELECT count(*) FROM procedures),"
    " (SELECT coalesce(sum(shipments), 0) FROM rollup_shipment),"
    " (SELECT coalesce(sum(unmatched), 0) FROM rollup_shipment)";

static const char *const QUARANTINE_SQL =
    "SELECT source, reason, records FROM rollup_quarantine WHERE records > 0 ORDER BY 1, 2";

double model_ratio(long num, long den)
{
    return den > 0 ? (double)num / (double)den : NAN;
}

void model_clear(struct model *m)
{
    if (!m)
        return;
    for (int k = 0; k < PK_COUNT; k++)
        rates_table_clear(&m->tables[k]);
    for (size_t i = 0; i < m->nprocs; i++)
        free(m->procs[i].agency);
    free(m->procs);
    free(m->proc_all.agency);
    for (size_t i = 0; i < m->noverdue; i++)
        free(m->overdue[i].agency);
    free(m->overdue);
    for (size_t i = 0; i < m->nquarantine; i++) {
        free(m->quarantine[i].source);
        free(m->quarantine[i].reason);
    }
    free(m->quarantine);
    for (size_t i = 0; i < m->nalerts; i++) {
        struct model_alert *a = &m->alerts[i];
        free(a->alertname);
        free(a->agency);
        free(a->period);
        free(a->source);
        free(a->severity);
    }
    free(m->alerts);
    memset(m, 0, sizeof *m);
}

/* The catalogue is small (thousands of rows) and replaced whole every cycle: counted
 * directly. */
static int load_procs(PGconn *conn, struct model *m, char *err, size_t errlen)
{
    PGresult *res = pg_query(conn, PROCS_SQL, 0, NULL, "catalogue counts", err, errlen);
    if (!res)
        return -1;
    int n = PQntuples(res), rc = -1;
    m->procs = calloc(n > 0 ? (size_t)n : 1, sizeof *m->procs);
    m->proc_all.agency = xstrdup("ALL");
    if (!m->procs || !m->proc_all.agency)
        goto cleanup;
    for (int i = 0; i < n; i++) {
        struct proc_counts *p;
        if (strcmp(PQgetvalue(res, i, 1), "1") == 0) {
            p = &m->proc_all;
        } else {
            p = &m->procs[m->nprocs++];
            if (!(p->agency = xstrdup(PQgetvalue(res, i, 0))))
                goto cleanup;
        }
        p->total = pg_long(res, i, 2, 0);
        p->online = pg_long(res, i, 3, 0);
        p->full_online = pg_long(res, i, 4, 0);
        p->postal = pg_long(res, i, 5, 0);
    }
    rc = 0;
cleanup:
    if (rc != 0)
        snprintf(err, errlen, "out of memory");
    PQclear(res);
    return rc;
}

static int proc_cmp(const void *a, const void *b)
{
    return strcmp(((const struct proc_counts *)a)->agency, ((const struct proc_counts *)b)->agency);
}

/* One entry per known agency (from the year table, which lists them all) plus ALL: the
 * year's pending is counted today, and the rollups count the overdue ones without an
 * apology alongside. */
static int load_overdue(struct model *m, char *err, size_t errlen)
{
    const struct b06_table *t = &m->tables[PK_YEAR];

    m->overdue = calloc(t->nrows + 1, sizeof *m->overdue);
    if (!m->overdue)
        goto oom;
    for (size_t i = 0; i <= t->nrows; i++) {
        const struct b06_row *r = i < t->nrows ? &t->rows[i] : &t->total;
        struct overdue_count *o = &m->overdue[m->noverdue++];
        if (!(o->agency = xstrdup(i < t->nrows ? r->agency : "ALL")))
            goto oom;
        o->count = r->c.pending_overdue_no_apology;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int load_shipments_and_totals(PGconn *conn, struct model *m, char *err, size_t errlen)
{
    PGresult *res = pg_query(conn, SHIPMENTS_SQL, 0, NULL, "shipment counts", err, errlen);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        long dir = pg_long(res, i, 0, 0), st = pg_long(res, i, 1, 1);
        if (dir >= 1 && dir <= 2 && st >= 0 && st < SHIP_STATUS_COUNT)
            m->shipments[dir - 1][st] = pg_long(res, i, 2, 0);
    }
    PQclear(res);

    res = pg_query(conn, TOTALS_SQL, 0, NULL, "stored record counts", err, errlen);
    if (!res)
        return -1;
    for (int k = 0; k < FEED_KIND_COUNT; k++)
        m->stored[k] = pg_long(res, 0, k, 0);
    m->unmatched_shipments = pg_long(res, 0, 3, 0);
    PQclear(res);
    return 0;
}

static int load_quarantine(PGconn *conn, struct model *m, char *err, size_t errlen)
{
    PGresult *res = pg_query(conn, QUARANTINE_SQL, 0, NULL, "quarantine counts", err, errlen);
    if (!res)
        return -1;
    int n = PQntuples(res), rc = -1;
    m->quarantine = calloc(n > 0 ? (size_t)n : 1, sizeof *m->quarantine);
    if (!m->quarantine)
        goto cleanup;
    for (int i = 0; i < n; i++) {
        struct quarantine_count *q = &m->quarantine[m->nquarantine++];
        q->source = xstrdup(PQgetvalue(res, i, 0));
        q->reason = xstrdup(PQgetvalue(res, i, 1));
        q->count = pg_long(res, i, 2, 0);
        if (!q->source || !q->reason)
            goto cleanup;
    }
    rc = 0;
cleanup:
    if (rc != 0)
        snprintf(err, errlen, "out of memory");
    PQclear(res);
    return rc;
}

int model_compute(PGconn *conn, const struct config *cfg, const struct ldate *today,
                  struct model *m, char *err, size_t errlen)
{
    struct rollup_span spans[PK_COUNT + 1];
    struct b06_table prev_year = {0};
    size_t nspans = PK_COUNT;
    int64_t start = util_now_ms();

    memset(m, 0, sizeof *m);
    m->today = *today;
    m->mode = cfg->period_mode;
    period_current(cfg->period_mode, today, m->periods);
    for (int k = 0; k < PK_COUNT; k++) {
        const struct period *p = &m->periods[k];
        spans[k] = (struct rollup_span){p->from, p->to, p->to};
    }
    /* The plan asks to beat last year's province-wide on-time rate, pending counted at
     * the last day of that year. */
    if (isnan(cfg->on_time_baseline)) {
        struct period prev;
        period_previous_year(cfg->period_mode, today, &prev);
        spans[nspans++] = (struct rollup_span){prev.from, prev.to, prev.to};
    }

    /* One snapshot of the data for every query, so the families agree with each other. */
    if (pg_exec_ok(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen) != 0)
        return -1;
    {
        struct b06_table tabs[PK_COUNT + 1];
        if (rollup_tables(conn, spans, nspans, NULL, tabs, err, errlen) != 0)
            goto fail;
        for (int k = 0; k < PK_COUNT; k++)
            m->tables[k] = tabs[k];
        if (nspans > PK_COUNT)
            prev_year = tabs[PK_COUNT];
    }
    if (load_procs(conn, m, err, errlen) != 0 || load_overdue(m, err, errlen) != 0 ||
        load_shipments_and_totals(conn, m, err, errlen) != 0 ||
        load_quarantine(conn, m, err, errlen) != 0)
        goto fail;
    qsort(m->procs, m->nprocs, sizeof *m->procs, proc_cmp);
    m->targets[TGT_ONLINE_DOSSIER] = cfg->target_online_dossier;
    m->targets[TGT_ONLINE_PROCEDURE] = cfg->target_online_procedure;
    m->targets[TGT_POSTAL_PROCEDURE] = cfg->target_postal_procedure;
    m->targets[TGT_ON_TIME] =
        isnan(cfg->on_time_baseline) ? prev_year.total.r.on_time : cfg->on_time_baseline;
    if (pg_exec_ok(conn, "COMMIT", err, errlen) != 0)
        goto fail;
    rates_table_clear(&prev_year);
    m->computed_at = time(NULL);
    m->compute_seconds = (double)(util_now_ms() - start) / 1000.0;
    return 0;
fail:
    pg_exec_ok(conn, "ROLLBACK", NULL, 0);
    rates_table_clear(&prev_year);
    model_clear(m);
    return -1;
}
