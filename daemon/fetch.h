/* SPDX-License-Identifier: Apache-2.0 */
/* fetch: one HTTP exchange over libcurl, and the retrying JSON getter the core uses. */
#ifndef ONESTOP_FETCH_H
#define ONESTOP_FETCH_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>

#include "jsplit.h"

struct fetcher; /* one curl easy handle, reused for keep-alive; main thread only */

struct fetch_opts {
    long timeout_ms;         /* whole request */
    long connect_timeout_ms; /* connect phase */
    int max_retries;         /* retries after the first attempt */
    long backoff_base_ms;    /* first backoff; doubles per retry, plus jitter */
    long backoff_max_ms;     /* cap (also caps Retry-After) */
    long max_body_bytes;     /* a larger body is an error (default 64 MiB) */
};

struct fetch_response {
    long status; /* HTTP status, 0 when no response */
    char *body;  /* owned, NUL-terminated */
    size_t len;
    char *content_type; /* owned, may be NULL */
    long retry_after_s; /* from Retry-After (seconds form), -1 when absent */
};

/* Returns NULL on allocation failure. */
struct fetcher *fetch_new(void);
void fetch_free(struct fetcher *f);
void fetch_response_clear(struct fetch_response *r);

/*
 * One attempt. method is "GET" or "POST" (post_body then sent as given, with the
 * Content-Type header the caller puts in hdrs). Returns 0 when an HTTP response arrived
 * (any status), -1 on a transport error (timeout, refused, truncated) with err filled.
 */
int fetch_once(struct fetcher *f, const struct fetch_opts *o, const char *method, const char *url,
               const struct curl_slist *hdrs, const char *post_body, struct fetch_response *out,
               char *err, size_t errlen);

/* Sets the flag the retry loop polls to stop waiting early (a shutdown). Borrowed. */
void fetch_set_stop_flag(struct fetcher *f, volatile int *stop);

/* Called between sleep slices of a backoff, so a long retry keeps the caller's
 * watchdog and heartbeat going (the process is waiting, not stuck). */
void fetch_set_tick(struct fetcher *f, void (*tick)(void *ctx), void *ctx);

/* What the caller's authorizer does: add auth headers to *hdrs (which it may
 * curl_slist_append to). force=1 after a 401: drop any cached token first. */
typedef int (*fetch_auth_fn)(void *ctx, struct fetcher *f, struct curl_slist **hdrs, int force,
                             char *err, size_t errlen);

/*
 * GET url and decode a JSON body, retrying with capped exponential backoff and jitter
 * on transport errors, 5xx, 429 (honouring Retry-After), and bodies that are empty,
 * truncated, HTML or otherwise not JSON. A 401 refreshes the authorization once
 * (auth(force=1)) and tries again. Other 4xx fail at once.
 * On success returns 0 and *out (new reference). On failure returns -1 with err.
 * *attempts_out (if not NULL) receives the number of attempts made.
 * Details: the attempt after a 401 refresh follows at once and does not use up a retry;
 * an auth() failure counts as a failed attempt and is retried like a transport error; a
 * body over max_body_bytes and a redirect (not followed) fail at once; when the stop flag
 * ends a wait, err is "interrupted". Each retry is logged (warning) with the URL minus its
 * query string.
 */
int fetch_json(struct fetcher *f, const struct fetch_opts *o, const char *url, fetch_auth_fn auth,
               void *auth_ctx, json_t **out, int *attempts_out, char *err, size_t errlen);

/*
 * fetch_json for a page of items: when the body does not decode whole (invalid UTF-8, a
 * lone surrogate, an absurd number or nesting in one item), it is split along spec and
 * *out is the envelope holding the items that decode, while split lists every item with
 * the bytes of those that do not (caller frees with jsplit_page_free; it is zeroed when
 * the body decoded whole). A body that cannot be split (truncated, HTML, no array) is a
 * failed attempt as before.
 */
int fetch_json_page(struct fetcher *f, const struct fetch_opts *o, const char *url,
                    fetch_auth_fn auth, void *auth_ctx, const struct jsplit_spec *spec,
                    json_t **out, struct jsplit_page *split, int *attempts_out, char *err,
                    size_t errlen);

/* Backoff before retry n (0-based): min(max, base * 2^n) scaled by a random factor in
 * [0.5, 1.0]. Exposed for tests. */
long fetch_backoff_ms(const struct fetch_opts *o, int n);

/* Percent-encodes s for a query string. New string. */
char *fetch_escape(const char *s);

#endif
