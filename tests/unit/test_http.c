/* SPDX-License-Identifier: Apache-2.0 */
/* http: the real libmicrohttpd server on loopback, fetched with libcurl. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "http.h"
#include "httptest.h"
#include "metrics.h"
#include "page.h"
#include "site.h"
#include "snapshot.h"
#include "util.h"

/* ---- the server under test ---- */

struct fixture {
    struct snapshot *snap;
    struct http_server *srv;
    unsigned port;
    atomic_int api_calls; /* bumped on HTTP threads, read by the test */
};

static void api_handler(void *ctx, const struct http_request *req, struct http_reply *out)
{
    struct fixture *f = ctx;
    f->api_calls++;
    if (strcmp(req->path, "/api/v1/report") == 0) {
        const char *from = req->arg(req->conn, "from");
        const char *format = req->arg(req->conn, "format");
        if (!from) {
            http_reply_error(out, 400, "from", "missing parameter");
            return;
        }
        out->status = 200;
        if (format && strcmp(format, "csv") == 0) {
            out->content_type = "text/csv; charset=utf-8";
            out->content_disposition = "attachment; filename=\"report.csv\"";
            out->body = xasprintf("from\n%s\n", from);
        } else {
            out->content_type = "application/json";
            out->body = xasprintf("{\"from\":\"%s\"}", from);
        }
        out->len = strlen(out->body);
    } else if (strcmp(req->path, "/api/busy") == 0) {
        out->status = 503;
        out->content_type = "text/plain; charset=utf-8";
        out->body = xstrdup("busy\n");
        out->len = 5;
        out->retry_after_s = 7;
    } else if (strcmp(req->path, "/api/nothing") == 0) {
        /* leaves *out untouched: the server must answer 500 */
    } else {
        http_reply_error(out, 404, NULL, "no such endpoint");
    }
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];
    assert_non_null(f);
    f->snap = snapshot_new();
    assert_non_null(f->snap);
    struct http_options o = {.listen = "127.0.0.1:0",
                             .max_connections = 8,
                             .timeout_s = 5,
                             .snap = f->snap,
                             .api = api_handler,
                             .api_ctx = f,
                             .stale_after_s = 60};
    f->srv = http_start(&o, err, sizeof err);
    if (!f->srv)
        fail_msg("http_start: %s", err);
    f->port = http_port(f->srv);
    assert_true(f->port > 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    http_stop(f->srv);
    snapshot_free(f->snap);
    free(f);
    return 0;
}

/* ---- tests ---- */

/* GET / is the status page the main loop renders into the snapshot (site.c): before the
 * first render a short 503, then what site_publish left there, with its CSP. */
static void test_status_page(void **state)
{
    struct fixture *f = *state;
    struct model m;
    struct site *site = site_new();
    struct resp r;

    assert_non_null(site);
    get(f->port, "/", &r);
    assert_int_equal(r.status, 503);
    ASSERT_HEADER(&r, "Content-Type", "text/html; charset=utf-8");
    ASSERT_HEADER(&r, "Cache-Control", "no-store");
    ASSERT_HEADER(&r, "Content-Security-Policy", HTTP_CSP_HTML);
    ASSERT_HEADER(&r, "Retry-After", "5");
    resp_free(&r);

    memset(&m, 0, sizeof m); /* never computed */
    assert_int_equal(site_publish(site, NULL, NULL, &m, NULL, 0, f->snap), 0);
    get(f->port, "/?agency=X&period=2022", &r);
    assert_int_equal(r.status, 503);
    ASSERT_HEADER(&r, "Content-Security-Policy", HTTP_CSP_HTML);
    assert_non_null(strstr(r.body.data, "<html lang=\"vi\">"));
    ASSERT_HEADER(&r, "X-Content-Type-Options", "nosniff");
    assert_non_null(strstr(r.body.data, "href=\"/metrics\""));
    assert_non_null(strstr(r.body.data, "href=\"/healthz\""));
    assert_non_null(strstr(r.body.data, "href=\"/readyz\""));
    resp_free(&r);
    site_free(site);
}

static void test_metrics_before_and_after_page(void **state)
{
    struct fixture *f = *state;
    struct resp r;

    /* no page yet: the process metrics alone, still 200 */
    get(f->port, "/metrics", &r);
    assert_int_equal(r.status, 200);
    ASSERT_HEADER(&r, "Content-Type", MET_CONTENT_TYPE);
    ASSERT_HEADER(&r, "Cache-Control", "no-store");
    assert_non_null(strstr(r.body.data, "\nprocess_open_fds "));
    /* of onestop_*, only the endpoint's own counter */
    assert_non_null(strstr(r.body.data, "\nonestop_http_auth_failures_total 0\n"));
    assert_null(strstr(r.body.data, "onestop_leader"));
    resp_free(&r);

    static const char page[] = "# HELP onestop_leader test\n# TYPE onestop_leader gauge\n"
                               "onestop_leader 1\n";
    snapshot_set_metrics(f->snap, xstrdup(page), strlen(page));
    get(f->port, "/metrics", &r);
    assert_int_equal(r.status, 200);
    ASSERT_HEADER(&r, "Content-Type", MET_CONTENT_TYPE);
    assert_memory_equal(r.body.data, page, strlen(page)); /* the page, then process_* */
    assert_non_null(strstr(r.body.data, "\n# TYPE process_cpu_seconds_total counter\n"));
    assert_int_equal(r.body.data[r.body.len - 1], '\n');
    resp_free(&r);

    /* the page is replaced, not appended to */
    snapshot_set_metrics(f->snap, xstrdup("onestop_leader 0\n"), 17);
    get(f->port, "/metrics", &r);
    assert_memory_equal(r.body.data, "onestop_leader 0\n", 17);
    assert_null(strstr(r.body.data, "onestop_leader 1"));
    resp_free(&r);

    /* HEAD: same headers, no body */
    assert_int_equal(fetch("HEAD", f->port, "/metrics", NULL, &r), 0);
    assert_int_equal(r.status, 200);
    ASSERT_HEADER(&r, "Content-Type", MET_CONTENT_TYPE);
    assert_int_equal(r.body.len, 0);
    resp_free(&r);
}

static void test_healthz(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    get(f->port, "/healthz", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "ok\n");
    ASSERT_HEADER(&r, "Content-Type", "text/plain; charset=utf-8");
    ASSERT_HEADER(&r, "Cache-Control", "no-store");
    resp_free(&r);
}

static void test_healthz_stale(void **state)
{
    struct snapshot *snap = snapshot_new();
    char err[256];
    struct http_options o = {
        .listen = "127.0.0.1:0", .max_connections = 4, .snap = snap, .stale_after_s = 0.05};
    struct http_server *srv = http_start(&o, err, sizeof err);
    struct resp r;
    if (!srv)
        fail_msg("http_start: %s", err);

    nanosleep(&(struct timespec){0, 150 * 1000 * 1000}, NULL);
    get(http_port(srv), "/healthz", &r);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body.data, "unhealthy"));
    ASSERT_HEADER(&r, "Content-Type", "text/plain; charset=utf-8");
    resp_free(&r);

    snapshot_heartbeat(snap);
    get(http_port(srv), "/healthz", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);

    /* stale_after_s <= 0 disables the check; also no API handler: /api/ is 404 JSON */
    http_stop(srv);
    o.stale_after_s = 0;
    srv = http_start(&o, err, sizeof err);
    assert_non_null(srv);
    nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    get(http_port(srv), "/healthz", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    get(http_port(srv), "/api/v1/report", &r);
    assert_int_equal(r.status, 404);
    ASSERT_HEADER(&r, "Content-Type", "application/json");
    assert_string_equal(r.body.data, "{\"error\":\"not found\",\"parameter\":null}");
    resp_free(&r);
    http_stop(srv);
    snapshot_free(snap);
}

static void test_readyz(void **state)
{
    struct fixture *f = *state;
    struct resp r;

    get(f->port, "/readyz", &r);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body.data, "not ready: database unreachable"));
    assert_non_null(strstr(r.body.data, "not every source has synced yet"));
    ASSERT_HEADER(&r, "Content-Type", "text/plain; charset=utf-8");
    resp_free(&r);

    snapshot_set_state(f->snap, 1, 0, "syncing igate");
    get(f->port, "/readyz", &r);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body.data, "not ready: not every source has synced yet"));
    assert_null(strstr(r.body.data, "database"));
    assert_non_null(strstr(r.body.data, "syncing igate"));
    resp_free(&r);

    snapshot_set_state(f->snap, 0, 1, NULL);
    get(f->port, "/readyz", &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body.data, "not ready: database unreachable\n");
    resp_free(&r);

    snapshot_set_state(f->snap, 1, 1, "ok");
    get(f->port, "/readyz", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "ready\n");
    resp_free(&r);
}

static void test_methods(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    static const char *const methods[] = {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"};

    for (size_t i = 0; i < ARRAY_LEN(methods); i++) {
        assert_int_equal(fetch(methods[i], f->port, "/metrics", "a=b", &r), 0);
        assert_int_equal(r.status, 405);
        ASSERT_HEADER(&r, "Allow", "GET, HEAD");
        ASSERT_HEADER(&r, "Content-Type", "text/plain; charset=utf-8");
        ASSERT_HEADER(&r, "Cache-Control", "no-store");
        resp_free(&r);
    }
    /* a large body (curl sends Expect: 100-continue) is refused without being read */
    size_t big = 256 * 1024;
    char *body = malloc(big + 1);
    assert_non_null(body);
    memset(body, 'x', big);
    body[big] = '\0';
    assert_int_equal(fetch("POST", f->port, "/api/v1/report", body, &r), 0);
    assert_int_equal(r.status, 405);
    ASSERT_HEADER(&r, "Allow", "GET, HEAD");
    resp_free(&r);
    free(body);
    assert_int_equal(f->api_calls, 0);

    /* the server still serves afterwards */
    get(f->port, "/healthz", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static void test_not_found(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    static const char *const paths[] = {"/nope", "/metrics/", "/metricsx", "/healthz/x", "/apix"};
    for (size_t i = 0; i < ARRAY_LEN(paths); i++) {
        get(f->port, paths[i], &r);
        if (r.status != 404)
            fail_msg("%s: status %ld", paths[i], r.status);
        ASSERT_HEADER(&r, "Content-Type", "text/plain; charset=utf-8");
        ASSERT_HEADER(&r, "Cache-Control", "no-store");
        resp_free(&r);
    }
    assert_int_equal(f->api_calls, 0);
}

/* onestop_http_requests_total and onestop_http_response_size_bytes count what was
 * answered, by handler and code, at the next scrape. */
static void test_self_metrics(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    char want[128];

    for (int i = 0; i < 3; i++) {
        get(f->port, "/nope", &r);
        resp_free(&r);
    }
    get(f->port, "/healthz", &r);
    size_t healthz_len = r.body.len;
    resp_free(&r);
    get(f->port, "/api/v1/report?from=2022-01-01", &r);
    size_t report_len = r.body.len;
    resp_free(&r);
    get(f->port, "/api/v1/report", &r); /* 400 */
    resp_free(&r);
    get(f->port, "/metrics", &r);
    resp_free(&r);
    get(f->port, "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.data, "# TYPE onestop_http_requests_total counter\n"));
    assert_non_null(
        strstr(r.body.data, "\nonestop_http_requests_total{handler=\"other\",code=\"404\"} 3\n"));
    assert_non_null(
        strstr(r.body.data, "\nonestop_http_requests_total{handler=\"report\",code=\"200\"} 1\n"));
    assert_non_null(
        strstr(r.body.data, "\nonestop_http_requests_total{handler=\"report\",code=\"400\"} 1\n"));
    /* the scrape counts the one before it, not itself */
    assert_non_null(
        strstr(r.body.data, "\nonestop_http_requests_total{handler=\"metrics\",code=\"200\"} 1\n"));
    snprintf(want, sizeof want, "\nonestop_http_response_size_bytes{handler=\"healthz\"} %zu\n",
             healthz_len);
    assert_non_null(strstr(r.body.data, want));
    /* the last report answer was the 400 */
    snprintf(want, sizeof want, "\nonestop_http_response_size_bytes{handler=\"report\"} %zu\n",
             report_len);
    assert_null(strstr(r.body.data, want));
    assert_null(strstr(r.body.data, "onestop_http_response_size_bytes{handler=\"page\"}"));
    resp_free(&r);
}

static void test_api(void **state)
{
    struct fixture *f = *state;
    struct resp r;

    get(f->port, "/api/v1/report?from=2022-01-01&to=2022-12-31", &r);
    assert_int_equal(r.status, 200);
    ASSERT_HEADER(&r, "Content-Type", "application/json");
    ASSERT_HEADER(&r, "Cache-Control", "no-store");
    assert_string_equal(r.body.data, "{\"from\":\"2022-01-01\"}");
    resp_free(&r);

    /* query values arrive decoded */
    get(f->port, "/api/v1/report?from=S%E1%BB%9F%20A&format=csv", &r);
    assert_int_equal(r.status, 200);
    ASSERT_HEADER(&r, "Content-Type", "text/csv; charset=utf-8");
    ASSERT_HEADER(&r, "Content-Disposition", "attachment; filename=\"report.csv\"");
    assert_string_equal(r.body.data, "from\nSở A\n");
    resp_free(&r);

    get(f->port, "/api/v1/report", &r);
    assert_int_equal(r.status, 400);
    ASSERT_HEADER(&r, "Content-Type", "application/json");
    assert_string_equal(r.body.data, "{\"error\":\"missing parameter\",\"parameter\":\"from\"}");
    resp_free(&r);

    get(f->port, "/api/busy", &r);
    assert_int_equal(r.status, 503);
    ASSERT_HEADER(&r, "Retry-After", "7");
    assert_string_equal(r.body.data, "busy\n");
    resp_free(&r);

    get(f->port, "/api/nothing", &r);
    assert_int_equal(r.status, 500);
    ASSERT_HEADER(&r, "Content-Type", "application/json");
    resp_free(&r);

    get(f->port, "/api/v2/other", &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body.data, "{\"error\":\"no such endpoint\",\"parameter\":null}");
    resp_free(&r);
    assert_int_equal(f->api_calls, 6);
}

/* gunzip with zlib's own reader (gzip wrapper required). New buffer. */
static char *gunzip(const char *in, size_t len, size_t *out_len)
{
    z_stream z;
    struct buf b;
    char out[4096];
    int rc;

    memset(&z, 0, sizeof z);
    buf_init(&b);
    assert_int_equal(inflateInit2(&z, 16 + 15), Z_OK);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)len;
    do {
        z.next_out = (unsigned char *)out;
        z.avail_out = sizeof out;
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END)
            fail_msg("inflate: %d", rc);
        buf_append(&b, out, sizeof out - z.avail_out);
    } while (rc != Z_STREAM_END);
    assert_int_equal(z.avail_in, 0);
    inflateEnd(&z);
    return buf_steal(&b, out_len);
}

static void test_gzip(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    struct req gz = {.header = "Accept-Encoding: gzip"};
    static const char page[] = "# HELP onestop_leader test\n# TYPE onestop_leader gauge\n"
                               "onestop_leader 1\n";
    size_t n;

    /* before the first page: identity, since there is nothing gzipped yet */
    assert_int_equal(fetch_ex("GET", f->port, "/metrics", &gz, &r), 0);
    assert_int_equal(r.status, 200);
    ASSERT_HEADER(&r, "Content-Encoding", "");
    ASSERT_HEADER(&r, "Vary", "Accept-Encoding");
    resp_free(&r);

    snapshot_set_metrics(f->snap, xstrdup(page), strlen(page));
    assert_int_equal(fetch_ex("GET", f->port, "/metrics", &gz, &r), 0);
    assert_int_equal(r.status, 200);
    ASSERT_HEADER(&r, "Content-Encoding", "gzip");
    ASSERT_HEADER(&r, "Vary", "Accept-Encoding");
    ASSERT_HEADER(&r, "Content-Type", MET_CONTENT_TYPE);
    ASSERT_HEADER(&r, "X-Content-Type-Options", "nosniff");
    char *plain = gunzip(r.body.data, r.body.len, &n);
    assert_memory_equal(plain, page, strlen(page)); /* the page, then the live tail */
    assert_non_null(strstr(plain, "\nprocess_open_fds "));
    assert_non_null(strstr(plain, "\nonestop_http_auth_failures_total 0\n"));
    assert_int_equal(plain[n - 1], '\n');
    free(plain);
    resp_free(&r);

    /* q=0 refuses gzip; no header at all means identity; curl's own decoding agrees */
    gz.header = "Accept-Encoding: gzip;q=0, identity";
    assert_int_equal(fetch_ex("GET", f->port, "/metrics", &gz, &r), 0);
    ASSERT_HEADER(&r, "Content-Encoding", "");
    ASSERT_HEADER(&r, "Vary", "Accept-Encoding");
    assert_memory_equal(r.body.data, page, strlen(page));
    resp_free(&r);
    get(f->port, "/metrics", &r);
    ASSERT_HEADER(&r, "Content-Encoding", "");
    assert_memory_equal(r.body.data, page, strlen(page));
    resp_free(&r);
    struct req dec = {.decode = 1};
    assert_int_equal(fetch_ex("GET", f->port, "/metrics", &dec, &r), 0);
    ASSERT_HEADER(&r, "Content-Encoding", "gzip");
    assert_memory_equal(r.body.data, page, strlen(page));
    assert_non_null(strstr(r.body.data, "\nprocess_max_fds "));
    resp_free(&r);

    /* HEAD: the same headers, no body */
    gz.header = "Accept-Encoding: gzip";
    assert_int_equal(fetch_ex("HEAD", f->port, "/metrics", &gz, &r), 0);
    ASSERT_HEADER(&r, "Content-Encoding", "gzip");
    assert_int_equal(r.body.len, 0);
    resp_free(&r);
    /* only /metrics is compressed */
    assert_int_equal(fetch_ex("GET", f->port, "/healthz", &gz, &r), 0);
    ASSERT_HEADER(&r, "Content-Encoding", "");
    assert_string_equal(r.body.data, "ok\n");
    resp_free(&r);
}

/* Every answer says nosniff; only the HTML page has a CSP. */
static void test_security_headers(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    static const char *const paths[] = {
        "/metrics", "/healthz", "/readyz", "/api/v1/alerts", "/api/v1/report?from=x", "/nope"};

    for (size_t i = 0; i < ARRAY_LEN(paths); i++) {
        get(f->port, paths[i], &r);
        ASSERT_HEADER(&r, "X-Content-Type-Options", "nosniff");
        ASSERT_HEADER(&r, "Cache-Control", "no-store");
        ASSERT_HEADER(&r, "Content-Security-Policy", "");
        resp_free(&r);
    }
    assert_int_equal(fetch("DELETE", f->port, "/", NULL, &r), 0);
    assert_int_equal(r.status, 405);
    ASSERT_HEADER(&r, "X-Content-Type-Options", "nosniff");
    resp_free(&r);
}

/* A request target over 8 KiB is 414, one under it is served; even far beyond what a
 * connection may buffer the server answers, and goes on serving. */
static void test_uri_too_long(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    char *path = malloc(12000);
    int calls = f->api_calls;

    assert_non_null(path);
    strcpy(path, "/api/v1/report?from=");
    size_t base = strlen(path);
    memset(path + base, 'a', 8000 - base);
    path[8000] = '\0';
    get(f->port, path, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    memset(path + base, 'a', 8193 - base);
    path[8193] = '\0'; /* one byte over */
    get(f->port, path, &r);
    assert_int_equal(r.status, 414);
    ASSERT_HEADER(&r, "X-Content-Type-Options", "nosniff");
    resp_free(&r);
    assert_int_equal(f->api_calls, calls + 1);

    /* 100 KiB: more than MHD buffers for a request line; it answers 414 itself */
    char *huge = malloc(100 * 1024 + 64);
    assert_non_null(huge);
    strcpy(huge, "/metrics?x=");
    memset(huge + 11, 'b', 100 * 1024);
    huge[11 + 100 * 1024] = '\0';
    struct req q = {0};
    assert_int_equal(fetch_ex("GET", f->port, huge, &q, &r), 0);
    assert_int_equal(r.status, 414);
    resp_free(&r);
    free(huge);
    free(path);
    get(f->port, "/healthz", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static void test_bad_listen(void **state)
{
    struct snapshot *snap = snapshot_new();
    char err[256];
    static const char *const bad[] = {"nonsense",     "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999",
                                      "127.0.0.1:x1", ":9787",     "::1:9787",   "[::1]9787",
                                      "[]:9787",      "[::1:9787"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct http_options o = {.listen = bad[i], .snap = snap};
        err[0] = '\0';
        struct http_server *srv = http_start(&o, err, sizeof err);
        if (srv)
            fail_msg("accepted %s", bad[i]);
        if (strncmp(err, bad[i], strlen(bad[i])) != 0)
            fail_msg("error for %s does not name it: %s", bad[i], err);
    }

    /* a host that does not resolve */
    struct http_options o = {.listen = "no-such-host.invalid:9787", .snap = snap};
    assert_null(http_start(&o, err, sizeof err));
    assert_non_null(strstr(err, "no-such-host.invalid:9787: "));

    /* a port already taken: the address and the OS error */
    struct http_options o1 = {.listen = "127.0.0.1:0", .snap = snap};
    struct http_server *first = http_start(&o1, err, sizeof err);
    assert_non_null(first);
    char listen[64], want[128];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", http_port(first));
    struct http_options o2 = {.listen = listen, .snap = snap};
    assert_null(http_start(&o2, err, sizeof err));
    snprintf(want, sizeof want, "%s: ", listen);
    if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, "Address already in use"))
        fail_msg("unexpected error: %s", err);
    http_stop(first);

    http_stop(NULL);
    assert_int_equal(http_port(NULL), 0);
    assert_null(http_start(NULL, err, sizeof err));
    snapshot_free(snap);
}

static void test_any_and_ipv6(void **state)
{
    struct snapshot *snap = snapshot_new();
    char err[256];
    struct resp r;

    /* "*": every address; reachable on IPv4 loopback */
    struct http_options o = {.listen = "*:0", .snap = snap};
    struct http_server *srv = http_start(&o, err, sizeof err);
    if (!srv)
        fail_msg("*:0: %s", err);
    get(http_port(srv), "/healthz", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http_stop(srv);

    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    if (probe < 0) {
        snapshot_free(snap);
        return; /* no IPv6 on this host */
    }
    close(probe);
    o.listen = "[::1]:0";
    srv = http_start(&o, err, sizeof err);
    if (!srv) {
        /* IPv6 sockets but no ::1 (disabled loopback): only the message is checked */
        assert_non_null(strstr(err, "[::1]:0: "));
        snapshot_free(snap);
        return;
    }
    char url[64];
    snprintf(url, sizeof url, "http://[::1]:%u/readyz", http_port(srv));
    CURL *c = curl_easy_init();
    long status = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    assert_int_equal(status, 503);
    http_stop(srv);
    snapshot_free(snap);
}

static void test_reply_error(void **state)
{
    struct http_reply r;
    http_reply_error(&r, 400, "to", "bad date \"x\"");
    assert_int_equal(r.status, 400);
    assert_string_equal(r.content_type, "application/json");
    assert_string_equal(r.body, "{\"error\":\"bad date \\\"x\\\"\",\"parameter\":\"to\"}");
    assert_int_equal(r.len, strlen(r.body));
    assert_null(r.content_disposition);
    assert_int_equal(r.retry_after_s, 0);
    free(r.body);

    /* invalid UTF-8 cannot go into JSON: a generic error instead of no reply */
    http_reply_error(&r, 400, "agency", "bad \xff");
    assert_int_equal(r.status, 400);
    assert_non_null(r.body);
    assert_non_null(strstr(r.body, "\"error\""));
    free(r.body);
}

static void test_snapshot(void **state)
{
    struct snapshot *s = snapshot_new();
    char *page, *status;
    size_t len;
    int db, synced;
    double age;

    assert_int_equal(snapshot_get_metrics(s, &page, &len), 0);
    assert_null(page);
    assert_int_equal(len, 0);
    snapshot_get_state(s, &db, &synced, &status, &age);
    assert_int_equal(db, 0);
    assert_int_equal(synced, 0);
    assert_null(status);
    assert_true(age >= 0 && age < 5);

    snapshot_set_metrics(s, xstrdup("abc"), 3);
    assert_int_equal(snapshot_get_metrics(s, &page, &len), 1);
    assert_int_equal(len, 3);
    assert_string_equal(page, "abc");
    free(page);

    snapshot_set_state(s, 1, 1, "all good");
    snapshot_get_state(s, &db, &synced, &status, &age);
    assert_int_equal(db, 1);
    assert_int_equal(synced, 1);
    assert_string_equal(status, "all good");
    free(status);

    snapshot_set_metrics(NULL, xstrdup("leak?"), 5); /* freed, not leaked */
    snapshot_free(s);
    snapshot_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_before_and_after_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_healthz, setup, teardown),
        cmocka_unit_test(test_healthz_stale),
        cmocka_unit_test_setup_teardown(test_readyz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_security_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uri_too_long, setup, teardown),
        cmocka_unit_test(test_bad_listen),
        cmocka_unit_test(test_any_and_ipv6),
        cmocka_unit_test(test_reply_error),
        cmocka_unit_test(test_snapshot),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
