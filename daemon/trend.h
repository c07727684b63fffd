/* SPDX-License-Identifier: Apache-2.0 */
/* trend: the last TREND_DAYS days of the on-time and online-dossier ratios of every agency
 * (and ALL), per period kind, for the status page. Past days come from indicator_daily
 * (sql/0002_alerts.sql, written by the leader's alert code once a day), today from the
 * model being published, so today's point is exactly what /metrics shows. */
#ifndef ONESTOP_TREND_H
#define ONESTOP_TREND_H

#include <libpq-fe.h>
#include <stddef.h>

#include "model.h"
#include "period.h"

#define TREND_DAYS 90

/* One agency's ratios, index 0 = trend.first, TREND_DAYS - 1 = today; NaN = no value. */
struct trend_series {
    char *agency; /* owned; "ALL" for the province */
    double on_time[TREND_DAYS];
    double online[TREND_DAYS];
};

struct trend {
    struct ldate first;                    /* the day of index 0 */
    struct trend_series *series[PK_COUNT]; /* per period kind, sorted by agency (bytes) */
    size_t nseries[PK_COUNT];
};

/* One day's ratios of one agency in the current period of one kind on that day. */
struct trend_point {
    const char *agency; /* borrowed */
    enum period_kind kind;
    long day; /* index, 0 .. TREND_DAYS - 1 */
    double on_time, online;
};

/* Builds t for the TREND_DAYS days ending today from pts (any order; of two points for
 * the same agency, kind and day the later one in pts wins; points outside the window are
 * ignored). t is cleared first. 0, or -1 when out of memory (t is then empty). */
int trend_build(const struct ldate *today, const struct trend_point *pts, size_t n,
                struct trend *t);
/* Frees the contents; safe on a zeroed trend. */
void trend_clear(struct trend *t);
/* The series of agency ("ALL": the province) for kind, NULL when there is none. */
const struct trend_series *trend_find(const struct trend *t, enum period_kind kind,
                                      const char *agency);

/* The kind whose current period on day carries label (the period labels of /metrics),
 * or -1 when label names none of the three periods current on that day. */
int trend_kind_of(enum period_mode mode, const struct ldate *day, const char *label);

/* The computation thread's cache of the past days, read from the database once a day. */
struct trend_cache;

struct trend_cache *trend_cache_new(void);
void trend_cache_free(struct trend_cache *c);

/*
 * Builds *out for m->today: the past days as read from indicator_daily (read again when
 * the day or the period mode changed, or after a failed read; conn may be NULL, which
 * keeps what was read before), and today from m (nothing when m was never computed).
 * Runs on the main thread, on its connection. 0, or -1 with err when the read failed
 * (*out then still holds what is known).
 */
int trend_refresh(struct trend_cache *c, PGconn *conn, const struct model *m, struct trend *out,
                  char *err, size_t errlen);

#endif
