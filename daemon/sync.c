/* SPDX-License-Identifier: Apache-2.0 */
/* sync: the page loop between an adapter and the store. */
#include "sync.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

/* A catalogue larger than this many pages is a server paging bug, not data. */
#define SYNC_MAX_WHOLE_PAGES 10000

void sync_fetch_opts(const struct source_cfg *cfg, struct fetch_opts *o)
{
    memset(o, 0, sizeof *o);
    o->timeout_ms = cfg->timeout_s * 1000;
    o->connect_timeout_ms = cfg->timeout_s * 1000 < 10000 ? cfg->timeout_s * 1000 : 10000;
    o->max_retries = (int)cfg->max_retries;
    o->backoff_base_ms = 500;
    o->backoff_max_ms = cfg->backoff_max_s * 1000;
    o->max_body_bytes = cfg->max_body;
}

/* "yyyyMMddHHmmss" minus seconds, in place-safe output; 0, or -1 for a bad time. */
static int sync_time_minus(const char *t, long seconds, char out[15])
{
    struct ldate d;
    char iso[20];
    int hh, mi, ss;
    if (util_dvc_time(t, iso) != 0 || sscanf(iso + 11, "%d:%d:%d", &hh, &mi, &ss) != 3)
        return -1;
    d.y = atoi(iso);
    d.m = atoi(iso + 5);
    d.d = atoi(iso + 8);
    long long at = (long long)ldate_to_days(&d) * 86400 + hh * 3600 + mi * 60 + ss - seconds;
    if (at < 0)
        at = 0;
    struct ldate nd = ldate_from_days((long)(at / 86400));
    long rest = (long)(at % 86400);
    char buf[32];
    snprintf(buf, sizeof buf, "%04d%02d%02d%02ld%02ld%02ld", nd.y, nd.m, nd.d, rest / 3600,
             rest / 60 % 60, rest % 60);
    memcpy(out, buf, 15);
    return 0;
}

static void count_batch(struct source_status *st, const struct record_batch *b)
{
    st->records_total += b->nitems;
    for (size_t i = 0; i < b->nrejs; i++)
        st->rejected[b->rejs[i].reason]++;
}

/* Strictly after: the server starts each page after the cursor it was given. */
static int cursor_after(const struct record_batch *b, const char *time, const char *key)
{
    int c = strcmp(b->cursor_time, time);
    if (c != 0)
        return c > 0;
    return strcmp(b->cursor_key ? b->cursor_key : "", key ? key : "") > 0;
}

static int fetch_page(struct fetcher *f, struct adapter *ad, const struct fetch_opts *o,
                      const struct feed_desc *fd, const struct feed_cursor *cur, long page,
                      struct record_batch *b, int *more, char *err, size_t errlen)
{
    json_t *root = NULL;
    struct jsplit_page split = {0};
    int rc = -1;
    char *url = ad->ops->page_url(ad, fd, cur, page);
    if (!url) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (fetch_json_page(f, o, url, ad->ops->authorize, ad, fd->items, &root, &split, NULL, err,
                        errlen) != 0)
        goto cleanup;
    if (ad->ops->parse(fd, root, b, more, err, errlen) != 0)
        goto cleanup;
    /* The items that did not decode, in quarantine; the page goes on without them. */
    for (size_t i = 0; i < split.nitems; i++) {
        const struct jsplit_item *it = &split.items[i];
        if (it->value)
            continue;
        if (rec_batch_reject_undecodable(b, it->raw, it->len, it->key, it->time, it->err) != 0) {
            snprintf(err, errlen, "out of memory");
            goto cleanup;
        }
        b->nitems++;
    }
    rc = 0;
cleanup:
    jsplit_page_free(&split);
    json_decref(root);
    free(url);
    return rc;
}

struct sync_run {
    struct store *store;
    struct fetcher *f;
    struct adapter *ad;
    struct source_status *st;
    volatile int *stop;
    sync_tick_fn tick;
    void *tick_ctx;
};

/*
 * The pipeline of a keyset feed: a fetch thread fetches and decodes page n + 1 (its
 * position is known as soon as page n is decoded) while the calling thread stores page
 * n. The queue holds at most SYNC_QUEUE_DEPTH decoded pages, so memory stays flat
 * whatever the length of the feed; each page is still stored, with its cursor, in its
 * own transaction and in order.
 */
#define SYNC_QUEUE_DEPTH 2

/* A decoded page and its staging rows, rendered by the fetch thread. */
struct sync_page {
    struct record_batch b;
    struct store_rows rows;
};

static void sync_page_clear(struct sync_page *pg)
{
    rec_batch_clear(&pg->b);
    store_rows_free(&pg->rows);
}

struct sync_pipe {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a page was queued or taken, or the fetcher ended */
    struct sync_page pages[SYNC_QUEUE_DEPTH];
    size_t head, count;
    int done; /* the fetch thread has queued its last page */
    int rc;   /* its outcome: 0, or -1 with err */
    char err[1024];
    volatile int cancel; /* the fetch thread's stop flag: set to stop it early */
    /* Stored pages, handed back to the fetch thread: it frees their records (its own
     * allocations, so no other thread contends for its malloc arena) and reuses their
     * staging buffers, several hundred kilobytes each, rather than allocate afresh. */
    struct sync_page spare[SYNC_QUEUE_DEPTH + 1];
    size_t nspare;
    /* Read by the fetch thread only. */
    const struct sync_run *run;
    const struct feed_desc *fd;
    struct feed_cursor cur;
    char *key; /* owns cur.key */
};

static void *sync_fetch_thread(void *arg)
{
    struct sync_pipe *p = arg;
    const struct sync_run *run = p->run;
    const struct source_cfg *cfg = run->ad->cfg;
    struct fetch_opts o;
    char err[1024] = "";
    int rc = 0;

    sync_fetch_opts(cfg, &o);
    for (;;) {
        struct record_batch b;
        int more = 0, full, advanced;

        rec_batch_init(&b, p->fd->kind);
        if (p->cancel) {
            snprintf(err, sizeof err, "interrupted");
            rc = -1;
            break;
        }
        if (fetch_page(run->f, run->ad, &o, p->fd, &p->cur, 0, &b, &more, err, sizeof err) != 0) {
            rec_batch_clear(&b);
            rc = -1;
            break;
        }
        /* A short page is the end of what the server has now; a full page must move the
         * cursor, or we would ask for it forever. Either way the page is stored first. */
        full = b.nitems >= (size_t)cfg->page_size;
        advanced = b.cursor_time[0] && cursor_after(&b, p->cur.time, p->cur.key);
        if (full && !advanced) {
            snprintf(err, sizeof err, "%s: a full page did not advance the cursor past (%s, %s)",
                     p->fd->name, p->cur.time, p->cur.key ? p->cur.key : "");
            rc = -1;
        } else if (full) {
            char *key = xstrdup(b.cursor_key ? b.cursor_key : "");
            if (!key) {
                snprintf(err, sizeof err, "out of memory");
                rc = -1;
            } else {
                memcpy(p->cur.time, b.cursor_time, sizeof p->cur.time);
                free(p->key);
                p->key = key;
                p->cur.key = key;
            }
        }
        struct store_rows rows;
        struct sync_page done[ARRAY_LEN(p->spare)];
        size_t ndone;
        pthread_mutex_lock(&p->lock);
        ndone = p->nspare;
        memcpy(done, p->spare, ndone * sizeof *done);
        p->nspare = 0;
        pthread_mutex_unlock(&p->lock);
        store_rows_init(&rows);
        for (size_t i = 0; i < ndone; i++) {
            rec_batch_clear(&done[i].b);
            if (i == 0)
                rows = done[i].rows;
            else
                store_rows_free(&done[i].rows);
        }
        store_rows_render(&b, &rows);
        if (!rows.recs.oom)
            rec_batch_strip(&b); /* the staging text holds them now */
        pthread_mutex_lock(&p->lock);
        while (p->count == SYNC_QUEUE_DEPTH && !p->cancel)
            pthread_cond_wait(&p->changed, &p->lock);
        if (p->cancel) {
            pthread_mutex_unlock(&p->lock);
            rec_batch_clear(&b);
            store_rows_free(&rows);
            snprintf(err, sizeof err, "interrupted");
            rc = -1;
            break;
        }
        p->pages[(p->head + p->count) % SYNC_QUEUE_DEPTH] = (struct sync_page){b, rows};
        p->count++;
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
        if (!full || rc != 0)
            break;
    }
    pthread_mutex_lock(&p->lock);
    p->done = 1;
    p->rc = rc;
    snprintf(p->err, sizeof p->err, "%s", err);
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Waits up to a second for the next page. 1 with *pg filled, 0 when the fetch thread has
 * ended and nothing is left, -1 when the second passed. */
static int sync_next_page(struct sync_pipe *p, struct sync_page *pg)
{
    struct timespec until;
    int got = -1;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    pthread_mutex_lock(&p->lock);
    while (p->count == 0 && !p->done)
        if (pthread_cond_timedwait(&p->changed, &p->lock, &until) != 0)
            break;
    if (p->count > 0) {
        *pg = p->pages[p->head];
        p->head = (p->head + 1) % SYNC_QUEUE_DEPTH;
        p->count--;
        pthread_cond_broadcast(&p->changed);
        got = 1;
    } else if (p->done) {
        got = 0;
    }
    pthread_mutex_unlock(&p->lock);
    return got;
}

static void sync_pipe_stop(struct sync_pipe *p)
{
    pthread_mutex_lock(&p->lock);
    p->cancel = 1;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

static int sync_keyset(const struct sync_run *run, const struct feed_desc *fd, char *err,
                       size_t errlen)
{
    const struct source_cfg *cfg = run->ad->cfg;
    struct sync_pipe p;
    pthread_t thread;
    sigset_t all, old;
    int rc = -1, pages = 0, started;
    size_t stored = 0;
    int64_t waited_ms = 0;

    memset(&p, 0, sizeof p);
    p.run = run;
    p.fd = fd;
    if (store_get_cursor(run->store, cfg->name, fd->name, p.cur.time, &p.key, err, errlen) != 0)
        return SYNC_DB_ERROR;
    p.cur.key = p.key;
    if (cfg->overlap_s > 0 && p.cur.time[0] &&
        sync_time_minus(p.cur.time, cfg->overlap_s, p.cur.time) == 0) {
        /* From an earlier instant, inclusive: everything since is read again. */
        p.cur.key = "";
    }
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.changed, NULL);
    /* The fetch thread owns the fetcher (and the adapter) until it is joined: its retry
     * loop polls the pipe's flag, and the heartbeat stays on this thread, which beats
     * while it waits. The thread takes no signal: they are the main thread's. */
    fetch_set_stop_flag(run->f, &p.cancel);
    fetch_set_tick(run->f, NULL, NULL);
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    started = pthread_create(&thread, NULL, sync_fetch_thread, &p) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!started) {
        snprintf(err, errlen, "cannot start the fetch thread");
        goto cleanup;
    }
    for (;;) {
        struct sync_page pg;
        int64_t t0 = util_now_ms();
        int got = sync_next_page(&p, &pg);
        waited_ms += util_now_ms() - t0;
        if (run->stop && *run->stop) {
            if (got == 1)
                sync_page_clear(&pg);
            snprintf(err, errlen, "interrupted");
            goto cleanup;
        }
        if (got < 0) {
            if (run->tick)
                run->tick(run->tick_ctx); /* a slow fetch: still alive */
            continue;
        }
        if (got == 0) {
            if (p.rc != 0) {
                snprintf(err, errlen, "%s", p.err);
                goto cleanup;
            }
            break;
        }
        int page_rc = store_keyset_page(run->store, cfg->name, fd, &pg.b, &pg.rows, err, errlen);
        if (page_rc == 0) {
            count_batch(run->st, &pg.b);
            pages++;
            stored += pg.b.nrecs;
        }
        pthread_mutex_lock(&p.lock);
        if (p.nspare < ARRAY_LEN(p.spare)) {
            p.spare[p.nspare++] = pg;
            pg.rows = (struct store_rows){0};
            rec_batch_init(&pg.b, fd->kind);
        }
        pthread_mutex_unlock(&p.lock);
        sync_page_clear(&pg);
        if (page_rc != 0) {
            rc = SYNC_DB_ERROR;
            goto cleanup;
        }
        if (run->tick)
            run->tick(run->tick_ctx);
    }
    /* How long this thread waited for decoded pages: near 0, the database is the bottleneck. */
    log_info("sync", "%s/%s: %d page(s), %zu record(s) stored; %ld ms waiting for pages", cfg->name,
             fd->name, pages, stored, (long)waited_ms);
    rc = 0;
cleanup:
    if (started) {
        sync_pipe_stop(&p);
        pthread_join(thread, NULL);
    }
    for (size_t i = 0; i < p.count; i++)
        sync_page_clear(&p.pages[(p.head + i) % SYNC_QUEUE_DEPTH]);
    for (size_t i = 0; i < p.nspare; i++)
        sync_page_clear(&p.spare[i]);
    fetch_set_stop_flag(run->f, run->stop);
    fetch_set_tick(run->f, run->tick, run->tick_ctx);
    pthread_cond_destroy(&p.changed);
    pthread_mutex_destroy(&p.lock);
    free(p.key);
    return rc;
}

static int sync_whole(const struct sync_run *run, const struct feed_desc *fd, char *err,
                      size_t errlen)
{
    struct adapter *ad = run->ad;
    struct fetch_opts o;
    struct record_batch all, page;
    int rc = -1, more = 1;
    long n = 0;

    sync_fetch_opts(ad->cfg, &o);
    rec_batch_init(&all, fd->kind);
    rec_batch_init(&page, fd->kind);
    for (n = 0; more; n++) {
        if (run->stop && *run->stop) {
            snprintf(err, errlen, "interrupted");
            goto cleanup;
        }
        if (n >= SYNC_MAX_WHOLE_PAGES) {
            snprintf(err, errlen, "%s: more than %d pages", fd->name, SYNC_MAX_WHOLE_PAGES);
            goto cleanup;
        }
        more = 0;
        if (fetch_page(run->f, ad, &o, fd, NULL, n, &page, &more, err, errlen) != 0)
            goto cleanup;
        if (run->tick)
            run->tick(run->tick_ctx);
        all.nitems += page.nitems;
        if (rec_batch_move(&all, &page) != 0) {
            snprintf(err, errlen, "out of memory");
            goto cleanup;
        }
    }
    if (store_replace_whole(run->store, ad->cfg->name, fd, &all, err, errlen) != 0) {
        rc = SYNC_DB_ERROR;
        goto cleanup;
    }
    count_batch(run->st, &all);
    log_info("sync", "%s/%s: %ld page(s), %zu record(s) replaced", ad->cfg->name, fd->name, n,
             all.nrecs);
    rc = 0;
cleanup:
    rec_batch_clear(&page);
    rec_batch_clear(&all);
    return rc;
}

int sync_source(struct store *store, struct fetcher *f, struct adapter *ad,
                struct source_status *st, volatile int *stop, sync_tick_fn tick, void *tick_ctx,
                char *err, size_t errlen)
{
    const struct sync_run run = {store, f, ad, st, stop, tick, tick_ctx};
    const struct feed_desc *feeds[4];
    size_t n = ad->ops->feeds(ad, feeds, ARRAY_LEN(feeds));
    int rc = 0;
    int64_t start = util_now_ms();
    double started = (double)time(NULL);

    for (size_t i = 0; i < n && rc == 0; i++) {
        if (feeds[i]->mode == FEED_KEYSET)
            rc = sync_keyset(&run, feeds[i], err, errlen);
        else
            rc = sync_whole(&run, feeds[i], err, errlen);
    }
    /* Fold the rollup deltas of the pages stored into the rollups now, so that the
     * computation that follows reads few rows. */
    if (rc == 0 && store_compact_rollups(store, err, errlen) != 0)
        rc = SYNC_DB_ERROR;
    /* The attempt shows when it ends, with its outcome: the computation reads these
     * states during a sync too, and an attempt without its failures counted yet would
     * look like one that succeeded (alert_rules.c would resolve SourceDown). */
    st->last_attempt = started;
    st->last_duration = (double)(util_now_ms() - start) / 1000.0;
    if (rc == SYNC_DB_ERROR) {
        /* The feed answered; the database failed. The source's health is the feed's. */
        snprintf(st->last_error, sizeof st->last_error, "%s", err);
    } else if (rc == 0) {
        st->up = 1;
        st->synced = 1;
        st->consecutive_failures = 0;
        st->last_success = (double)time(NULL);
        st->last_error[0] = '\0';
    } else {
        st->up = 0;
        st->consecutive_failures++;
        st->errors_total++;
        snprintf(st->last_error, sizeof st->last_error, "%s", err);
    }
    return rc;
}
