/* SPDX-License-Identifier: Apache-2.0 */
/* onestopd: main loop. The main thread owns scheduling, fetching and storing; the
 * computation runs on its own thread (compute.c); libmicrohttpd's threads only read the
 * snapshot (and the report API's own pool). */
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "adapter.h"
#include "alerts.h"
#include "api.h"
#include "cfgprint.h"
#include "cli.h"
#include "compute.h"
#include "config.h"
#include "fetch.h"
#include "http.h"
#include "log.h"
#include "model.h"
#include "rollcheck.h"
#include "rollup.h"
#include "sdnotify.h"
#include "snapshot.h"
#include "store.h"
#include "sync.h"
#include "util.h"
#include "version.h"

/* The config loader learns the adapters' keys and checks from the registry through these:
 * config.c itself knows no adapter. */
static const struct cfg_hooks cfg_adapters = {
    .adapter = adp_keys,
    .check = adp_check,
};

/* Signal handlers only set these. int: fetch polls the stop flag through a pointer. */
static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_reload;

struct src {
    struct adapter *ad;
    struct source_status st;
    int64_t next_ms; /* when the next sync is due (monotonic ms) */
};

struct daemon {
    struct cli_options cli;
    struct config *cfg;
    struct store *store;
    struct fetcher *fetcher;
    struct snapshot *snap;
    struct http_server *http;
    struct api *api;
    struct alerts *alerts;
    struct site *site; /* the status pages (GET /) */
    struct compute *cmp;
    struct source_status *stv; /* push_sources' copy of the sources' states */
    size_t nstv;
    struct src *srcs;
    size_t nsrcs;
    int leader;
    int ready;               /* READY=1 was sent */
    uint64_t synced_request; /* the computation request after every source first synced */
    int64_t next_db_try_ms;
    long db_backoff_ms;
    struct log_complaint db_complaint;
    uint64_t watchdog_usec;
    int64_t last_watchdog_ms;
    char last_status[256]; /* the STATUS= last sent to systemd */
};

/* Cancel request for the main connection's running query, so that a stop does not wait
 * for a long statement; PQcancel is documented as safe in a signal handler. */
static PGcancel *volatile g_cancel;

static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        g_reload = 1;
    } else {
        g_stop = 1;
        PGcancel *c = g_cancel;
        if (c) {
            char buf[128];
            int saved = errno;
            PQcancel(c, buf, sizeof buf);
            errno = saved;
        }
    }
}

/* The signals the main loop handles. main() blocks them until every thread is started
 * (the HTTP server's, the alert delivery thread): threads inherit the mask, so only the
 * main thread runs the handler, and its interrupted sleep sees the flag at once. */
static void mask_signals(int how, sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(how, &set, old);
}

static int install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a signal must cut the main loop's sleep short. */
    if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL) ||
        sigaction(SIGHUP, &sa, NULL))
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* Replaces the main store (NULL closes it) and its cancel handle, with the signals
 * blocked so the handler never sees a freed handle. */
static void set_store(struct daemon *d, struct store *st)
{
    sigset_t old;
    mask_signals(SIG_BLOCK, &old);
    PGcancel *prev = g_cancel;
    g_cancel = st ? PQgetCancel(store_conn(st)) : NULL;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prev)
        PQfreeCancel(prev);
    store_free(d->store);
    d->store = st;
}

static void free_sources(struct src *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        adp_free(s[i].ad);
    free(s);
}

/* Builds the adapters of cfg, keeping the counters of sources that keep their name. */
static int build_sources(const struct config *cfg, const struct src *old, size_t nold,
                         struct src **out, char *err, size_t errlen)
{
    struct src *s = calloc(cfg->nsources ? cfg->nsources : 1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < cfg->nsources; i++) {
        const struct source_cfg *sc = &cfg->sources[i];
        s[i].ad = adp_new(sc, err, errlen);
        if (!s[i].ad) {
            free_sources(s, i);
            return -1;
        }
        snprintf(s[i].st.name, sizeof s[i].st.name, "%s", sc->name);
        snprintf(s[i].st.adapter, sizeof s[i].st.adapter, "%s", sc->adapter);
        for (size_t j = 0; j < nold; j++)
            if (strcmp(old[j].st.name, sc->name) == 0 &&
                strcmp(old[j].st.adapter, sc->adapter) == 0) {
                s[i].st = old[j].st;
                s[i].next_ms = old[j].next_ms;
            }
    }
    *out = s;
    return 0;
}

/* Hands the computation every source's state at once: a computation must never see
 * some of them, or it would take the others' alerts for resolved. */
static void push_sources(struct daemon *d)
{
    if (d->nsrcs > d->nstv) {
        struct source_status *v = realloc(d->stv, d->nsrcs * sizeof *v);
        if (!v)
            return; /* the computation keeps the states it had */
        d->stv = v;
        d->nstv = d->nsrcs;
    }
    for (size_t i = 0; i < d->nsrcs; i++)
        d->stv[i] = d->srcs[i].st;
    cmp_set_sources(d->cmp, d->stv, d->nsrcs);
}

/* The role is the main connection's (it holds the writer's lock); the computation, which
 * evaluates the alerts on the leader only, learns of every change at once. */
static void set_leader(struct daemon *d, int leader)
{
    d->leader = leader;
    cmp_set_leader(d->cmp, leader);
}

/* A computation running this long is stuck: /healthz and the watchdog must say so. */
#define COMPUTE_STUCK_MS 300000

/* On the main thread after every stored page, every second while a page is awaited, and
 * every loop pass. */
static void heartbeat(void *ctx)
{
    struct daemon *d = ctx;
    int64_t now = util_now_ms();
    /* The page shows how a long sync gets on, not only where it ended. */
    push_sources(d);
    struct cmp_state cs;
    cmp_get_state(d->cmp, &cs);
    if (cs.busy_ms > COMPUTE_STUCK_MS)
        return;
    snapshot_heartbeat(d->snap);
    if (d->watchdog_usec && now - d->last_watchdog_ms >= (int64_t)(d->watchdog_usec / 2000)) {
        sdn_notify("WATCHDOG=1");
        d->last_watchdog_ms = now;
    }
}

static int all_synced(const struct daemon *d)
{
    for (size_t i = 0; i < d->nsrcs; i++)
        if (!d->srcs[i].st.synced)
            return 0;
    return 1;
}

static void publish_state(struct daemon *d)
{
    char status[256];
    unsigned long long records = 0;
    int up = 0;
    for (size_t i = 0; i < d->nsrcs; i++) {
        records += d->srcs[i].st.records_total;
        up += d->srcs[i].st.up;
    }
    snprintf(status, sizeof status, "%s; database %s; %d/%zu sources up; %llu records fetched",
             d->leader ? "leader" : "standby", d->store ? "up" : "down", up, d->nsrcs, records);
    /* A standby never syncs: it is ready once it serves indicators computed from the
     * database the leader fills. */
    struct cmp_state cs;
    int ready_sources;
    cmp_get_state(d->cmp, &cs);
    if (!d->leader) {
        ready_sources = cs.computed;
    } else if (!all_synced(d)) {
        ready_sources = 0;
    } else {
        /* Ready once the page shows the first complete sync, not before. */
        if (!d->synced_request)
            d->synced_request = cs.requested;
        ready_sources = cs.done >= d->synced_request;
    }
    snapshot_set_state(d->snap, d->store != NULL && cs.database_up, ready_sources, status);
    /* Every loop pass (about once a second) gets here: tell systemd only of a change. */
    if (strcmp(status, d->last_status) != 0) {
        sdn_notifyf("STATUS=%s", status);
        memcpy(d->last_status, status, sizeof d->last_status);
    }
}

/* The connection stopped answering: forget it (and the writer's lock with it). */
static void drop_store(struct daemon *d)
{
    if (!d->store)
        return;
    log_warn("main", "lost the database connection; reconnecting");
    set_store(d, NULL);
    set_leader(d, 0);
}

static int ensure_store(struct daemon *d)
{
    char err[512];
    int64_t now = util_now_ms();

    if (d->store && store_ping(d->store))
        return 0;
    drop_store(d);
    if (now < d->next_db_try_ms)
        return -1;
    struct store *st =
        store_open(d->cfg->db_conninfo, d->cfg->db_password, "onestopd", err, sizeof err);
    if (!st) {
        log_complain(&d->db_complaint, LOG_LVL_ERR, "main", "database: %s", err);
        d->db_backoff_ms = d->db_backoff_ms ? d->db_backoff_ms * 2 : 1000;
        if (d->db_backoff_ms > 30000)
            d->db_backoff_ms = 30000;
        d->next_db_try_ms = now + d->db_backoff_ms;
        return -1;
    }
    set_store(d, st);
    log_release(&d->db_complaint, "main", "database connection established");
    d->db_backoff_ms = 0;
    cmp_request(d->cmp);
    return 0;
}

static void update_leadership(struct daemon *d)
{
    char err[512];
    int was = d->leader;
    int r = store_try_leader(d->store, err, sizeof err);
    if (r < 0) {
        log_warn("main", "%s", err);
        set_leader(d, 0);
        return;
    }
    set_leader(d, r);
    if (d->leader && !was) {
        log_notice("main", "this instance is now the writer (leader)");
        /* A new leader syncs at once: the old one may have died mid-interval. */
        for (size_t i = 0; i < d->nsrcs; i++)
            d->srcs[i].next_ms = 0;
    } else if (!d->leader && was) {
        log_warn("main", "lost leadership; serving as standby");
    }
}

static void run_due_sources(struct daemon *d, int force)
{
    char err[1024];
    for (size_t i = 0; i < d->nsrcs && !g_stop; i++) {
        struct src *s = &d->srcs[i];
        int64_t now = util_now_ms();
        if (!force && now < s->next_ms)
            continue;
        int rc = sync_source(d->store, d->fetcher, s->ad, &s->st, (volatile int *)&g_stop,
                             heartbeat, d, err, sizeof err);
        long interval_ms = s->ad->cfg->interval_s * 1000;
        if (rc == 0) {
            s->next_ms = util_now_ms() + interval_ms;
        } else {
            log_err("sync", "%s: %s", s->st.name, err);
            /* Retry a failed source sooner than its interval, but not in a tight loop. */
            long retry =
                15000L << (s->st.consecutive_failures < 5 ? s->st.consecutive_failures : 5);
            s->next_ms = util_now_ms() + (retry < interval_ms ? retry : interval_ms);
            if (!store_ping(d->store))
                break;
        }
        push_sources(d);
        cmp_request(d->cmp);
    }
}

/* The [http] options of cfg, for http_start and http_reload. */
static struct http_options http_options_of(struct daemon *d, const struct config *cfg)
{
    struct http_options o = {
        .listen = cfg->http_listen,
        .max_connections = cfg->http_max_connections,
        .timeout_s = cfg->http_timeout_s,
        .header_timeout_s = cfg->http_header_timeout_s,
        .tls_cert_file = cfg->http_tls_cert_file,
        .tls_key_file = cfg->http_tls_key_file,
        .users_file = cfg->http_basic_auth_users_file,
        .snap = d->snap,
        .api = api_handle,
        .api_ctx = d->api,
        /* The main loop beats at least every second outside long syncs, and after every
         * page (and about every second of a request) inside them; only a database call
         * keeps it quiet, or a computation that has run five minutes (heartbeat()), and
         * five minutes of silence means it is stuck. */
        .stale_after_s = 300,
    };
    return o;
}

static void reload(struct daemon *d)
{
    struct config *ncfg = NULL;
    struct src *nsrcs = NULL;
    char err[1024];

    sdn_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)sdn_monotonic_usec());
    log_notice("main", "reloading %s", d->cli.config_path);
    if (cfg_load(d->cli.config_path, &cfg_adapters, &ncfg, err, sizeof err) != 0) {
        log_err("main", "reload failed, keeping the old configuration: %s", err);
        goto done;
    }
    if (build_sources(ncfg, d->srcs, d->nsrcs, &nsrcs, err, sizeof err) != 0) {
        log_err("main", "reload failed, keeping the old configuration: %s", err);
        cfg_free(ncfg);
        goto done;
    }
    char keys[256];
    if (cfg_restart_keys(d->cfg, ncfg, keys, sizeof keys) > 0)
        log_warn("main", "%s change(s) take effect at the next restart", keys);
    /* The certificate and the users are re-read now, the listener kept. */
    struct http_options ho = http_options_of(d, ncfg);
    if (http_reload(d->http, &ho, err, sizeof err) != 0)
        log_err("main", "%s", err);
    if (strcmp(ncfg->db_conninfo, d->cfg->db_conninfo) != 0 ||
        (ncfg->db_password == NULL) != (d->cfg->db_password == NULL) ||
        (ncfg->db_password && strcmp(ncfg->db_password, d->cfg->db_password) != 0)) {
        set_store(d, NULL);
        set_leader(d, 0);
        d->next_db_try_ms = 0;
    }
    free_sources(d->srcs, d->nsrcs);
    d->srcs = nsrcs;
    d->nsrcs = ncfg->nsources;
    push_sources(d);
    /* Waits for a running computation, which reads the old configuration. */
    cmp_set_config(d->cmp, ncfg);
    cfg_free(d->cfg);
    d->cfg = ncfg;
    if (d->api)
        api_update(d->api, ncfg);
    if (!d->cli.log_level && ncfg->log_level) {
        enum log_level lvl;
        if (log_parse_level(ncfg->log_level, &lvl) == 0)
            log_set_level(lvl);
    }
    log_notice("main", "configuration reloaded: %zu source(s)", d->nsrcs);
done:
    /* Answers RELOADING=1; before the first READY=1 the start-up still owes it. */
    if (d->ready)
        sdn_notify("READY=1");
}

/* Sleeps up to ms, cut short by any signal. The signals stay blocked from the check of
 * the flags until pselect() unblocks them atomically, so one that comes in between ends
 * the sleep at once instead of being noticed a second later. */
static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    sigset_t old;

    mask_signals(SIG_BLOCK, &old);
    if (!g_stop && !g_reload)
        pselect(0, NULL, NULL, NULL, &ts, &old);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static int64_t next_event_ms(const struct daemon *d)
{
    int64_t next = INT64_MAX;
    if (d->leader)
        for (size_t i = 0; i < d->nsrcs; i++)
            if (d->srcs[i].next_ms < next)
                next = d->srcs[i].next_ms;
    return next;
}

static int run_loop(struct daemon *d)
{
    while (!g_stop) {
        if (g_reload) {
            g_reload = 0;
            reload(d);
        }
        if (ensure_store(d) == 0) {
            /* Ready once HTTP listens and the migrations ran. */
            if (!d->ready) {
                sdn_notify("READY=1");
                d->ready = 1;
            }
            /* A change of role wakes the computation, so it shows on /metrics before a
             * possibly long catch-up sync. */
            update_leadership(d);
            if (d->leader)
                run_due_sources(d, 0);
        }
        publish_state(d);
        heartbeat(d);
        int64_t wait = next_event_ms(d) - util_now_ms();
        if (!d->store && d->next_db_try_ms - util_now_ms() < wait)
            wait = d->next_db_try_ms - util_now_ms();
        if (wait > 1000)
            wait = 1000; /* stay responsive to the watchdog and the clock */
        if (wait > 0 && !g_stop && !g_reload)
            nap((long)wait);
    }
    sdn_notify("STOPPING=1");
    log_notice("main", "stopping");
    return EX_OK;
}

static int run_once(struct daemon *d)
{
    struct buf page;
    int rc = EX_OK;

    if (ensure_store(d) != 0)
        return EX_UNAVAILABLE;
    update_leadership(d);
    if (!d->leader)
        log_warn("main", "another instance is the writer; computing without syncing");
    else
        run_due_sources(d, 1);
    for (size_t i = 0; i < d->nsrcs; i++)
        if (!d->srcs[i].st.up && d->leader)
            rc = EX_UNAVAILABLE;
    push_sources(d);
    buf_init(&page);
    if (cmp_run_here(d->cmp, store_conn(d->store), &page) != 0)
        rc = EX_UNAVAILABLE;
    if (page.len > 0)
        fwrite(page.data, 1, page.len, stdout);
    buf_free(&page);
    fflush(stdout);
    return g_stop ? EX_TEMPFAIL : rc;
}

static int start_http(struct daemon *d)
{
    char err[512];
    struct http_options o = http_options_of(d, d->cfg);
    d->http = http_start(&o, err, sizeof err);
    if (!d->http) {
        log_err("http", "%s", err);
        return -1;
    }
    log_notice("http", "listening on %s (%s)", d->cfg->http_listen,
               http_is_tls(d->http) ? "HTTPS" : "HTTP");
    return 0;
}

static int setup(struct daemon *d)
{
    char err[1024];
    d->fetcher = fetch_new();
    d->snap = snapshot_new();
    d->api = api_new(d->cfg);
    d->alerts = alert_new(d->cli.once); /* threads after curl_global_init; --once: inert */
    d->site = site_new();
    d->cmp = d->snap && d->alerts && d->site ? cmp_new(d->cfg, d->snap, d->alerts, d->site) : NULL;
    if (!d->fetcher || !d->snap || !d->api || !d->alerts || !d->site || !d->cmp) {
        log_err("main", "out of memory");
        return EX_OSERR;
    }
    fetch_set_stop_flag(d->fetcher, (volatile int *)&g_stop);
    fetch_set_tick(d->fetcher, heartbeat, d);
    if (build_sources(d->cfg, NULL, 0, &d->srcs, err, sizeof err) != 0) {
        log_err("main", "%s", err);
        return EX_CONFIG;
    }
    d->nsrcs = d->cfg->nsources;
    /* Before its first computation: with no source at all, the leader would take every
     * source alert that fired before the restart for resolved. */
    push_sources(d);
    uint64_t usec;
    if (sdn_watchdog_usec(&usec))
        d->watchdog_usec = usec;
    return EX_OK;
}

static void teardown(struct daemon *d)
{
    api_cancel_all(d->api);
    http_stop(d->http);
    cmp_free(d->cmp);      /* it writes to the alerts, the pages and the snapshot */
    alert_free(d->alerts); /* before the store: unsent notifications stay queued there */
    api_free(d->api);
    site_free(d->site);
    free_sources(d->srcs, d->nsrcs);
    free(d->stv);
    set_store(d, NULL);
    fetch_free(d->fetcher);
    snapshot_free(d->snap);
    cfg_free(d->cfg);
}

static int load_config(struct daemon *d)
{
    char err[1024];
    if (cfg_load(d->cli.config_path, &cfg_adapters, &d->cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return EX_CONFIG;
    }
    enum log_level lvl = LOG_LVL_INFO;
    const char *name = d->cli.log_level ? d->cli.log_level : d->cfg->log_level;
    if (name)
        log_parse_level(name, &lvl);
    log_set_level(lvl);
    return EX_OK;
}

static int migrate_only(struct daemon *d)
{
    char err[1024];
    struct store *st =
        store_open(d->cfg->db_conninfo, d->cfg->db_password, "onestopd-migrate", err, sizeof err);
    if (!st) {
        log_err("main", "%s", err);
        return EX_UNAVAILABLE;
    }
    store_free(st);
    log_notice("main", "the database schema is up to date");
    return EX_OK;
}

/* --rebuild-rollups and --check-rollups: one connection (migrated), one job, exit. */
static int rollup_job(struct daemon *d)
{
    char err[1024];
    int rc = EX_OK;
    struct store *st =
        store_open(d->cfg->db_conninfo, d->cfg->db_password, "onestopd-rollups", err, sizeof err);
    if (!st) {
        log_err("main", "%s", err);
        return EX_UNAVAILABLE;
    }
    if (d->cli.action == CLI_REBUILD_ROLLUPS) {
        int64_t start = util_now_ms();
        if (rollup_rebuild(store_conn(st), err, sizeof err) != 0) {
            log_err("main", "%s", err);
            rc = EX_UNAVAILABLE;
        } else {
            log_notice("main", "rollups rebuilt from the stored records in %.1f s",
                       (double)(util_now_ms() - start) / 1000.0);
        }
    } else {
        size_t n = d->cli.ndays > 0 ? (size_t)d->cli.ndays : 1;
        struct ldate *days = calloc(n, sizeof *days);
        if (!days) {
            store_free(st);
            return EX_OSERR;
        }
        days[0] = cmp_today(d->cfg);
        for (int i = 0; i < d->cli.ndays; i++)
            ldate_parse(d->cli.days[i], &days[i]);
        long diff = rollcheck_run(store_conn(st), days, n, stdout, err, sizeof err);
        if (diff < 0) {
            log_err("main", "%s", err);
            rc = EX_UNAVAILABLE;
        } else if (diff > 0) {
            rc = 1; /* like diff(1): the rollups disagree */
        }
        free(days);
        fflush(stdout);
    }
    store_free(st);
    return rc;
}

int main(int argc, char **argv)
{
    struct daemon d;
    char err[512];
    int rc;

    memset(&d, 0, sizeof d);
    if (cli_parse(argc, argv, &d.cli, err, sizeof err) != 0) {
        fprintf(stderr, "onestopd: %s\nTry 'onestopd --help'.\n", err);
        return EX_USAGE;
    }
    switch (d.cli.action) {
    case CLI_HELP:
        cli_usage(stdout);
        return EX_OK;
    case CLI_VERSION:
        printf("onestopd %s\n", ONESTOP_VERSION);
        return EX_OK;
    case CLI_PRINT_REFERENCE:
        cfg_print_reference(&cfg_adapters, stdout);
        return EX_OK;
    default:
        break;
    }
    if ((rc = load_config(&d)) != EX_OK)
        return rc;
    if (d.cli.action == CLI_CHECK_CONFIG) {
        printf("%s: OK\n", d.cli.config_path);
        cfg_free(d.cfg);
        return EX_OK;
    }
    if (d.cli.action == CLI_PRINT_CONFIG) {
        cfg_print(d.cfg, stdout);
        cfg_free(d.cfg);
        return EX_OK;
    }
    /* Until the threads are started; unblocked below, on the main thread only. */
    mask_signals(SIG_BLOCK, NULL);
    if (install_signals() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        log_err("main", "initialisation failed: %s", strerror(errno));
        cfg_free(d.cfg);
        return EX_OSERR;
    }
    if (d.cli.action == CLI_MIGRATE || d.cli.action == CLI_REBUILD_ROLLUPS ||
        d.cli.action == CLI_CHECK_ROLLUPS) {
        mask_signals(SIG_UNBLOCK, NULL);
        rc = d.cli.action == CLI_MIGRATE ? migrate_only(&d) : rollup_job(&d);
        cfg_free(d.cfg);
        curl_global_cleanup();
        return rc;
    }
    log_notice("main", "onestopd %s starting (%zu source(s))", ONESTOP_VERSION, d.cfg->nsources);
    rc = setup(&d);
    if (rc == EX_OK) {
        if (d.cli.once) {
            mask_signals(SIG_UNBLOCK, NULL); /* a signal that came meanwhile runs now */
            rc = run_once(&d);
        } else if (start_http(&d) != 0) {
            rc = EX_OSERR;
        } else if (cmp_start(d.cmp, err, sizeof err) != 0) {
            log_err("main", "%s", err);
            rc = EX_OSERR;
        } else {
            mask_signals(SIG_UNBLOCK, NULL);
            rc = run_loop(&d);
        }
    }
    teardown(&d);
    curl_global_cleanup();
    return rc;
}
