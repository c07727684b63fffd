/* SPDX-License-Identifier: Apache-2.0 */
/* http: the libmicrohttpd server, event-driven (a small epoll thread pool). Serves the
 * snapshot inline; the API handler, which may use its own database connections (never the
 * main loop's), and slow password checks run on a few worker threads. Optional HTTPS and
 * basic authentication, with the semantics of the Prometheus exporters' web config. */
#ifndef ONESTOP_HTTP_H
#define ONESTOP_HTTP_H

#include <stddef.h>

#include "snapshot.h"

/* The Content-Security-Policy of every HTML answer: nothing from elsewhere, no script. */
#define HTTP_CSP_HTML                                                                              \
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "                 \
    "frame-ancestors 'none'"

struct http_request {
    const char *path;
    /* Returns the value of query parameter name, or NULL. */
    const char *(*arg)(void *conn, const char *name);
    void *conn;
};

struct http_reply {
    unsigned status;
    const char *content_type; /* static string */
    char *body;               /* malloc'd, freed by the server */
    size_t len;
    const char *content_disposition; /* static string or NULL */
    long retry_after_s;              /* > 0: sends Retry-After */
};

/* Handles GET /api/...; runs on a worker thread (never an event thread), so it may block. */
typedef void (*http_api_fn)(void *ctx, const struct http_request *req, struct http_reply *out);

/* Defaults of the options left 0. */
#define HTTP_DEFAULT_MAX_CONNECTIONS 512
#define HTTP_DEFAULT_TIMEOUT_S 10
#define HTTP_DEFAULT_HEADER_TIMEOUT_S 5
/* A request target (path and query) longer than this is answered 414. */
#define HTTP_MAX_URI 8192
/* Event threads, worker threads and the worker queue. */
#define HTTP_EVENT_THREADS 2
#define HTTP_WORKERS 4
#define HTTP_QUEUE 32

struct http_options {
    const char *listen; /* "127.0.0.1:9787", "[::1]:9787", "*:9787" */
    long max_connections;
    long timeout_s;        /* idle connections are closed after it */
    long header_timeout_s; /* a request's headers must be complete within it */
    /* PEM files: both set, the endpoint serves HTTPS only; both NULL, plain HTTP. */
    const char *tls_cert_file;
    const char *tls_key_file;
    /* htpasswd file (bcrypt): set, every path but /healthz needs a valid user. */
    const char *users_file;
    struct snapshot *snap; /* borrowed */
    http_api_fn api;       /* may be NULL: /api/ is then 404 */
    void *api_ctx;
    double stale_after_s; /* /healthz fails when the main loop's heartbeat is older */
};

struct http_server;

/* Starts listening. NULL with err (e.g. "127.0.0.1:9787: Address already in use"). */
struct http_server *http_start(const struct http_options *o, char *err, size_t errlen);
/* Stops accepting and waits for the request threads. NULL-safe. */
void http_stop(struct http_server *h);
/*
 * Re-reads the certificate, key and users files that o names, keeping the listener and
 * every open connection (new handshakes get the new certificate). What needs a restart
 * (listen, the limits, timeouts, switching between HTTP and HTTPS) is not applied. On a
 * bad file the old certificate or users stay and err says why. 0, or -1 with err.
 */
int http_reload(struct http_server *h, const struct http_options *o, char *err, size_t errlen);
/* Whether the server speaks HTTPS. */
int http_is_tls(const struct http_server *h);
/* Answers 401 so far. */
unsigned long long http_auth_failures(struct http_server *h);
/* The bound port (useful with port 0). */
unsigned http_port(const struct http_server *h);

/* Builds a JSON error reply {"error": msg, "parameter": param} with status. */
void http_reply_error(struct http_reply *out, unsigned status, const char *param, const char *msg);

#endif
