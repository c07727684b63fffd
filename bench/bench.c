/* SPDX-License-Identifier: Apache-2.0 */
/* onestop-bench: times the indicator computation and the report query against a
 * database that onestopd has filled (see bench/run.sh). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "adapter.h"
#include "config.h"
#include "model.h"
#include "pgutil.h"
#include "rates.h"
#include "rollup.h"
#include "util.h"

static double ms_since(int64_t start)
{
    return (double)(util_now_ms() - start);
}

static void stats(const char *what, const double *v, int n)
{
    double min = v[0], max = v[0], sum = 0;
    for (int i = 0; i < n; i++) {
        min = v[i] < min ? v[i] : min;
        max = v[i] > max ? v[i] : max;
        sum += v[i];
    }
    printf("%-40s runs=%d min=%.1f ms mean=%.1f ms max=%.1f ms\n", what, n, min, sum / n, max);
}

/* The daemon's config file, sources and all: the adapters' keys come from the registry. */
static const struct cfg_hooks cfg_adapters = {.adapter = adp_keys, .check = adp_check};

int main(int argc, char **argv)
{
    char err[1024];
    struct config *cfg = NULL;
    int runs = argc > 3 ? atoi(argv[3]) : 5;

    if (argc < 3 || runs < 1 || runs > 1000) {
        fprintf(stderr, "usage: onestop-bench CONFIG YYYY-MM-DD [RUNS]\n"
                        "  times model_compute (all /metrics indicators) and a one-year\n"
                        "  report over the database named in CONFIG, with today = the date\n");
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
    int rc = EX_OK;
    for (int i = 0; i < runs && rc == EX_OK; i++) {
        struct model m;
        int64_t s = util_now_ms();
        if (model_compute(conn, cfg, &today, &m, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            rc = EX_SOFTWARE;
        }
        t[i] = ms_since(s);
        model_clear(&m);
    }
    if (rc == EX_OK)
        stats("all indicators (model_compute)", t, runs);

    struct ldate from = {today.y - 1, 1, 1}, to = {today.y - 1, 12, 31};
    for (int i = 0; i < runs && rc == EX_OK; i++) {
        struct b06_table tab;
        int64_t s = util_now_ms();
        if (rollup_table(conn, &from, &to, &to, NULL, &tab, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            rc = EX_SOFTWARE;
        }
        t[i] = ms_since(s);
        rates_table_clear(&tab);
    }
    if (rc == EX_OK)
        stats("report, previous calendar year", t, runs);
    free(t);
    PQfinish(conn);
    cfg_free(cfg);
    return rc;
}
