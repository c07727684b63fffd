/* SPDX-License-Identifier: Apache-2.0 */
/* compute: the computation thread (compute.h). */
#include "compute.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pgutil.h"
#include "metrics.h"
#include "store.h"

/* A lost database is tried again after this long, not on every wake-up. */
#define CMP_RETRY_MS 5000
#define CMP_STATEMENT_TIMEOUT "120s"

struct compute {
    /* Set once, or only by the thread while it holds run_mu. */
    struct snapshot *snap;
    struct alerts *alerts;
    struct site *site;
    const struct config *cfg; /* swapped under run_mu and mu */
    struct store *store;      /* the thread's own connection */
    struct model held;        /* the last model computed, shown while the database is away */
    struct log_complaint db_complaint;
    int64_t next_try_ms; /* when a lost connection may be tried again */
    int reconnect;       /* the database address changed (under mu) */

    pthread_mutex_t run_mu; /* held across a computation */
    pthread_mutex_t mu;     /* the fields below */
    pthread_cond_t cv;
    pthread_t thread;
    int started;
    int stop;
    int wake;
    int leader;
    struct source_status *src;
    size_t nsrc;
    int computed;       /* a computation has succeeded */
    int db_up;          /* the last computation reached the database (1 before the first) */
    int retry_now;      /* cmp_request: a lost connection may be tried again at once */
    uint64_t requested; /* cmp_request calls so far */
    uint64_t done;      /* requests a finished computation has covered */
    int64_t busy_since; /* monotonic ms, 0 = idle */
    int64_t next_ms;    /* the next timed computation */
    struct ldate day;   /* the local day of the last computation */
    PGcancel *cancel;   /* of the thread's connection, for cmp_free */
};

struct ldate cmp_today(const struct config *cfg)
{
    struct ldate d = ldate_from_time(time(NULL));
    if (cfg->as_of)
        ldate_parse(cfg->as_of, &d);
    return d;
}

struct compute *cmp_new(const struct config *cfg, struct snapshot *snap, struct alerts *alerts,
                        struct site *site)
{
    struct compute *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cfg = cfg;
    c->snap = snap;
    c->alerts = alerts;
    c->site = site;
    c->db_up = 1;
    pthread_mutex_init(&c->run_mu, NULL);
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    return c;
}

/* The thread's connection: replaced only with mu held, so cmp_free can cancel safely. */
static void set_store(struct compute *c, struct store *st)
{
    PGcancel *cancel = st ? PQgetCancel(store_conn(st)) : NULL;
    pthread_mutex_lock(&c->mu);
    PGcancel *prev = c->cancel;
    c->cancel = cancel;
    pthread_mutex_unlock(&c->mu);
    if (prev)
        PQfreeCancel(prev);
    store_free(c->store);
    c->store = st;
}

/* Opens the connection when it is missing, at most every CMP_RETRY_MS. */
static PGconn *ensure_conn(struct compute *c)
{
    char err[512];
    int64_t now = util_now_ms();
    if (c->store)
        return store_conn(c->store);
    if (now < c->next_try_ms)
        return NULL;
    struct store *st =
        store_open(c->cfg->db_conninfo, c->cfg->db_password, "onestopd-compute", err, sizeof err);
    if (!st) {
        log_complain(&c->db_complaint, LOG_LVL_ERR, "compute", "database: %s", err);
        c->next_try_ms = now + CMP_RETRY_MS;
        return NULL;
    }
    /* A computation takes milliseconds; one stuck on a lock gives up before the main loop
     * would call it stuck, and a reload or a stop cancels it sooner. */
    if (pg_exec_ok(store_conn(st), "SET statement_timeout = '" CMP_STATEMENT_TIMEOUT "'", err,
                   sizeof err) != 0)
        log_warn("compute", "%s", err);
    log_release(&c->db_complaint, "compute", "database connection established");
    set_store(c, st);
    return store_conn(st);
}

static int stopping(struct compute *c)
{
    pthread_mutex_lock(&c->mu);
    int r = c->stop;
    pthread_mutex_unlock(&c->mu);
    return r;
}

static int conn_alive(PGconn *conn)
{
    return conn && PQstatus(conn) == CONNECTION_OK && pg_exec_ok(conn, "SELECT 1", NULL, 0) == 0;
}

/*
 * One computation on conn (NULL: the database is away), shown with the sources and the
 * role given. While the database is away the last indicators stay on the page: a scrape
 * must not see every family vanish, only onestop_database_up fall to 0.
 * *alive says afterwards whether conn still answers.
 */
static int compute_on(struct compute *c, PGconn *conn, int leader, const struct source_status *st,
                      size_t nst, int publish_pages, struct buf *page_out, int *alive)
{
    struct model m, scratch, *show = &m;
    struct buf page;
    char err[1024];
    struct ldate today = cmp_today(c->cfg);
    int rc = -1;

    buf_init(&page);
    memset(&m, 0, sizeof m);
    memset(&scratch, 0, sizeof scratch);
    if (conn) {
        if (model_compute(conn, c->cfg, &today, &m, err, sizeof err) != 0) {
            log_err("rates", "%s", err);
            memset(&m, 0, sizeof m);
        } else {
            rc = 0;
        }
    }
    /* At stop the query was cancelled: publish nothing more, evaluate no alert. */
    if (stopping(c)) {
        model_clear(&m);
        *alive = conn != NULL;
        return -1;
    }
    if (rc != 0 && c->held.computed_at != 0)
        show = &c->held;
    *alive = rc == 0 || conn_alive(conn);
    if (!*alive)
        conn = NULL;
    show->leader = leader;
    show->database_up = conn != NULL;
    /* The leader evaluates the alert rules on a model that computed (a standby nothing);
     * fills m's alert families and the /api/v1/alerts snapshot either way. A held model
     * keeps the alerts it was shown with. */
    alert_run(c->alerts, conn, leader, c->cfg, show == &m ? &m : &scratch, st, nst, c->snap);
    if (met_render(show, st, nst, &page) != 0 || page.oom) {
        log_err("compute", "out of memory rendering /metrics");
        rc = -1;
    } else if (page_out) {
        buf_append(page_out, page.data, page.len);
    }
    /* The status pages come from the same model and source states. */
    if (publish_pages && site_publish(c->site, conn, c->cfg, &m, st, nst, c->snap) != 0)
        log_err("compute", "out of memory rendering the status page");
    if (!page.oom && page.len > 0) {
        size_t len;
        char *data = buf_steal(&page, &len);
        snapshot_set_metrics(c->snap, data, len);
    }
    buf_free(&page);
    model_clear(&scratch);
    if (rc == 0) {
        model_clear(&c->held);
        c->held = m;
    } else {
        model_clear(&m);
    }
    return rc;
}

/* A computation's inputs, copied with mu held: the role and the sources' states (*st
 * NULL when out of memory). */
static void take_inputs(struct compute *c, int *leader, struct source_status **st, size_t *nst)
{
    *leader = c->leader;
    *nst = c->nsrc;
    *st = malloc((c->nsrc ? c->nsrc : 1) * sizeof **st);
    if (*st && c->nsrc)
        memcpy(*st, c->src, c->nsrc * sizeof **st);
}

int cmp_run_here(struct compute *c, PGconn *conn, struct buf *page_out)
{
    int alive, rc = -1, leader;
    struct source_status *st;
    size_t n;
    pthread_mutex_lock(&c->run_mu);
    pthread_mutex_lock(&c->mu);
    take_inputs(c, &leader, &st, &n);
    pthread_mutex_unlock(&c->mu);
    if (!st)
        log_err("compute", "out of memory");
    else
        rc = compute_on(c, conn, leader, st, n, 0, page_out, &alive);
    free(st);
    pthread_mutex_unlock(&c->run_mu);
    return rc;
}

/* Waits for a reason to compute; 0 with the inputs copied, -1 when told to stop. mu held. */
static int await_turn(struct compute *c, int *leader, struct source_status **st, size_t *nst)
{
    for (;;) {
        if (c->stop)
            return -1;
        int64_t now = util_now_ms();
        struct ldate today = cmp_today(c->cfg);
        if (c->wake || now >= c->next_ms || ldate_cmp(&today, &c->day) != 0)
            break;
        /* At most a second, so that local midnight is seen in time. */
        int64_t wait = c->next_ms - now;
        if (wait > 1000)
            wait = 1000;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += wait / 1000;
        ts.tv_nsec += (wait % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    }
    c->wake = 0;
    take_inputs(c, leader, st, nst);
    return 0;
}

static void *run(void *arg)
{
    struct compute *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        int leader;
        struct source_status *st;
        size_t nst;
        if (await_turn(c, &leader, &st, &nst) != 0)
            break;
        uint64_t covers = c->requested;
        pthread_mutex_unlock(&c->mu);

        pthread_mutex_lock(&c->run_mu);
        int64_t start = util_now_ms();
        pthread_mutex_lock(&c->mu);
        c->busy_since = start ? start : 1;
        /* Read with run_mu held, so that they go with the configuration this
         * computation uses. */
        int reconnect = c->reconnect;
        c->reconnect = 0;
        if (c->retry_now)
            c->next_try_ms = 0;
        c->retry_now = 0;
        pthread_mutex_unlock(&c->mu);
        if (reconnect) {
            set_store(c, NULL);
            c->next_try_ms = 0;
        }
        int rc = -1, alive = 0;
        struct ldate day = cmp_today(c->cfg);
        if (!st) {
            log_err("compute", "out of memory");
            alive = c->store != NULL;
        } else {
            rc = compute_on(c, ensure_conn(c), leader, st, nst, 1, NULL, &alive);
            if (!alive && c->store) {
                log_warn("compute", "lost the database connection; reconnecting");
                set_store(c, NULL);
                c->next_try_ms = util_now_ms() + CMP_RETRY_MS;
            }
        }
        free(st);
        long interval_ms = c->cfg->metrics_interval_s * 1000;
        pthread_mutex_unlock(&c->run_mu);

        pthread_mutex_lock(&c->mu);
        c->busy_since = 0;
        c->day = day;
        c->db_up = alive;
        /* /readyz waits for a computation that succeeded, not one that failed. */
        if (rc == 0) {
            c->done = covers;
            c->computed = 1;
        }
        /* Without a database, try again soon rather than a whole interval later. */
        c->next_ms =
            util_now_ms() + (rc == 0 || interval_ms < CMP_RETRY_MS ? interval_ms : CMP_RETRY_MS);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int cmp_start(struct compute *c, char *err, size_t errlen)
{
    int e = pthread_create(&c->thread, NULL, run, c);
    if (e != 0) {
        snprintf(err, errlen, "cannot start the computation thread: %s", strerror(e));
        return -1;
    }
    c->started = 1;
    return 0;
}

void cmp_free(struct compute *c)
{
    if (!c)
        return;
    if (c->started) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        if (c->cancel) {
            char buf[128];
            PQcancel(c->cancel, buf, sizeof buf);
        }
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
    }
    set_store(c, NULL);
    model_clear(&c->held);
    free(c->src);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->run_mu);
    free(c);
}

void cmp_set_sources(struct compute *c, const struct source_status *st, size_t n)
{
    pthread_mutex_lock(&c->mu);
    if (n != c->nsrc) {
        struct source_status *p = realloc(c->src, (n ? n : 1) * sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&c->mu);
            return; /* the previous states stay shown */
        }
        c->src = p;
        c->nsrc = n;
    }
    if (n)
        memcpy(c->src, st, n * sizeof *st);
    pthread_mutex_unlock(&c->mu);
}

void cmp_set_leader(struct compute *c, int leader)
{
    pthread_mutex_lock(&c->mu);
    if (c->leader != leader) {
        c->leader = leader;
        c->wake = 1; /* a change of role shows at once */
        pthread_cond_signal(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
}

void cmp_request(struct compute *c)
{
    pthread_mutex_lock(&c->mu);
    c->wake = 1;
    c->retry_now = 1;
    c->requested++;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

void cmp_set_config(struct compute *c, const struct config *cfg)
{
    /* A computation waiting on a lock would hold up the reload (and the syncs behind it):
     * cancel it; the thread computes again at once with the new configuration. */
    pthread_mutex_lock(&c->mu);
    if (c->busy_since && c->cancel) {
        char buf[128];
        PQcancel(c->cancel, buf, sizeof buf);
    }
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_lock(&c->run_mu);
    pthread_mutex_lock(&c->mu);
    const struct config *old = c->cfg;
    if (strcmp(old->db_conninfo, cfg->db_conninfo) != 0 ||
        (old->db_password == NULL) != (cfg->db_password == NULL) ||
        (old->db_password && strcmp(old->db_password, cfg->db_password) != 0))
        c->reconnect = 1;
    c->cfg = cfg;
    c->wake = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_unlock(&c->run_mu);
}

void cmp_get_state(struct compute *c, struct cmp_state *out)
{
    pthread_mutex_lock(&c->mu);
    out->computed = c->computed;
    out->database_up = c->db_up;
    out->requested = c->requested;
    out->done = c->done;
    out->busy_ms = c->busy_since ? util_now_ms() - c->busy_since : 0;
    pthread_mutex_unlock(&c->mu);
}
