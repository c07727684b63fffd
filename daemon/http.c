/* SPDX-License-Identifier: Apache-2.0 */
/* http: the libmicrohttpd server, event-driven. A small pool of epoll threads
 * (HTTP_EVENT_THREADS) owns every connection; an idle or half-sent connection costs a file
 * descriptor, not a thread, so a flood of slow clients cannot take the slots scrapes need.
 * Requests answered from the snapshot (/metrics, /healthz, /readyz, /, /api/v1/alerts)
 * are answered inline by copying bytes. Anything that may block (the report API, a
 * bcrypt check) is handed to a worker (workq.h): the connection is suspended, the worker
 * builds the answer and resumes it, and the event thread sends it. Request bodies are
 * never read. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "basicauth.h"
#include "gz.h"
#include "htpasswd.h"
#include "log.h"
#include "metrics.h"
#include "netaddr.h"
#include "reaper.h"
#include "tlscred.h"
#include "util.h"
#include "version.h"
#include "workq.h"

/* collectd's compatibility macro: handlers return enum MHD_Result since 0.9.71. */
#if MHD_VERSION >= 0x00097002
#define MHD_RESULT enum MHD_Result
#else
#define MHD_RESULT int
#endif

#define CT_TEXT "text/plain; charset=utf-8"
#define CT_HTML "text/html; charset=utf-8"
#define CT_JSON "application/json"

/* Descriptors kept free for everything else (database, feeds, logs) when the connection
 * limit is fitted under RLIMIT_NOFILE. */
#define FD_RESERVE 64

/* How often the reaper looks for connections past their header deadline. */
#define REAP_EVERY_MS 250

/* Headers of an answer besides those every answer carries. */
#define ANS_ALLOW 0x1 /* Allow: GET, HEAD (405) */
#define ANS_HTML 0x2  /* Content-Security-Policy */
#define ANS_VARY 0x4  /* Vary: Accept-Encoding (/metrics) */
#define ANS_GZIP 0x8  /* Content-Encoding: gzip */
#define ANS_AUTH 0x10 /* WWW-Authenticate (401) */

struct answer {
    struct http_reply r;
    unsigned flags;
};

/* One TCP connection (MHD's socket context): its header deadline and the certificate set
 * its TLS handshake used. */
struct hconn {
    struct http_server *h;
    struct rp_entry *deadline; /* NULL when its allocation failed: no deadline then */
    struct tlsc_creds *creds;
};

enum rq_state { RQ_NEW, RQ_QUEUED, RQ_DONE };
enum rq_job { JOB_API, JOB_AUTH };

/* One request (MHD's con_cls), from its request line to its completion. */
struct hreq {
    struct http_server *h;
    enum met_handler handler; /* what the counters call it, from its path */
    struct hconn *conn;       /* NULL when its allocation failed */
    struct MHD_Connection *c;
    size_t uri_len; /* of the raw request target */
    enum rq_state state;
    enum rq_job job;
    const char *url;   /* MHD's, valid for the request's life */
    char *user, *pass; /* basic-auth credentials for a worker to check */
    struct answer ans; /* built by a worker (RQ_DONE) */
};

struct http_server {
    struct MHD_Daemon *d;
    struct http_options o; /* listen and the file names are not used after http_start */
    pthread_mutex_t log_mu;
    int capturing;          /* under log_mu: http_start is waiting for MHD_start_daemon */
    char start_err[256];    /* the first library message while capturing */
    int64_t warn_window_ms; /* under log_mu: the rate limit of MHD's warnings */
    unsigned warn_count;
    unsigned long warn_dropped;

    struct wq *wq;
    struct ba *auth;
    atomic_ullong auth_failures;
    /* onestop_http_requests_total and onestop_http_response_size_bytes */
    atomic_ullong requests[MET_H_COUNT][MET_HTTP_CODES];
    atomic_ullong last_size[MET_H_COUNT];
    atomic_int answered[MET_H_COUNT];
    int64_t header_timeout_ms; /* a new connection's deadline for its request's headers */
    int64_t keepalive_ms;      /* a kept-alive one's, from its last answer: the longer of
                                  header_timeout and the idle timeout */

    int tls;
    pthread_mutex_t tls_mu;
    /* process_* read from /proc at most once a second, however often scrapes come */
    pthread_mutex_t proc_mu;
    struct buf proc_text;
    int64_t proc_at_ms;
    struct tlsc_creds *creds; /* under tls_mu: what new handshakes get */

    struct rp *reaper; /* header deadlines */
};

/* What MHD says about one client's misbehaviour (a dropped or malformed request, a failed
 * handshake): a flood of bad clients must not flood the journal, so these go to debug. */
static const char *const CLIENT_NOISE[] = {
    "Connection was closed by remote side",
    "Connection socket is closed when reading",
    "Socket has been disconnected",
    "Error processing request",
    "Error: received handshake message",
    "Failed to send data",
    "Failed to send the",
    "Failed to parse `Content-Length'",
    "Too large value of 'Content-Length'",
    "Received HTTP/1.1 request without",
    "Not enough memory in pool",
    "Too late to send an error response",
};

/* At most this many other MHD warnings a minute; the rest are counted and summed up. */
#define MHD_WARN_PER_MIN 20

/* The format attribute tells the compiler fmt is checked by MHD, not a stray string. */
__attribute__((format(printf, 2, 0))) static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    struct http_server *h = cls;
    char msg[512];
    size_t n;
    int capturing, noise = 0;
    unsigned long dropped = 0;
    int64_t now = util_now_ms();

    vsnprintf(msg, sizeof msg, fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    for (size_t i = 0; i < ARRAY_LEN(CLIENT_NOISE); i++)
        if (strncmp(msg, CLIENT_NOISE[i], strlen(CLIENT_NOISE[i])) == 0)
            noise = 1;
    pthread_mutex_lock(&h->log_mu);
    capturing = h->capturing;
    if (capturing && !h->start_err[0]) {
        size_t k = n < sizeof h->start_err - 1 ? n : sizeof h->start_err - 1;
        memcpy(h->start_err, msg, k);
        h->start_err[k] = '\0';
    }
    if (!capturing && !noise) {
        if (now - h->warn_window_ms >= 60000) {
            dropped = h->warn_dropped;
            h->warn_window_ms = now;
            h->warn_count = 0;
            h->warn_dropped = 0;
        }
        if (++h->warn_count > MHD_WARN_PER_MIN) {
            h->warn_dropped++;
            noise = 2;
        }
    }
    pthread_mutex_unlock(&h->log_mu);
    if (dropped)
        log_warn("http", "%lu more libmicrohttpd messages were not logged", dropped);
    if (noise == 1 && !capturing)
        log_debug("http", "%s", msg);
    else if (noise != 2)
        log_warn("http", "%s", msg);
}

/* ---- answers ---- */

static void answer_clear(struct answer *a)
{
    free(a->r.body);
    memset(a, 0, sizeof *a);
}

/* A text answer; body NULL (out of memory) gives an empty 500 instead. */
static void answer_text(struct answer *a, unsigned status, char *body)
{
    answer_clear(a);
    a->r.status = body ? status : MHD_HTTP_INTERNAL_SERVER_ERROR;
    a->r.content_type = CT_TEXT;
    a->r.body = body;
    a->r.len = body ? strlen(body) : 0;
}

/* Queues a's body (always consumed) with the headers every answer carries. */
static MHD_RESULT send_answer(struct MHD_Connection *c, struct answer *a)
{
    struct MHD_Response *resp;
    const struct http_reply *r = &a->r;
    MHD_RESULT ret;
    char retry[24];

    if (r->body)
        resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
    else
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        answer_clear(a);
        return MHD_NO;
    }
    a->r.body = NULL; /* the response owns it now */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type ? r->content_type : CT_TEXT);
    /* Every answer is live data or an error: no cache should keep one, nor a browser guess
     * at its type. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (a->flags & ANS_HTML)
        MHD_add_response_header(resp, "Content-Security-Policy", HTTP_CSP_HTML);
    if (a->flags & ANS_ALLOW)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (a->flags & ANS_VARY)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    if (a->flags & ANS_GZIP)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    if (a->flags & ANS_AUTH)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"onestopd\"");
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

/* The handler label of a path. */
static enum met_handler handler_of(const char *url)
{
    static const struct {
        const char *path;
        enum met_handler h;
    } routes[] = {
        {"/metrics", MET_H_METRICS},        {"/", MET_H_PAGE},
        {"/healthz", MET_H_HEALTHZ},        {"/readyz", MET_H_READYZ},
        {"/api/v1/alerts", MET_H_ALERTS},   {"/api/v1/report", MET_H_REPORT},
        {"/api/v1/overdue", MET_H_OVERDUE}, {"/qua-han", MET_H_OVERDUE_PAGE},
    };
    for (size_t i = 0; url && i < ARRAY_LEN(routes); i++)
        if (strcmp(url, routes[i].path) == 0)
            return routes[i].h;
    return MET_H_OTHER;
}

/* Counts the request's answer, then sends it. */
static MHD_RESULT send_rq(struct hreq *rq, struct MHD_Connection *c)
{
    struct http_server *h = rq->h;
    unsigned status = rq->ans.r.status;

    if (h) {
        if (status >= 100 && status < MET_HTTP_CODES)
            atomic_fetch_add(&h->requests[rq->handler][status], 1);
        atomic_store(&h->last_size[rq->handler], rq->ans.r.len);
        atomic_store(&h->answered[rq->handler], 1);
    }
    return send_answer(c, &rq->ans);
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

static int is_api(const char *url)
{
    return strcmp(url, "/api") == 0 || strncmp(url, "/api/", 5) == 0;
}

/* What may wait on the database runs on a worker: the report API, and the overdue list
 * as HTML (/qua-han), which the API's handler serves from its pool. */
static int on_worker(const char *url)
{
    return is_api(url) || strcmp(url, "/qua-han") == 0;
}

/* 503 for a request that found the worker queue full (or stopping). */
static void answer_busy(struct answer *a, const char *url, const char *why)
{
    answer_clear(a);
    if (is_api(url)) {
        http_reply_error(&a->r, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, why);
    } else {
        char *body = xasprintf("%s\n", why);
        answer_text(a, MHD_HTTP_SERVICE_UNAVAILABLE, body);
    }
    a->r.retry_after_s = 1;
}

static void answer_unauthorized(struct http_server *h, struct answer *a)
{
    atomic_fetch_add(&h->auth_failures, 1);
    answer_text(a, MHD_HTTP_UNAUTHORIZED, xstrdup("unauthorized\n"));
    a->flags |= ANS_AUTH;
}

/* ---- routes (on an event thread, or on a worker after a password check) ---- */

/* Appends process_* to out, read from /proc when the copy is a second old or more. */
static void process_text(struct http_server *h, struct buf *out)
{
    int64_t now = util_now_ms();

    pthread_mutex_lock(&h->proc_mu);
    if (h->proc_text.len == 0 || now - h->proc_at_ms >= 1000) {
        buf_reset(&h->proc_text);
        if (met_render_process(&h->proc_text) == 0)
            h->proc_at_ms = now;
    }
    buf_append(out, h->proc_text.data, h->proc_text.len);
    pthread_mutex_unlock(&h->proc_mu);
}

static void route_metrics(struct http_server *h, struct MHD_Connection *c, struct answer *a)
{
    struct buf b, tail;
    struct gz_prefix_info info;
    struct met_http self = {.auth_failures = atomic_load(&h->auth_failures)};
    unsigned long long(*requests)[MET_HTTP_CODES] = calloc(MET_H_COUNT, sizeof *requests);
    unsigned long long last_size[MET_H_COUNT];
    int answered[MET_H_COUNT];
    char *page;
    size_t len;
    int rc = 0;

    for (int i = 0; i < MET_H_COUNT; i++) {
        for (int k = 100; requests && k < MET_HTTP_CODES; k++)
            requests[i][k] = atomic_load(&h->requests[i][k]);
        last_size[i] = atomic_load(&h->last_size[i]);
        answered[i] = atomic_load(&h->answered[i]);
    }
    self.requests = (const unsigned long long(*)[MET_HTTP_CODES])requests;
    self.last_size = last_size;
    self.answered = answered;
    /* The live tail: process_* and the endpoint's own counters, read now. */
    buf_init(&tail);
    process_text(h, &tail);
    met_render_http(&self, &tail);
    free(requests);
    buf_init(&b);
    a->flags |= ANS_VARY;
    if (gz_accepted(
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING))) {
        rc = snapshot_get_metrics_gz(h->o.snap, &page, &len, &info);
        if (rc > 0) {
            b.data = page; /* adopt the copy (len + 1 bytes) and append in place */
            b.len = len;
            b.cap = len + 1;
            gz_finish(&b, &info, tail.data, tail.len);
            a->flags |= ANS_GZIP;
        }
    }
    if (!(a->flags & ANS_GZIP)) {
        rc = snapshot_get_metrics(h->o.snap, &page, &len);
        if (rc > 0) {
            b.data = page;
            b.len = len;
            b.cap = len + 1;
        }
        buf_append(&b, tail.data, tail.len);
    }
    buf_free(&tail);
    if (rc < 0 || b.oom) {
        buf_free(&b);
        a->flags &= ~(unsigned)ANS_GZIP;
        answer_text(a, MHD_HTTP_INTERNAL_SERVER_ERROR, xstrdup("out of memory\n"));
        return;
    }
    a->r.status = MHD_HTTP_OK;
    a->r.content_type = MET_CONTENT_TYPE;
    a->r.body = buf_steal(&b, &a->r.len);
    if (!a->r.body)
        answer_text(a, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
}

static void route_healthz(struct http_server *h, struct answer *a)
{
    int db_up, synced;
    char *status;
    double age;

    snapshot_get_state(h->o.snap, &db_up, &synced, &status, &age);
    free(status);
    if (h->o.stale_after_s <= 0 || age <= h->o.stale_after_s)
        answer_text(a, MHD_HTTP_OK, xstrdup("ok\n"));
    else
        answer_text(a, MHD_HTTP_SERVICE_UNAVAILABLE,
                    xasprintf("unhealthy: the main loop last ticked %.0f s ago (limit %.0f s)\n",
                              age, h->o.stale_after_s));
}

static void route_readyz(struct http_server *h, struct answer *a)
{
    int db_up, synced;
    char *status, *body;
    double age;

    snapshot_get_state(h->o.snap, &db_up, &synced, &status, &age);
    if (db_up && synced) {
        free(status);
        answer_text(a, MHD_HTTP_OK, xstrdup("ready\n"));
        return;
    }
    body = xasprintf("not ready: %s%s%s\n%s%s%s", db_up ? "" : "database unreachable",
                     !db_up && !synced ? "; " : "", synced ? "" : "not every source has synced yet",
                     status && *status ? "status: " : "", status ? status : "",
                     status && *status ? "\n" : "");
    free(status);
    answer_text(a, MHD_HTTP_SERVICE_UNAVAILABLE, body);
}

/* The main loop renders the alert list into the snapshot: no database work here. */
static void route_alerts(struct http_server *h, struct answer *a)
{
    int rc = snapshot_get_alerts(h->o.snap, &a->r.body, &a->r.len);

    if (rc == 0) { /* not evaluated yet */
        a->r.body = xstrdup("{\"alerts\":[]}");
        a->r.len = a->r.body ? strlen(a->r.body) : 0;
    }
    if (rc < 0 || !a->r.body) {
        answer_text(a, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    a->r.status = MHD_HTTP_OK;
    a->r.content_type = CT_JSON;
}

static const char *get_arg(void *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

/* On a worker only: the handler may wait on the database. */
static void route_api(struct http_server *h, struct MHD_Connection *c, const char *url,
                      struct answer *a)
{
    struct http_request req = {.path = url, .arg = get_arg, .conn = c};

    answer_clear(a);
    if (!h->o.api) {
        http_reply_error(&a->r, MHD_HTTP_NOT_FOUND, NULL, "not found");
        return;
    }
    h->o.api(h->o.api_ctx, &req, &a->r);
    if (a->r.status == 0) {
        /* The handler gave no reply (out of memory on its side). */
        answer_clear(a);
        http_reply_error(&a->r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "internal error");
    }
    if (!a->r.content_type)
        a->r.content_type = CT_JSON;
    if (strncmp(a->r.content_type, "text/html", 9) == 0)
        a->flags |= ANS_HTML;
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

/* Every route but the API. 0 when url is an API path (for a worker). */
static int route_snapshot(struct http_server *h, struct MHD_Connection *c, const char *url,
                          struct answer *a)
{
    if (strcmp(url, "/") == 0) {
        answer_clear(a);
        page_reply(h->o.snap, get_arg(c, "agency"), get_arg(c, "period"), &a->r);
        a->flags |= ANS_HTML;
    } else if (strcmp(url, "/metrics") == 0) {
        route_metrics(h, c, a);
    } else if (strcmp(url, "/healthz") == 0) {
        route_healthz(h, a);
    } else if (strcmp(url, "/readyz") == 0) {
        route_readyz(h, a);
    } else if (strcmp(url, "/api/v1/alerts") == 0) {
        route_alerts(h, a);
    } else if (on_worker(url)) {
        return 0;
    } else {
        answer_text(a, MHD_HTTP_NOT_FOUND, xstrdup("not found\n"));
    }
    return 1;
}

/* ---- the worker side ---- */

static void free_credentials(struct hreq *rq)
{
    if (rq->pass) {
        explicit_bzero(rq->pass, strlen(rq->pass));
        MHD_free(rq->pass);
    }
    if (rq->user)
        MHD_free(rq->user);
    rq->user = rq->pass = NULL;
}

/* A queued request, on a worker: check the password or run the API, then hand the answer
 * back to the event thread by resuming the connection. */
static void run_job(void *arg, int cancelled)
{
    struct hreq *rq = arg;
    struct http_server *h = rq->h;

    if (cancelled) {
        answer_busy(&rq->ans, rq->url, "shutting down");
    } else if (rq->job == JOB_AUTH && !ba_verify(h->auth, rq->user, rq->pass)) {
        answer_unauthorized(h, &rq->ans);
    } else if (!route_snapshot(h, rq->c, rq->url, &rq->ans)) {
        route_api(h, rq->c, rq->url, &rq->ans);
    }
    free_credentials(rq);
    rq->state = RQ_DONE;
    /* Last: once resumed, the event thread may send the answer and free rq. */
    MHD_resume_connection(rq->c);
}

/* Called by wq_submit under the queue's lock, before a worker can take the job. */
static void suspend_cb(void *arg)
{
    MHD_suspend_connection(arg);
}

static MHD_RESULT queue_job(struct http_server *h, struct hreq *rq, enum rq_job job)
{
    rq->job = job;
    rq->state = RQ_QUEUED;
    if (wq_submit(h->wq, run_job, rq, suspend_cb, rq->c) == 0)
        return MHD_YES;
    /* Full: say so at once, as when both report connections are busy. */
    rq->state = RQ_NEW;
    free_credentials(rq);
    answer_busy(&rq->ans, rq->url, "busy: too many requests, retry shortly");
    return send_rq(rq, rq->c);
}

/* ---- connections and requests ---- */

/* The header deadline of a connection: cleared once a request's headers are in, set again
 * after its answer to what a kept-alive connection may take for the next request. */
static void conn_deadline(struct hconn *hc, int set)
{
    if (hc)
        rp_set(hc->h->reaper, hc->deadline, set ? util_now_ms() + hc->h->keepalive_ms : 0);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *h = cls;
    struct hconn *hc;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        hc = calloc(1, sizeof *hc);
        *socket_context = hc;
        if (!hc)
            return; /* no deadline for it; over TLS its handshake fails */
        hc->h = h;
        if (ci)
            hc->deadline = rp_add(h->reaper, ci->connect_fd, util_now_ms() + h->header_timeout_ms);
        return;
    }
    /* CLOSED: MHD calls this before it closes the socket, as rp_remove requires. */
    hc = *socket_context;
    if (!hc)
        return;
    rp_remove(h->reaper, hc->deadline);
    tlsc_unref(hc->creds);
    free(hc);
    *socket_context = NULL;
}

/* The request line is in: MHD's return value becomes the request's con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct http_server *h = cls;
    struct hreq *rq = calloc(1, sizeof *rq);
    const union MHD_ConnectionInfo *ci;

    if (!rq)
        return NULL; /* on_request closes the connection */
    rq->h = h;
    rq->c = c;
    rq->uri_len = strlen(uri);
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    rq->conn = ci ? ci->socket_context : NULL;
    return rq;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct hreq *rq = *con_cls;

    if (!rq)
        return;
    conn_deadline(rq->conn, 1); /* a kept-alive connection owes the next request */
    free_credentials(rq);
    answer_clear(&rq->ans);
    free(rq);
    *con_cls = NULL;
}

static int has_body(struct MHD_Connection *c)
{
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

    return (cl && strcmp(cl, "0") != 0) ||
           MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

static int is_get(const char *method)
{
    return strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

static MHD_RESULT on_request(void *cls, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, const char *upload_data,
                             size_t *upload_data_size, void **con_cls)
{
    struct http_server *h = cls;
    struct hreq *rq = *con_cls;

    if (!rq)
        return MHD_NO;
    if (rq->state == RQ_DONE) {
        /* Resumed with the worker's answer. A body the client sends anyway is dropped. */
        if (*upload_data_size) {
            *upload_data_size = 0;
            return MHD_YES;
        }
        return send_rq(rq, c);
    }
    if (rq->state == RQ_QUEUED)
        return MHD_YES; /* not reached: MHD does not call a suspended connection */

    /* First call: the headers are complete. */
    conn_deadline(rq->conn, 0);
    rq->url = url;
    rq->handler = handler_of(url);
    if (rq->uri_len > HTTP_MAX_URI) {
        answer_text(&rq->ans, MHD_HTTP_URI_TOO_LONG, xstrdup("request target too long\n"));
        return send_rq(rq, c);
    }
    /* Answer before any body is read: no route takes one. */
    if (!is_get(method)) {
        answer_text(&rq->ans, MHD_HTTP_METHOD_NOT_ALLOWED, xstrdup("method not allowed\n"));
        rq->ans.flags |= ANS_ALLOW;
        return send_rq(rq, c);
    }
    /* /healthz stays open, as in the exporters' web config: a liveness probe has no
     * password. */
    if (ba_enabled(h->auth) && strcmp(url, "/healthz") != 0) {
        char *pass = NULL, *user = MHD_basic_auth_get_username_password(c, &pass);
        if (!user || !pass) {
            if (user)
                MHD_free(user);
            if (pass)
                MHD_free(pass);
            answer_unauthorized(h, &rq->ans);
            return send_rq(rq, c);
        }
        rq->user = user;
        rq->pass = pass;
        if (!ba_cached(h->auth, user, pass))
            return queue_job(h, rq, JOB_AUTH); /* a bcrypt: tens of ms, not here */
        free_credentials(rq);
    }
    if (!route_snapshot(h, c, url, &rq->ans))
        return queue_job(h, rq, JOB_API);
    /* Answering in this first call would make MHD close the connection (it cannot know
     * what follows the headers): answer in the next one, which comes at once for a request
     * without a body, and keep the connection alive. One with a body is answered now. */
    if (has_body(c))
        return send_rq(rq, c);
    rq->state = RQ_DONE;
    return MHD_YES;
}

/* ---- TLS ---- */

/* GnuTLS asks for the certificate at each handshake. The connection keeps a reference to
 * the set it got (GnuTLS points into it until the session ends); a reload only changes
 * what the next handshakes get. */
static int cert_cb(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                   const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                   gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    struct MHD_Connection *c = gnutls_session_get_ptr(session); /* MHD sets it */
    const union MHD_ConnectionInfo *ci =
        c ? MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
    struct hconn *hc = ci ? ci->socket_context : NULL;

    if (!hc)
        return -1;
    if (!hc->creds) {
        pthread_mutex_lock(&hc->h->tls_mu);
        hc->creds = tlsc_ref(hc->h->creds);
        pthread_mutex_unlock(&hc->h->tls_mu);
    }
    if (!hc->creds)
        return -1;
    tlsc_use(hc->creds, pcert, pcert_length, pkey);
    return 0;
}

static int load_tls(struct http_server *h, const char *cert, const char *key, char *err,
                    size_t errlen)
{
    struct tlsc_creds *nc, *old;

    if (tlsc_load(cert, key, &nc, err, errlen) != 0)
        return -1;
    pthread_mutex_lock(&h->tls_mu);
    old = h->creds;
    h->creds = nc;
    pthread_mutex_unlock(&h->tls_mu);
    tlsc_unref(old); /* connections that use it hold their own references */
    log_notice("http", "TLS certificate %s: %s", cert, tlsc_describe(nc));
    return 0;
}

static int load_users(struct http_server *h, const char *path, char *err, size_t errlen)
{
    struct htp_users *u = NULL;
    size_t n;

    if (path && htp_load(path, &u, err, errlen) != 0)
        return -1;
    n = htp_count(u);
    ba_set_users(h->auth, u); /* u belongs to h->auth from here */
    if (path)
        log_notice("http", "basic authentication: %zu user(s) from %s", n, path);
    return 0;
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

/* The connection limit, fitted under RLIMIT_NOFILE: each connection is a descriptor, and
 * running out of them would fail accept() for every client alike. */
static unsigned fit_connections(long want)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)want + FD_RESERVE;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return (unsigned)want;
    /* epoll has no FD_SETSIZE ceiling: raising the soft limit is safe (it fails under the
     * unit's system-call filter; LimitNOFILE= is the way there). */
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) {
        struct rlimit nl = {need, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
            return (unsigned)want;
    }
    long fit = (long)rl.rlim_cur - FD_RESERVE;
    if (fit < 16)
        fit = 16;
    log_warn("http",
             "max_connections %ld does not fit the open-files limit %llu: using %ld (raise "
             "LimitNOFILE=)",
             want, (unsigned long long)rl.rlim_cur, fit);
    return (unsigned)fit;
}

struct http_server *http_start(const struct http_options *o, char *err, size_t errlen)
{
    struct http_server *h = NULL;
    struct sockaddr_storage ss;
    /* An internal epoll thread pool; suspend/resume for the work handed to workers. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    unsigned max_conn, timeout, per_ip;
    int any, saved_errno = 0;
    char why[512];

    if (!o || !o->listen) {
        snprintf(err, errlen, "no listen address");
        return NULL;
    }
    if (parse_listen(o->listen, &ss, &any, err, errlen) != 0)
        return NULL;
    if ((o->tls_cert_file == NULL) != (o->tls_key_file == NULL)) {
        snprintf(err, errlen, "%s: TLS needs both a certificate and a key file", o->listen);
        return NULL;
    }
    h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "%s: out of memory", o->listen);
        return NULL;
    }
    pthread_mutex_init(&h->log_mu, NULL);
    pthread_mutex_init(&h->tls_mu, NULL);
    pthread_mutex_init(&h->proc_mu, NULL);
    buf_init(&h->proc_text);
    atomic_init(&h->auth_failures, 0);
    h->o = *o;
    h->o.listen = h->o.tls_cert_file = h->o.tls_key_file = h->o.users_file = NULL;
    h->header_timeout_ms =
        1000L * (o->header_timeout_s > 0 ? o->header_timeout_s : HTTP_DEFAULT_HEADER_TIMEOUT_S);
    h->keepalive_ms = 1000L * (o->timeout_s > 0 ? o->timeout_s : HTTP_DEFAULT_TIMEOUT_S);
    if (h->keepalive_ms < h->header_timeout_ms)
        h->keepalive_ms = h->header_timeout_ms;
    h->tls = o->tls_cert_file != NULL;

    h->auth = ba_new();
    if (!h->auth) {
        snprintf(err, errlen, "%s: out of memory", o->listen);
        goto fail;
    }
    if (load_users(h, o->users_file, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s", why);
        goto fail;
    }
    if (h->tls) {
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS) ||
            !MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK)) {
            snprintf(err, errlen, "%s: this libmicrohttpd has no HTTPS certificate callback",
                     o->listen);
            goto fail;
        }
        if (load_tls(h, o->tls_cert_file, o->tls_key_file, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s", why);
            goto fail;
        }
        flags |= MHD_USE_TLS;
    }
    h->wq = wq_new(HTTP_WORKERS, HTTP_QUEUE, why, sizeof why);
    if (!h->wq) {
        snprintf(err, errlen, "%s: %s", o->listen, why);
        goto fail;
    }
    h->reaper = rp_new(REAP_EVERY_MS);
    if (!h->reaper) {
        snprintf(err, errlen, "%s: cannot start a thread", o->listen);
        goto fail;
    }

    if (ss.ss_family == AF_INET6)
        flags |= any ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
    max_conn =
        fit_connections(o->max_connections > 0 ? o->max_connections : HTTP_DEFAULT_MAX_CONNECTIONS);
    timeout = o->timeout_s > 0 ? (unsigned)o->timeout_s : HTTP_DEFAULT_TIMEOUT_S;
    /* One client (a misbehaving scraper) must not take every slot; 64 is far more than a
     * Prometheus server (one connection per target) or a NAT of a few needs. */
    per_ip = max_conn / 2 < 4 ? 4 : max_conn / 2;
    if (per_ip > 64)
        per_ip = 64;

    h->capturing = 1;
    errno = 0;
    /* The logger goes first, or MHD warns (on stderr) about the options before it. The
     * certificate callback is passed only for HTTPS (MHD refuses it otherwise). */
    h->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, h,
        MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)HTTP_EVENT_THREADS, MHD_OPTION_CONNECTION_LIMIT, max_conn,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        h, MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
        h->tls ? MHD_OPTION_HTTPS_CERT_CALLBACK : MHD_OPTION_END, cert_cb, MHD_OPTION_END);
    saved_errno = errno;
    pthread_mutex_lock(&h->log_mu);
    h->capturing = 0;
    pthread_mutex_unlock(&h->log_mu);
    if (!h->d)
        goto fail_mhd;
    return h;
fail_mhd:
    /* MHD leaves the failing call's errno (e.g. bind's EADDRINUSE); when it failed for a
     * reason of its own, its first log message says why. */
    if (saved_errno)
        snprintf(err, errlen, "%s: %s", o->listen, strerror(saved_errno));
    else if (h->start_err[0])
        snprintf(err, errlen, "%s: %s", o->listen, h->start_err);
    else
        snprintf(err, errlen, "%s: cannot start the HTTP server", o->listen);
fail:
    http_stop(h);
    return NULL;
}

void http_stop(struct http_server *h)
{
    if (!h)
        return;
    /* The workers first: each queued request is answered (503) and resumed, since MHD must
     * not be stopped with a connection still suspended. New requests meanwhile find the
     * queue closed and get a 503 inline. */
    wq_stop(h->wq);
    if (h->d)
        MHD_stop_daemon(h->d); /* joins the event threads; closes every connection */
    rp_free(h->reaper);        /* after MHD: every connection has left it */
    wq_free(h->wq);
    ba_free(h->auth);
    tlsc_unref(h->creds);
    pthread_mutex_destroy(&h->tls_mu);
    pthread_mutex_destroy(&h->proc_mu);
    buf_free(&h->proc_text);
    pthread_mutex_destroy(&h->log_mu);
    free(h);
}

int http_reload(struct http_server *h, const struct http_options *o, char *err, size_t errlen)
{
    char why[512];
    int rc = 0;
    size_t n = 0;

    if (!h || !o)
        return 0;
    err[0] = '\0';
    /* Each part on its own: a bad certificate does not keep new users out, nor the
     * reverse. */
    if (load_users(h, o->users_file, why, sizeof why) != 0) {
        n += (size_t)snprintf(err + n, n < errlen ? errlen - n : 0, "%s (keeping the old users)",
                              why);
        rc = -1;
    }
    if (h->tls && o->tls_cert_file && o->tls_key_file) {
        if (load_tls(h, o->tls_cert_file, o->tls_key_file, why, sizeof why) != 0) {
            if (n < errlen)
                snprintf(err + n, errlen - n, "%s%s (keeping the old certificate)", n ? "; " : "",
                         why);
            rc = -1;
        }
    } else if (h->tls != (o->tls_cert_file != NULL)) {
        log_warn("http", "switching between HTTP and HTTPS takes effect at the next restart");
    }
    return rc;
}

int http_is_tls(const struct http_server *h)
{
    return h ? h->tls : 0;
}

unsigned long long http_auth_failures(struct http_server *h)
{
    return h ? atomic_load(&h->auth_failures) : 0;
}

unsigned http_port(const struct http_server *h)
{
    const union MHD_DaemonInfo *info;

    if (!h || !h->d)
        return 0;
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}
