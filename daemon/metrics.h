/* SPDX-License-Identifier: Apache-2.0 */
/* met: renders the model into the Prometheus text exposition format 0.0.4. */
#ifndef ONESTOP_METRICS_H
#define ONESTOP_METRICS_H

#include <stddef.h>

#include "model.h"
#include "util.h"

#define MET_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Appends every onestop_* family (HELP and TYPE lines, then samples) to out. m may be
 * a model that was never computed (computed_at == 0): then only the self-metrics of
 * the sources and the build info are written. Returns 0, -1 on allocation failure.
 */
int met_render(const struct model *m, const struct source_status *src, size_t nsrc,
               struct buf *out);

/* Appends the process_* family (resident memory, CPU seconds, open fds, start time,
 * virtual memory, max fds) read from /proc/self now. 0 or -1. */
int met_render_process(struct buf *out);

/* The ratio that target indicator ind compares for row r (of any period table; agency
 * "ALL" is the province), as onestop_target_met uses it: the row's own ratio, or the
 * agency's catalogue ratio. NaN when absent. Shared so the status page shows the same. */
double met_indicator_ratio(const struct model *m, enum target_indicator ind,
                           const struct b06_row *r, const char *agency);
/* 1 when ratio meets target (>=; strictly > for on_time), 0 when not, -1 when either
 * is NaN (onestop_target_met is then absent). */
int met_target_met(enum target_indicator ind, double ratio, double target);
/* The HTTP endpoint's own counters, read at each scrape. */
/* The endpoint's handlers, as the handler label names them. */
enum met_handler {
    MET_H_METRICS,
    MET_H_PAGE,
    MET_H_HEALTHZ,
    MET_H_READYZ,
    MET_H_ALERTS,
    MET_H_REPORT,
    MET_H_OVERDUE,
    MET_H_OVERDUE_PAGE,
    MET_H_OTHER,
    MET_H_COUNT
};
extern const char *const met_handler_names[MET_H_COUNT];
/* Status codes are counted exactly from 100 to 599. */
#define MET_HTTP_CODES 600

struct met_http {
    unsigned long long auth_failures; /* answers 401 */
    /* Answers by handler and status code, and the size of each handler's last answer
     * (bytes sent, compressed when it was); NULL when not counted. */
    const unsigned long long (*requests)[MET_HTTP_CODES];
    const unsigned long long *last_size;
    const int *answered; /* the handler answered at least once: its size is known */
};

/* Appends the onestop_http_* families (the endpoint's self-metrics). 0 or -1. */
int met_render_http(const struct met_http *s, struct buf *out);

/* Appends a label value escaped per the text format (\\, \", \n). */
void met_escape_label(struct buf *out, const char *v);
/* Formats a sample value: integers without exponent, NaN/Inf as Prometheus spells them. */
void met_format_value(struct buf *out, double v);

#endif
