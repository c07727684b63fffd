/* http: the libmicrohttpd server. Serves the snapshot; the API handler may use its own
 * database connections, never the main loop's. */
#ifndef ONESTOP_HTTP_H
#define ONESTOP_HTTP_H

#include <stddef.h>

#include "snapshot.h"

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

/* Handles GET /api/...; runs on an HTTP thread. */
typedef void (*http_api_fn)(void *ctx, const struct http_request *req, struct http_reply *out);

struct http_options {
    const char *listen; /* "127.0.0.1:9787", "[::1]:9787", "*:9787" */
    long max_connections;
    long timeout_s;
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
/* The bound port (useful with port 0). */
unsigned http_port(const struct http_server *h);

/* Builds a JSON error reply {"error": msg, "parameter": param} with status. */
void http_reply_error(struct http_reply *out, unsigned status, const char *param, const char *msg);

#endif
