/* SPDX-License-Identifier: Apache-2.0 */
/* sync: the page loop between an adapter and the store. */
#include "sync.h"

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

static int sync_keyset(const struct sync_run *run, const struct feed_desc *fd, char *err,
                       size_t errlen)
{
    struct adapter *ad = run->ad;
    const struct source_cfg *cfg = ad->cfg;
    struct fetch_opts o;
    struct feed_cursor cur;
    struct record_batch b;
    char *key = NULL;
    int rc = -1, pages = 0;
    size_t stored = 0;

    sync_fetch_opts(cfg, &o);
    rec_batch_init(&b, fd->kind);
    if (store_get_cursor(run->store, cfg->name, fd->name, cur.time, &key, err, errlen) != 0) {
        rc = SYNC_DB_ERROR;
        goto cleanup;
    }
    cur.key = key;
    if (cfg->overlap_s > 0 && cur.time[0] &&
        sync_time_minus(cur.time, cfg->overlap_s, cur.time) == 0) {
        /* From an earlier instant, inclusive: everything since is read again. */
        cur.key = "";
    }
    for (;;) {
        int more = 0;
        if (run->stop && *run->stop) {
            snprintf(err, errlen, "interrupted");
            goto cleanup;
        }
        rec_batch_clear(&b);
        rec_batch_init(&b, fd->kind);
        if (fetch_page(run->f, ad, &o, fd, &cur, 0, &b, &more, err, errlen) != 0)
            goto cleanup;
        if (store_keyset_page(run->store, cfg->name, fd, &b, err, errlen) != 0) {
            rc = SYNC_DB_ERROR;
            goto cleanup;
        }
        count_batch(run->st, &b);
        if (run->tick)
            run->tick(run->tick_ctx);
        pages++;
        stored += b.nrecs;
        /* A short page is the end of what the server has now. */
        if (b.nitems < (size_t)cfg->page_size)
            break;
        /* A full page must move the cursor, or we would ask for it forever. */
        if (!b.cursor_time[0] || !cursor_after(&b, cur.time, cur.key)) {
            snprintf(err, errlen, "%s: a full page did not advance the cursor past (%s, %s)",
                     fd->name, cur.time, cur.key ? cur.key : "");
            goto cleanup;
        }
        memcpy(cur.time, b.cursor_time, sizeof cur.time);
        free(key);
        key = xstrdup(b.cursor_key ? b.cursor_key : "");
        cur.key = key;
    }
    log_info("sync", "%s/%s: %d page(s), %zu record(s) stored", cfg->name, fd->name, pages, stored);
    rc = 0;
cleanup:
    rec_batch_clear(&b);
    free(key);
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

    st->last_attempt = (double)time(NULL);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (feeds[i]->mode == FEED_KEYSET)
            rc = sync_keyset(&run, feeds[i], err, errlen);
        else
            rc = sync_whole(&run, feeds[i], err, errlen);
    }
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
