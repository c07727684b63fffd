/* SPDX-License-Identifier: Apache-2.0 */
/* onestop-bench: times the indicator computation and the report query against a
 * database that onestopd has filled (bench/run.sh drives it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "adapter.h"
#include "config.h"
#include "model.h"
#include "period.h"
#include "pgutil.h"
#include "rates.h"
#include "rollup.h"
#include "util.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

struct stats {
    double min, mean, max;
};

static struct stats summarize(const char *what, const double *v, int n)
{
    struct stats s = {v[0], 0, v[0]};
    for (int i = 0; i < n; i++) {
        s.min = v[i] < s.min ? v[i] : s.min;
        s.max = v[i] > s.max ? v[i] : s.max;
        s.mean += v[i] / n;
    }
    printf("%-52s runs=%d min=%.1f ms mean=%.1f ms max=%.1f ms\n", what, n, s.min, s.mean, s.max);
    return s;
}

/* The four tables the computation needs (year, quarter, month to today, previous year)
 * by the reference SQL, as model_compute computed them before the rollups. */
static int reference_tables(PGconn *conn, const struct config *cfg, const struct ldate *today,
                            char *err, size_t errlen)
{
    struct period cur[PK_COUNT], prev;
    period_current(cfg->period_mode, today, cur);
    period_previous_year(cfg->period_mode, today, &prev);
    for (int k = 0; k <= PK_COUNT; k++) {
        const struct period *p = k < PK_COUNT ? &cur[k] : &prev;
        struct b06_table t;
        if (rates_table_reference(conn, &p->from, &p->to, &p->to, NULL, &t, err, errlen) != 0)
            return -1;
        rates_table_clear(&t);
    }
    return 0;
}

/* The daemon's config file, sources and all: the adapters' keys come from the registry. */
static const struct cfg_hooks cfg_adapters = {.adapter = adp_keys, .check = adp_check};

int main(int argc, char **argv)
{
    char err[1024];
    struct config *cfg = NULL;
    int runs = argc > 3 ? atoi(argv[3]) : 5;
    int reference = argc > 4 && strcmp(argv[4], "--reference") == 0;
    struct stats compute = {NAN, NAN, NAN}, report = compute, ref_compute = compute,
                 ref_report = compute;

    if (argc < 3 || runs < 1 || runs > 1000) {
        fprintf(stderr, "usage: onestop-bench CONFIG YYYY-MM-DD [RUNS [--reference]]\n"
                        "  times model_compute (all /metrics indicators) and a one-year\n"
                        "  report (the previous calendar year) over the database named in\n"
                        "  CONFIG, with today = the date; --reference also times the same\n"
                        "  tables by the reference SQL, once\n");
        return EX_USAGE;
    }
    if (cfg_load(argv[1], &cfg_adapters, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return EX_CONFIG;
    }
    struct ldate today;
    if (ldate_parse(argv[2], &today) != 0) {
        fprintf(stderr, "bad date %s\n", argv[2]);
        cfg_free(cfg);
        return EX_USAGE;
    }
    PGconn *conn = pg_connect(cfg->db_conninfo, cfg->db_password, "onestop-bench");
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(conn));
        PQfinish(conn);
        cfg_free(cfg);
        return EX_UNAVAILABLE;
    }
    PGresult *res = PQexec(conn, "SELECT count(*) FROM dossiers");
    printf("dossiers stored: %s\n",
           PQresultStatus(res) == PGRES_TUPLES_OK ? PQgetvalue(res, 0, 0) : "?");
    PQclear(res);

    double *t = calloc((size_t)runs, sizeof *t);
    int rc = t ? EX_OK : EX_OSERR;
    /* The daemon computes on a connection it keeps: the first run of a new one (catalog
     * caches, plans) is reported apart and not counted. */
    double first = NAN;
    if (rc == EX_OK) {
        struct model m;
        double s = now_ms();
        if (model_compute(conn, cfg, &today, &m, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            rc = EX_SOFTWARE;
        }
        first = now_ms() - s;
        model_clear(&m);
        if (rc == EX_OK)
            summarize("all indicators, first run on a new connection", &first, 1);
    }
    for (int i = 0; i < runs && rc == EX_OK; i++) {
        struct model m;
        double s = now_ms();
        if (model_compute(conn, cfg, &today, &m, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            rc = EX_SOFTWARE;
        }
        t[i] = now_ms() - s;
        model_clear(&m);
    }
    if (rc == EX_OK)
        compute = summarize("all indicators (model_compute, rollups)", t, runs);

    struct ldate from = {today.y - 1, 1, 1}, to = {today.y - 1, 12, 31};
    for (int i = 0; i < runs && rc == EX_OK; i++) {
        struct b06_table tab;
        double s = now_ms();
        if (rollup_table(conn, &from, &to, &to, NULL, &tab, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            rc = EX_SOFTWARE;
        }
        t[i] = now_ms() - s;
        rates_table_clear(&tab);
    }
    if (rc == EX_OK)
        report = summarize("report, previous calendar year (rollups)", t, runs);

    if (reference && rc == EX_OK) {
        double s = now_ms();
        if (reference_tables(conn, cfg, &today, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            rc = EX_SOFTWARE;
        }
        t[0] = now_ms() - s;
        if (rc == EX_OK)
            ref_compute = summarize("the 4 tables of a computation (reference SQL)", t, 1);
        struct b06_table tab;
        s = now_ms();
        if (rc == EX_OK &&
            rates_table_reference(conn, &from, &to, &to, NULL, &tab, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            rc = EX_SOFTWARE;
        }
        t[0] = now_ms() - s;
        if (rc == EX_OK) {
            rates_table_clear(&tab);
            ref_report = summarize("report, previous calendar year (reference SQL)", t, 1);
        }
    }
    /* One line for bench/run.py. */
    if (rc == EX_OK)
        printf("RESULT {\"compute_first_ms\": %.3f, \"compute_mean_ms\": %.3f,"
               " \"compute_min_ms\": %.3f,"
               " \"report_mean_ms\": %.3f, \"report_min_ms\": %.3f,"
               " \"reference_tables_ms\": %s%.3f, \"reference_report_ms\": %s%.3f}\n",
               first, compute.mean, compute.min, report.mean, report.min,
               isnan(ref_compute.mean) ? "-" : "", isnan(ref_compute.mean) ? 1.0 : ref_compute.mean,
               isnan(ref_report.mean) ? "-" : "", isnan(ref_report.mean) ? 1.0 : ref_report.mean);
    free(t);
    PQfinish(conn);
    cfg_free(cfg);
    return rc;
}
