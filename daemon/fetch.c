/* SPDX-License-Identifier: Apache-2.0 */
/* fetch: one HTTP exchange over libcurl, and the retrying JSON getter the core uses. */
#include "fetch.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "jsplit.h"
#include "log.h"
#include "redact.h"
#include "util.h"
#include "version.h"

#define DEF_TIMEOUT_MS 30000L
#define DEF_CONNECT_TIMEOUT_MS 10000L
#define DEF_BACKOFF_BASE_MS 500L
#define DEF_BACKOFF_MAX_MS 60000L
#define DEF_MAX_BODY_BYTES (64L * 1024 * 1024)

/* Longest uninterrupted sleep, so a shutdown is noticed quickly. */
#define SLEEP_SLICE_MS 200

struct fetcher {
    CURL *h;
    volatile int *stop;
    void (*tick)(void *ctx);
    void *tick_ctx;
    char errbuf[CURL_ERROR_SIZE];

    /* the exchange in progress */
    struct buf body;
    long max_body;
    int too_big;
    char *content_type;
    long retry_after_s;
};

static long or_default(long v, long def)
{
    return v > 0 ? v : def;
}

struct fetcher *fetch_new(void)
{
    struct fetcher *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return NULL;
    f->h = curl_easy_init();
    if (f->h == NULL) {
        free(f);
        return NULL;
    }
    buf_init(&f->body);
    f->retry_after_s = -1;
    return f;
}

void fetch_free(struct fetcher *f)
{
    if (f == NULL)
        return;
    curl_easy_cleanup(f->h);
    buf_free(&f->body);
    free(f->content_type);
    free(f);
}

void fetch_response_clear(struct fetch_response *r)
{
    if (r == NULL)
        return;
    free(r->body);
    free(r->content_type);
    memset(r, 0, sizeof(*r));
    r->retry_after_s = -1;
}

void fetch_set_stop_flag(struct fetcher *f, volatile int *stop)
{
    f->stop = stop;
}

void fetch_set_tick(struct fetcher *f, void (*tick)(void *ctx), void *ctx)
{
    f->tick = tick;
    f->tick_ctx = ctx;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct fetcher *f = ud;
    size_t n = size * nmemb;

    if ((unsigned long)f->body.len + n > (unsigned long)f->max_body) {
        f->too_big = 1;
        return 0; /* anything but n aborts the transfer */
    }
    buf_append(&f->body, data, n);
    return f->body.oom ? 0 : n;
}

/* Header value of line if its name is `name` (case-insensitive), trimmed into out. */
static int header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name), start, end;

    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return 0;
    start = nl + 1;
    end = n;
    while (start < end && (line[start] == ' ' || line[start] == '\t'))
        start++;
    while (end > start && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' ' ||
                           line[end - 1] == '\t'))
        end--;
    if (end - start >= outlen)
        end = start + outlen - 1;
    memcpy(out, line + start, end - start);
    out[end - start] = '\0';
    return 1;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct fetcher *f = ud;
    size_t n = size * nmemb;
    char val[256];

    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue, say): forget the previous headers. */
        sfree(f->content_type);
        f->retry_after_s = -1;
    } else if (header_value(data, n, "Content-Type", val, sizeof(val))) {
        free(f->content_type);
        f->content_type = xstrdup(val);
    } else if (header_value(data, n, "Retry-After", val, sizeof(val))) {
        /* Only the delay-seconds form; an HTTP-date leaves it at -1 (our own backoff). */
        long v = 0;
        const char *p = val;
        for (; *p >= '0' && *p <= '9' && v < 86400; p++)
            v = v * 10 + (*p - '0');
        f->retry_after_s = (p != val && (*p == '\0' || v >= 86400)) ? v : -1;
    }
    return n;
}

/* libcurl calls this about once a second even while a server sends nothing: a shutdown
 * aborts the request, and the tick keeps the watchdog fed during a slow one. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct fetcher *f = ctx;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    if (f->stop && *f->stop)
        return 1;
    if (f->tick)
        f->tick(f->tick_ctx);
    return 0;
}

int fetch_once(struct fetcher *f, const struct fetch_opts *o, const char *method, const char *url,
               const struct curl_slist *hdrs, const char *post_body, struct fetch_response *out,
               char *err, size_t errlen)
{
    CURL *h = f->h;
    CURLcode rc;
    long status = 0;
    int is_post;

    memset(out, 0, sizeof(*out));
    out->retry_after_s = -1;
    if (strcmp(method, "GET") == 0) {
        is_post = 0;
    } else if (strcmp(method, "POST") == 0) {
        is_post = 1;
    } else {
        snprintf(err, errlen, "unsupported method %s", method);
        return -1;
    }

    buf_reset(&f->body);
    sfree(f->content_type);
    f->retry_after_s = -1;
    f->too_big = 0;
    f->max_body = or_default(o->max_body_bytes, DEF_MAX_BODY_BYTES);
    f->errbuf[0] = '\0';

    /* curl_easy_reset keeps the live connections (keep-alive) and the DNS cache; it only
     * forgets the previous request's options. */
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, or_default(o->timeout_ms, DEF_TIMEOUT_MS));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     or_default(o->connect_timeout_ms, DEF_CONNECT_TIMEOUT_MS));
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, f->errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "onestopd/" ONESTOP_VERSION);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, f);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    /* A Content-Length over the limit fails before any byte is read. */
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max_body);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    /* Redirects are not followed: the auth headers must not go to another host. */
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    /* The slist is only read by curl; its API is not const-correct. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, (struct curl_slist *)(uintptr_t)hdrs);
    if (is_post) {
        const char *b = post_body ? post_body : "";
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(b));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, b);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }

    rc = curl_easy_perform(h);
    /* The error buffer points into f; never leave curl holding it between calls. */
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    if (rc != CURLE_OK) {
        if (f->too_big || rc == CURLE_FILESIZE_EXCEEDED)
            snprintf(err, errlen, "body larger than max_body (%ld bytes)", f->max_body);
        else if (f->body.oom)
            snprintf(err, errlen, "out of memory reading the body");
        else if (rc == CURLE_OPERATION_TIMEDOUT)
            snprintf(err, errlen, "timeout");
        else
            snprintf(err, errlen, "%s", f->errbuf[0] ? f->errbuf : curl_easy_strerror(rc));
        f->too_big = f->too_big || rc == CURLE_FILESIZE_EXCEEDED;
        buf_reset(&f->body);
        return -1;
    }

    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    out->status = status;
    out->body = buf_steal(&f->body, &out->len);
    if (out->body == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    out->content_type = f->content_type;
    f->content_type = NULL;
    out->retry_after_s = f->retry_after_s;
    if (log_get_level() >= LOG_LVL_DEBUG) {
        char logurl[512];
        redact_url_for_log(url, 1, logurl, sizeof logurl);
        log_debug("fetch", "%s %s: HTTP %ld, %zu bytes", method, logurl, status, out->len);
    }
    return 0;
}

/* ---- retries ---- */

/* xorshift64*: jitter needs no quality, only no shared state; one per thread. */
static uint64_t next_random(void)
{
    static _Thread_local uint64_t state;
    uint64_t x;

    if (state == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        state = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^
                ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&ts;
        if (state == 0)
            state = 0x9E3779B97F4A7C15u;
    }
    x = state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    state = x;
    return x * 0x2545F4914F6CDD1Du;
}

long fetch_backoff_ms(const struct fetch_opts *o, int n)
{
    long base = or_default(o->backoff_base_ms, DEF_BACKOFF_BASE_MS);
    long max = or_default(o->backoff_max_ms, DEF_BACKOFF_MAX_MS);
    long d = base < max ? base : max;
    long half;

    for (int i = 0; i < n && d < max; i++)
        d = d > max / 2 ? max : d * 2;
    /* uniformly in [d/2, d] */
    half = d / 2;
    return d - half + (long)(next_random() % (uint64_t)(half + 1));
}

/* Sleeps ms, in slices, polling the stop flag. 0, or -1 when stopped. */
static int sleep_interruptible(const struct fetcher *f, long ms)
{
    int64_t deadline = util_now_ms() + ms;

    for (;;) {
        int64_t left;
        struct timespec ts;

        if (f->stop && *f->stop)
            return -1;
        if (f->tick)
            f->tick(f->tick_ctx);
        left = deadline - util_now_ms();
        if (left <= 0)
            return 0;
        if (left > SLEEP_SLICE_MS)
            left = SLEEP_SLICE_MS;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)left * 1000000L;
        nanosleep(&ts, NULL); /* an EINTR just ends the slice early */
    }
}

static int is_html(const char *ctype)
{
    return ctype && strncasecmp(ctype, "text/html", 9) == 0;
}

/* fetch_json, and with spec a body that fails to decode is split into its items. */
static int fetch_json_split(struct fetcher *f, const struct fetch_opts *o, const char *url,
                            fetch_auth_fn auth, void *auth_ctx, const struct jsplit_spec *spec,
                            json_t **out, struct jsplit_page *split, int *attempts_out, char *err,
                            size_t errlen)
{
    struct fetch_response resp = {0};
    struct curl_slist *hdrs = NULL;
    char logurl[512], reason[512], aerr[400];
    int max_retries = o->max_retries > 0 ? o->max_retries : 0;
    long backoff_max = or_default(o->backoff_max_ms, DEF_BACKOFF_MAX_MS);
    int attempts = 0, retries = 0, force = 0, refreshed = 0;
    int rc = -1;

    *out = NULL;
    redact_url_for_log(url, 1, logurl, sizeof(logurl));

    for (;;) {
        int retryable = 0;
        long wait;

        attempts++;
        fetch_response_clear(&resp);
        curl_slist_free_all(hdrs);
        hdrs = curl_slist_append(NULL, "Accept: application/json");
        if (hdrs == NULL) {
            snprintf(err, errlen, "out of memory");
            goto cleanup;
        }

        if (auth && auth(auth_ctx, f, &hdrs, force, aerr, sizeof(aerr)) != 0) {
            /* Most often the token endpoint is down: worth the same retries. */
            snprintf(reason, sizeof(reason), "authorization failed: %s", aerr);
            retryable = 1;
        } else if (fetch_once(f, o, "GET", url, hdrs, NULL, &resp, reason, sizeof(reason)) < 0) {
            retryable = !f->too_big; /* the same body would be too big again */
        } else if (resp.status >= 200 && resp.status < 300) {
            json_error_t jerr;
            json_t *root;
            /* The body decides, not the label: a gateway may call JSON text/html, and an
             * HTML error page dressed up as a success fails to decode. */
            if ((root = json_loadb(resp.body, resp.len, JSON_ALLOW_NUL, &jerr)) == NULL && spec &&
                jsplit_page(resp.body, resp.len, spec, split, aerr, sizeof(aerr)) == 0) {
                /* Undecodable items are the caller's to quarantine; the good ones go on. */
                log_warn("fetch", "%s: %zu of %zu item(s) do not decode (%s at line %d, column %d)",
                         logurl, split->nitems - split->ngood, split->nitems, jerr.text, jerr.line,
                         jerr.column);
                *out = json_incref(split->envelope);
                rc = 0;
                goto cleanup;
            }
            if (root == NULL) {
                if (is_html(resp.content_type))
                    snprintf(reason, sizeof(reason), "body is not JSON: HTTP %ld with text/html",
                             resp.status);
                else /* also empty and truncated bodies */
                    snprintf(reason, sizeof(reason), "body is not JSON: %s (line %d, column %d)",
                             jerr.text, jerr.line, jerr.column);
                retryable = 1;
            } else {
                *out = root;
                rc = 0;
                goto cleanup;
            }
        } else if (resp.status == 401 && auth && !refreshed) {
            /* The token expired early: fetch a new one and try again at once. This
             * extra attempt does not use up a retry. */
            refreshed = 1;
            force = 1;
            log_info("fetch", "%s: HTTP 401, refreshing the authorization", logurl);
            continue;
        } else if (resp.status == 429 || resp.status >= 500) {
            snprintf(reason, sizeof(reason), "HTTP %ld", resp.status);
            retryable = 1;
        } else {
            snprintf(reason, sizeof(reason), "HTTP %ld", resp.status);
            if (resp.status == 401 && refreshed)
                snprintf(reason, sizeof(reason), "HTTP 401 (after refreshing the authorization)");
        }
        force = 0;

        if (!retryable) {
            snprintf(err, errlen, "%s", reason);
            goto cleanup;
        }
        if (retries >= max_retries) {
            snprintf(err, errlen, "%s (gave up after %d attempt%s)", reason, attempts,
                     attempts == 1 ? "" : "s");
            goto cleanup;
        }
        wait = fetch_backoff_ms(o, retries);
        if (resp.status == 429 && resp.retry_after_s >= 0) {
            long ra =
                resp.retry_after_s > backoff_max / 1000 ? backoff_max : resp.retry_after_s * 1000;
            if (ra > wait)
                wait = ra;
            if (wait > backoff_max)
                wait = backoff_max;
        }
        retries++;
        log_warn("fetch", "%s: %s; retry %d of %d in %ld ms", logurl, reason, retries, max_retries,
                 wait);
        if (sleep_interruptible(f, wait) < 0) {
            snprintf(err, errlen, "interrupted");
            goto cleanup;
        }
    }

cleanup:
    fetch_response_clear(&resp);
    curl_slist_free_all(hdrs);
    if (attempts_out)
        *attempts_out = attempts;
    return rc;
}

int fetch_json(struct fetcher *f, const struct fetch_opts *o, const char *url, fetch_auth_fn auth,
               void *auth_ctx, json_t **out, int *attempts_out, char *err, size_t errlen)
{
    return fetch_json_split(f, o, url, auth, auth_ctx, NULL, out, NULL, attempts_out, err, errlen);
}

int fetch_json_page(struct fetcher *f, const struct fetch_opts *o, const char *url,
                    fetch_auth_fn auth, void *auth_ctx, const struct jsplit_spec *spec,
                    json_t **out, struct jsplit_page *split, int *attempts_out, char *err,
                    size_t errlen)
{
    memset(split, 0, sizeof *split);
    return fetch_json_split(f, o, url, auth, auth_ctx, spec, out, split, attempts_out, err, errlen);
}

char *fetch_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out, *p;

    if (s == NULL)
        return NULL;
    out = malloc(strlen(s) * 3 + 1);
    if (out == NULL)
        return NULL;
    p = out;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        /* RFC 3986 unreserved characters stay as they are */
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p = '\0';
    return out;
}
