/* http: the libmicrohttpd server (thread per connection). It reads only the snapshot
 * (copies taken under its mutex) and calls the API handler; it never touches the main
 * loop's database connection. Request bodies are never read. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "netaddr.h"
#include "page.h"
#include "util.h"
#include "version.h"

/* collectd's compatibility macro: handlers return enum MHD_Result since 0.9.71. */
#if MHD_VERSION >= 0x00097002
#define MHD_RESULT enum MHD_Result
#else
#define MHD_RESULT int
#endif

#define CT_TEXT "text/plain; charset=utf-8"
#define CT_HTML "text/html; charset=utf-8"
#define CT_JSON "application/json"

struct http_server {
    struct MHD_Daemon *d;
    struct http_options o; /* listen is not used after http_start */
    pthread_mutex_t log_mu;
    int capturing;       /* under log_mu: http_start is waiting for MHD_start_daemon */
    char start_err[256]; /* the first library message while capturing */
};

/* The format attribute tells the compiler fmt is checked by MHD, not a stray string. */
__attribute__((format(printf, 2, 0))) static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    struct http_server *h = cls;
    char msg[512];
    size_t n;

    vsnprintf(msg, sizeof msg, fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    pthread_mutex_lock(&h->log_mu);
    if (h->capturing && !h->start_err[0]) {
        size_t k = n < sizeof h->start_err - 1 ? n : sizeof h->start_err - 1;
        memcpy(h->start_err, msg, k);
        h->start_err[k] = '\0';
    }
    pthread_mutex_unlock(&h->log_mu);
    log_warn("http", "%s", msg);
}

/* ---- replies ---- */

/* Queues body (malloc'd; always consumed) with the headers every reply carries. */
static MHD_RESULT send_reply(struct MHD_Connection *c, const struct http_reply *r, int allow)
{
    struct MHD_Response *resp;
    MHD_RESULT ret;
    char retry[24];

    if (r->body)
        resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
    else
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(r->body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type ? r->content_type : CT_TEXT);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (r->content_type && strncmp(r->content_type, "text/html", 9) == 0)
        MHD_add_response_header(resp, "Content-Security-Policy", PAGE_CSP);
    if (r->content_disposition)
        MHD_add_response_header(resp, "Content-Disposition", r->content_disposition);
    if (r->retry_after_s > 0) {
        snprintf(retry, sizeof retry, "%ld", r->retry_after_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
    }
    ret = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* A text reply; body NULL when out of memory sends an empty 500 instead. */
static MHD_RESULT send_text(struct MHD_Connection *c, unsigned status, char *body)
{
    struct http_reply r = {.status = status, .content_type = CT_TEXT, .body = body};

    if (!body)
        r.status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    else
        r.len = strlen(body);
    return send_reply(c, &r, 0);
}

void http_reply_error(struct http_reply *out, unsigned status, const char *param, const char *msg)
{
    json_t *j = json_pack("{s:s, s:s?}", "error", msg ? msg : "error", "parameter", param);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    if (!s) /* no memory, or msg/param not valid UTF-8 */
        s = xstrdup("{\"error\":\"internal error\",\"parameter\":null}");
    memset(out, 0, sizeof *out);
    out->status = status;
    out->content_type = CT_JSON;
    out->body = s;
    out->len = s ? strlen(s) : 0;
}

/* ---- routes ---- */

static MHD_RESULT serve_metrics(struct http_server *h, struct MHD_Connection *c)
{
    struct buf b;
    char *page;
    size_t len;
    int rc = snapshot_get_metrics(h->o.snap, &page, &len);

    if (rc < 0)
        return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, xstrdup("out of memory\n"));
    buf_init(&b);
    if (rc > 0) {
        /* Adopt the copy (len + 1 bytes, NUL-terminated) and append to it in place. */
        b.data = page;
        b.len = len;
        b.cap = len + 1;
    }
    met_render_process(&b);
    struct http_reply r = {.status = MHD_HTTP_OK, .content_type = MET_CONTENT_TYPE};
    r.body = buf_steal(&b, &r.len);
    if (!r.body)
        return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
    return send_reply(c, &r, 0);
}

static MHD_RESULT serve_healthz(struct http_server *h, struct MHD_Connection *c)
{
    int db_up, synced;
    char *status;
    double age;

    snapshot_get_state(h->o.snap, &db_up, &synced, &status, &age);
    free(status);
    if (h->o.stale_after_s <= 0 || age <= h->o.stale_after_s)
        return send_text(c, MHD_HTTP_OK, xstrdup("ok\n"));
    return send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                     xasprintf("unhealthy: the main loop last ticked %.0f s ago (limit %.0f s)\n",
                               age, h->o.stale_after_s));
}

static MHD_RESULT serve_readyz(struct http_server *h, struct MHD_Connection *c)
{
    int db_up, synced;
    char *status, *body;
    double age;

    snapshot_get_state(h->o.snap, &db_up, &synced, &status, &age);
    if (db_up && synced) {
        free(status);
        return send_text(c, MHD_HTTP_OK, xstrdup("ready\n"));
    }
    body = xasprintf("not ready: %s%s%s\n%s%s%s", db_up ? "" : "database unreachable",
                     !db_up && !synced ? "; " : "", synced ? "" : "not every source has synced yet",
                     status && *status ? "status: " : "", status ? status : "",
                     status && *status ? "\n" : "");
    free(status);
    return send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, body);
}

/* The main loop renders the alert list into the snapshot: no database work here. */
static MHD_RESULT serve_alerts(struct http_server *h, struct MHD_Connection *c)
{
    struct http_reply r = {.status = MHD_HTTP_OK, .content_type = CT_JSON};
    int rc = snapshot_get_alerts(h->o.snap, &r.body, &r.len);

    if (rc < 0)
        return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
    if (rc == 0) { /* not evaluated yet */
        r.body = xstrdup("{\"alerts\":[]}");
        if (!r.body)
            return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
        r.len = strlen(r.body);
    }
    return send_reply(c, &r, 0);
}

static const char *get_arg(void *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

/* GET /?agency=&period=: a copy of the page the main loop rendered into the snapshot. */
static void page_reply(struct snapshot *snap, const char *agency, const char *period,
                       struct http_reply *out)
{
    static const char STARTING[] =
        "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>onestopd</title></head><body><p>Máy chủ đang khởi động; hãy tải lại sau ít "
        "giây.</p></body></html>\n";
    unsigned status = 503;
    int rc = snapshot_get_page(snap, agency, period, &out->body, &out->len, &status);

    out->content_type = CT_HTML;
    out->status = status;
    if (rc < 0) {
        out->status = 500;
        out->body = xstrdup("<!DOCTYPE html>\n<html lang=\"vi\"><title>onestopd</title>"
                            "<p>Hết bộ nhớ.</p></html>\n");
    } else if (rc == 0) {
        /* Before the main loop's first publication. */
        out->body = xstrdup(STARTING);
    }
    if (rc <= 0)
        out->len = out->body ? strlen(out->body) : 0;
    if (out->status == 503)
        out->retry_after_s = 5;
}

/* The status page: rendered by the main loop into the snapshot (site.c), only copied here. */
static MHD_RESULT serve_page(struct http_server *h, struct MHD_Connection *c)
{
    struct http_reply r = {0};

    page_reply(h->o.snap, get_arg(c, "agency"), get_arg(c, "period"), &r);
    if (!r.body)
        return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
    return send_reply(c, &r, 0);
}

static MHD_RESULT serve_api(struct http_server *h, struct MHD_Connection *c, const char *url)
{
    struct http_reply r = {0};
    struct http_request req = {.path = url, .arg = get_arg, .conn = c};

    if (!h->o.api) {
        http_reply_error(&r, MHD_HTTP_NOT_FOUND, NULL, "not found");
        return send_reply(c, &r, 0);
    }
    h->o.api(h->o.api_ctx, &req, &r);
    if (r.status == 0) {
        /* The handler gave no reply (out of memory on its side). */
        free(r.body);
        http_reply_error(&r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "internal error");
    }
    if (!r.content_type)
        r.content_type = CT_JSON;
    return send_reply(c, &r, 0);
}

static MHD_RESULT on_request(void *cls, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, const char *upload_data,
                             size_t *upload_data_size, void **con_cls)
{
    struct http_server *h = cls;

    /* Answer on the first call, before any body is read: no route takes one. */
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        struct http_reply r = {.status = MHD_HTTP_METHOD_NOT_ALLOWED,
                               .content_type = CT_TEXT,
                               .body = xstrdup("method not allowed\n")};
        r.len = r.body ? strlen(r.body) : 0;
        return send_reply(c, &r, 1);
    }
    if (strcmp(url, "/") == 0)
        return serve_page(h, c);
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(h, c);
    if (strcmp(url, "/healthz") == 0)
        return serve_healthz(h, c);
    if (strcmp(url, "/readyz") == 0)
        return serve_readyz(h, c);
    if (strcmp(url, "/api/v1/alerts") == 0)
        return serve_alerts(h, c);
    if (strcmp(url, "/api") == 0 || strncmp(url, "/api/", 5) == 0)
        return serve_api(h, c, url);
    if (strcmp(url, "/qua-han") == 0) /* the overdue list as HTML: the API's database pool */
        return serve_api(h, c, url);
    return send_text(c, MHD_HTTP_NOT_FOUND, xstrdup("not found\n"));
}

/* ---- start and stop ---- */

/*
 * A listen address into a socket address. *any is set for "*" (every address: IPv6 dual
 * stack when the host has IPv6, else IPv4). 0 or -1 with err.
 */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, int *any, char *err,
                        size_t errlen)
{
    struct netaddr_listen a;
    struct addrinfo hints = {0}, *res = NULL;
    int rc;

    memset(ss, 0, sizeof *ss);
    *any = 0;
    if (netaddr_parse_listen(listen, 0, &a) < 0) {
        snprintf(err, errlen, "%s: expected host:port, [ipv6]:port or *:port with port 0-65535",
                 listen);
        return -1;
    }
    if (a.any) {
        int probe = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        *any = 1;
        if (probe >= 0) {
            struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
            close(probe);
            a6->sin6_family = AF_INET6;
            a6->sin6_addr = in6addr_any;
            a6->sin6_port = htons((uint16_t)a.port);
        } else {
            struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
            a4->sin_family = AF_INET;
            a4->sin_addr.s_addr = htonl(INADDR_ANY);
            a4->sin_port = htons((uint16_t)a.port);
        }
        return 0;
    }
    hints.ai_family = a.ipv6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_flags = a.ipv6 ? AI_NUMERICHOST : 0;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(a.host, NULL, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", listen, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (ss->ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)a.port);
    } else if (ss->ss_family == AF_INET) {
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)a.port);
    } else {
        snprintf(err, errlen, "%s: not an IPv4 or IPv6 address", listen);
        return -1;
    }
    return 0;
}

struct http_server *http_start(const struct http_options *o, char *err, size_t errlen)
{
    struct http_server *h = NULL;
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | MHD_USE_POLL; /* poll: no FD_SETSIZE ceiling */
    unsigned max_conn, timeout, per_ip;
    int any, saved_errno;

    if (!o || !o->listen) {
        snprintf(err, errlen, "no listen address");
        return NULL;
    }
    if (parse_listen(o->listen, &ss, &any, err, errlen) != 0)
        return NULL;
    h = calloc(1, sizeof *h);
    if (!h || pthread_mutex_init(&h->log_mu, NULL) != 0) {
        free(h);
        snprintf(err, errlen, "%s: out of memory", o->listen);
        return NULL;
    }
    h->o = *o;
    h->o.listen = NULL;
    if (ss.ss_family == AF_INET6)
        flags |= any ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
    max_conn = o->max_connections > 0 ? (unsigned)o->max_connections : 64;
    timeout = o->timeout_s > 0 ? (unsigned)o->timeout_s : 10;
    /* One client (a misbehaving scraper) must not take every slot. */
    per_ip = max_conn / 2 < 4 ? 4 : max_conn / 2;

    h->capturing = 1;
    errno = 0;
    /* The logger goes first, or MHD warns (on stderr) about the options before it. */
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
                            mhd_logger, h, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&ss,
                            MHD_OPTION_CONNECTION_LIMIT, max_conn, MHD_OPTION_CONNECTION_TIMEOUT,
                            timeout, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_END);
    saved_errno = errno;
    pthread_mutex_lock(&h->log_mu);
    h->capturing = 0;
    pthread_mutex_unlock(&h->log_mu);
    if (!h->d)
        goto fail;
    return h;
fail:
    /* MHD leaves the failing call's errno (e.g. bind's EADDRINUSE); when it failed for a
     * reason of its own, its first log message says why. */
    if (saved_errno)
        snprintf(err, errlen, "%s: %s", o->listen, strerror(saved_errno));
    else if (h->start_err[0])
        snprintf(err, errlen, "%s: %s", o->listen, h->start_err);
    else
        snprintf(err, errlen, "%s: cannot start the HTTP server", o->listen);
    http_stop(h);
    return NULL;
}

void http_stop(struct http_server *h)
{
    if (!h)
        return;
    if (h->d)
        MHD_stop_daemon(h->d); /* joins the polling and connection threads */
    pthread_mutex_destroy(&h->log_mu);
    free(h);
}

unsigned http_port(const struct http_server *h)
{
    const union MHD_DaemonInfo *info;

    if (!h || !h->d)
        return 0;
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}
