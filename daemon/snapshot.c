/* SPDX-License-Identifier: Apache-2.0 */
/* snapshot: the state the HTTP threads serve. The main loop replaces it; every request
 * copies what it needs out under the mutex, so no request ever holds the lock while it
 * talks to a client, and a swap never frees memory a request is still sending. */
#include "snapshot.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sitepages.h"
#include "gz.h"
#include "util.h"

struct snapshot {
    pthread_mutex_t mu;
    char *page; /* NULL until the first render */
    size_t len;
    /* The page gzipped once here, per publish, not per scrape (NULL when that failed). */
    unsigned char *gz;
    size_t gz_len;
    struct gz_prefix_info gz_info;
    int db_up;
    int all_synced;
    char *alerts; /* GET /api/v1/alerts body; NULL until the first evaluation */
    size_t alerts_len;
    struct site_pages *pages; /* the status pages; NULL until the first render */
    char *status;             /* NULL when never set */
    int64_t heartbeat_ms;     /* util_now_ms() of the last heartbeat */
};

struct snapshot *snapshot_new(void)
{
    struct snapshot *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return NULL;
    }
    /* Starting counts as a beat: /healthz is fine until the loop has had time to stall. */
    s->heartbeat_ms = util_now_ms();
    return s;
}

void snapshot_free(struct snapshot *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s->page);
    free(s->gz);
    free(s->alerts);
    site_pages_free(s->pages);
    free(s->status);
    free(s);
}

/* Swaps *slot for data under the lock; the old buffer is freed outside it. */
static void swap_buffer(struct snapshot *s, char **slot, size_t *slot_len, char *data, size_t len)
{
    char *old;

    if (!s) {
        free(data);
        return;
    }
    pthread_mutex_lock(&s->mu);
    old = *slot;
    *slot = data;
    *slot_len = data ? len : 0;
    pthread_mutex_unlock(&s->mu);
    free(old); /* outside the lock: requests only ever hold copies */
}

/* A NUL-terminated copy of data (the caller holds the lock). 1, 0 (data NULL) or -1. */
static int copy_locked(const char *data, size_t data_len, char **out, size_t *len)
{
    char *copy;

    *out = NULL;
    *len = 0;
    if (!data)
        return 0;
    /* +1 keeps the copy NUL-terminated like the original buffer. */
    copy = malloc(data_len + 1);
    if (!copy)
        return -1;
    memcpy(copy, data, data_len);
    copy[data_len] = '\0';
    *out = copy;
    *len = data_len;
    return 1;
}

/* A NUL-terminated copy of a buffer, taken under the lock. 1, 0 (never set) or -1. */
static int copy_buffer(struct snapshot *s, char *const *slot, const size_t *slot_len, char **out,
                       size_t *len)
{
    int rc;

    *out = NULL;
    *len = 0;
    if (!s)
        return 0;
    pthread_mutex_lock(&s->mu);
    rc = copy_locked(*slot, *slot_len, out, len);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void snapshot_set_metrics(struct snapshot *s, char *page, size_t len)
{
    unsigned char *gz = NULL, *old_gz;
    size_t gz_len = 0;
    struct gz_prefix_info info = {0};
    char *old;

    if (!s) {
        free(page);
        return;
    }
    /* Compressed on the publishing thread, outside the lock; on failure scrapes that
     * accept gzip get the identity page. */
    if (page && gz_prefix(page, len, &gz, &gz_len, &info) != 0)
        gz = NULL;
    pthread_mutex_lock(&s->mu);
    old = s->page;
    old_gz = s->gz;
    s->page = page;
    s->len = page ? len : 0;
    s->gz = gz;
    s->gz_len = gz ? gz_len : 0;
    s->gz_info = info;
    pthread_mutex_unlock(&s->mu);
    free(old);
    free(old_gz);
}

void snapshot_set_alerts(struct snapshot *s, char *json, size_t len)
{
    swap_buffer(s, s ? &s->alerts : NULL, s ? &s->alerts_len : NULL, json, len);
}

void snapshot_set_pages(struct snapshot *s, struct site_pages *pages)
{
    struct site_pages *old;

    if (!s) {
        site_pages_free(pages);
        return;
    }
    pthread_mutex_lock(&s->mu);
    old = s->pages;
    s->pages = pages;
    pthread_mutex_unlock(&s->mu);
    site_pages_free(old); /* outside the lock: requests only ever hold copies */
}

int snapshot_get_page(struct snapshot *s, const char *agency, const char *period, char **html,
                      size_t *len, unsigned *status)
{
    int rc = 0;

    *html = NULL;
    *len = 0;
    if (!s)
        return 0;
    pthread_mutex_lock(&s->mu);
    if (s->pages)
        rc = site_pages_copy(s->pages, agency, period, html, len, status) == 0 ? 1 : -1;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void snapshot_set_state(struct snapshot *s, int db_up, int all_synced, const char *status)
{
    char *copy, *old;

    if (!s)
        return;
    copy = xstrdup(status); /* on OOM the status is merely blank */
    pthread_mutex_lock(&s->mu);
    s->db_up = db_up;
    s->all_synced = all_synced;
    old = s->status;
    s->status = copy;
    pthread_mutex_unlock(&s->mu);
    free(old);
}

void snapshot_heartbeat(struct snapshot *s)
{
    if (!s)
        return;
    int64_t now = util_now_ms();
    pthread_mutex_lock(&s->mu);
    s->heartbeat_ms = now;
    pthread_mutex_unlock(&s->mu);
}

int snapshot_get_metrics(struct snapshot *s, char **page, size_t *len)
{
    return copy_buffer(s, s ? &s->page : NULL, s ? &s->len : NULL, page, len);
}

int snapshot_get_metrics_gz(struct snapshot *s, char **gz, size_t *len, struct gz_prefix_info *info)
{
    int rc;

    if (!s) {
        *gz = NULL;
        *len = 0;
        return 0;
    }
    /* The info is read under the same lock as the bytes, so the two always match. */
    pthread_mutex_lock(&s->mu);
    rc = copy_locked((const char *)s->gz, s->gz_len, gz, len);
    *info = s->gz_info;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int snapshot_get_alerts(struct snapshot *s, char **json, size_t *len)
{
    return copy_buffer(s, s ? &s->alerts : NULL, s ? &s->alerts_len : NULL, json, len);
}

void snapshot_get_state(struct snapshot *s, int *db_up, int *all_synced, char **status,
                        double *heartbeat_age_s)
{
    int64_t hb;

    if (!s) {
        *db_up = 0;
        *all_synced = 0;
        *status = NULL;
        *heartbeat_age_s = 0;
        return;
    }
    pthread_mutex_lock(&s->mu);
    *db_up = s->db_up;
    *all_synced = s->all_synced;
    *status = xstrdup(s->status);
    hb = s->heartbeat_ms;
    pthread_mutex_unlock(&s->mu);
    int64_t age = util_now_ms() - hb;
    *heartbeat_age_s = age > 0 ? (double)age / 1000.0 : 0.0;
}
