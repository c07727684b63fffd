/* SPDX-License-Identifier: Apache-2.0 */
/* compute: computes every indicator, evaluates the alert rules and renders /metrics and
 * the status pages, on a thread of its own with a database connection of its own, so that
 * a slow query never holds up a sync and a long sync never holds up the snapshot. */
#ifndef ONESTOP_COMPUTE_H
#define ONESTOP_COMPUTE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "alerts.h"
#include "config.h"
#include "model.h"
#include "site.h"
#include "snapshot.h"
#include "util.h"

struct compute;

/* The outputs snap, alerts and site must outlive the compute object; cfg is borrowed
 * until cmp_set_config replaces it. NULL when out of memory. */
struct compute *cmp_new(const struct config *cfg, struct snapshot *snap, struct alerts *alerts,
                        struct site *site);
/* Stops the thread (a running query is cancelled) and closes its connection. NULL-safe. */
void cmp_free(struct compute *c);

/* Starts the thread: it computes at once, then every [metrics] interval, whenever
 * cmp_request is called, and when the local day changes. 0, or -1 with err. */
int cmp_start(struct compute *c, char *err, size_t errlen);

/* What the next computation shows of the n sources (copied, all at once), and of the
 * role. */
void cmp_set_sources(struct compute *c, const struct source_status *st, size_t n);
void cmp_set_leader(struct compute *c, int leader);
/* Data changed (or the database came back): compute as soon as the thread is free, and
 * try a lost connection again at once. */
void cmp_request(struct compute *c);
/* Swaps the configuration, waiting for a running computation to end, so the caller may
 * free the old one on return. A new database address reconnects. */
void cmp_set_config(struct compute *c, const struct config *cfg);

/* The day the indicators are computed for: [metrics] as_of, or today's local date. */
struct ldate cmp_today(const struct config *cfg);

/* What the main loop reads of the computation, in one go. */
struct cmp_state {
    int computed;    /* a computation has succeeded (a standby is ready then) */
    int database_up; /* 0 when the last computation found the database unreachable, as
                      * onestop_database_up said: /readyz must agree with the page */
    /* cmp_request calls so far, and how many of them a computation that succeeded (and
     * was published) has followed: the leader is ready only once the one after its
     * first complete sync is on the page. */
    uint64_t requested, done;
    int64_t busy_ms; /* how long the running computation has taken so far, 0 = none: a
                      * thread stuck in one must not look alive */
};
void cmp_get_state(struct compute *c, struct cmp_state *out);

/* One computation on the caller's thread and connection (onestopd --once): renders into
 * the snapshot and appends the /metrics page to page_out (may be NULL). 0, or -1 when
 * the computation failed. */
int cmp_run_here(struct compute *c, PGconn *conn, struct buf *page_out);

#endif
