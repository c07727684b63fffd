/* SPDX-License-Identifier: Apache-2.0 */
/* fetch: retries, backoff, Retry-After, 401 refresh, body checks, against a real local
 * HTTP server (libmicrohttpd on 127.0.0.1, an ephemeral port) that plays a script. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fetch.h"
#include "log.h"
#include "util.h"

/* ---- the scripted server ---- */

struct step {
    int status;
    const char *ctype; /* NULL: no Content-Type */
    const char *body;
    const char *retry_after;
    int cut;      /* send only the first `cut` bytes of a longer announced body, then drop */
    int chunked;  /* no Content-Length */
    int delay_ms; /* before answering */
};

#define MAX_REQ 32

static struct {
    pthread_mutex_t mu;
    struct MHD_Daemon *d;
    int port;
    const struct step *steps;
    size_t nsteps;
    int nreq;
    int nconn; /* TCP connections accepted */
    char auth[MAX_REQ][128];
    char url[MAX_REQ][256];
    char method[MAX_REQ][8];
    char ua[MAX_REQ][64];
    char ctype[MAX_REQ][64];
    struct buf upload[MAX_REQ];
} srv = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void script(const struct step *steps, size_t n)
{
    pthread_mutex_lock(&srv.mu);
    srv.steps = steps;
    srv.nsteps = n;
    srv.nreq = 0;
    srv.nconn = 0;
    for (int i = 0; i < MAX_REQ; i++) {
        srv.auth[i][0] = srv.url[i][0] = srv.method[i][0] = srv.ua[i][0] = srv.ctype[i][0] = 0;
        buf_free(&srv.upload[i]);
    }
    pthread_mutex_unlock(&srv.mu);
}

static int requests(void)
{
    pthread_mutex_lock(&srv.mu);
    int n = srv.nreq;
    pthread_mutex_unlock(&srv.mu);
    return n;
}

struct cut_body {
    const char *data;
    size_t len, cut;
};

static ssize_t cut_reader(void *cls, uint64_t pos, char *out, size_t max)
{
    struct cut_body *cb = cls;
    size_t n;

    if (pos >= cb->cut)
        return cb->cut < cb->len ? MHD_CONTENT_READER_END_WITH_ERROR
                                 : MHD_CONTENT_READER_END_OF_STREAM;
    n = cb->cut - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(out, cb->data + pos, n);
    return (ssize_t)n;
}

static void copy_header(struct MHD_Connection *c, const char *name, char *out, size_t outlen)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    snprintf(out, outlen, "%s", v ? v : "");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    struct MHD_Response *r;
    struct step st;
    enum MHD_Result ret;
    int idx;

    if (*con_cls == NULL) {
        /* first call: headers only; claim a request slot */
        pthread_mutex_lock(&srv.mu);
        idx = srv.nreq++;
        if (idx < MAX_REQ) {
            copy_header(c, "Authorization", srv.auth[idx], sizeof(srv.auth[idx]));
            copy_header(c, "User-Agent", srv.ua[idx], sizeof(srv.ua[idx]));
            copy_header(c, "Content-Type", srv.ctype[idx], sizeof(srv.ctype[idx]));
            const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
            snprintf(srv.url[idx], sizeof(srv.url[idx]), "%s%s%s", url, q ? "?token=" : "",
                     q ? q : "");
            snprintf(srv.method[idx], sizeof(srv.method[idx]), "%s", method);
        }
        pthread_mutex_unlock(&srv.mu);
        *con_cls = (void *)(intptr_t)(idx + 1);
        return MHD_YES;
    }
    idx = (int)(intptr_t)*con_cls - 1;
    if (*upload_size > 0) {
        pthread_mutex_lock(&srv.mu);
        if (idx < MAX_REQ)
            buf_append(&srv.upload[idx], upload, *upload_size);
        pthread_mutex_unlock(&srv.mu);
        *upload_size = 0;
        return MHD_YES;
    }

    pthread_mutex_lock(&srv.mu);
    st = srv.steps[(size_t)idx < srv.nsteps ? (size_t)idx : srv.nsteps - 1]; /* last repeats */
    pthread_mutex_unlock(&srv.mu);

    if (st.delay_ms)
        usleep((useconds_t)st.delay_ms * 1000);
    if (st.cut || st.chunked) {
        struct cut_body *cb = malloc(sizeof(*cb));
        cb->data = st.body;
        cb->len = strlen(st.body);
        cb->cut = st.cut ? (size_t)st.cut : cb->len;
        r = MHD_create_response_from_callback(st.chunked ? MHD_SIZE_UNKNOWN : cb->len, 4096,
                                              cut_reader, cb, free);
    } else {
        r = MHD_create_response_from_buffer(strlen(st.body), (void *)(uintptr_t)st.body,
                                            MHD_RESPMEM_PERSISTENT);
    }
    if (st.ctype)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, st.ctype);
    if (st.retry_after)
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, st.retry_after);
    ret = MHD_queue_response(c, (unsigned)st.status, r);
    MHD_destroy_response(r);
    return ret;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        pthread_mutex_lock(&srv.mu);
        srv.nconn++;
        pthread_mutex_unlock(&srv.mu);
    }
}

static int server_start(void **state)
{
    struct sockaddr_in sa;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                             MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_END);
    if (srv.d == NULL)
        return -1;
    srv.port = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT)->port;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    log_set_level(LOG_LVL_ERR); /* the retry warnings would only clutter the test output */
    return srv.port > 0 ? 0 : -1;
}

static int server_stop(void **state)
{
    MHD_stop_daemon(srv.d);
    script(NULL, 0);
    curl_global_cleanup();
    return 0;
}

static char *url_of(const char *path)
{
    return xasprintf("http://127.0.0.1:%d%s", srv.port, path);
}

/* Small, test-sized backoff. */
static const struct fetch_opts quick = {
    .timeout_ms = 5000,
    .connect_timeout_ms = 2000,
    .max_retries = 3,
    .backoff_base_ms = 10,
    .backoff_max_ms = 50,
};

#define JSON_OK "{\"content\":[1,2,3],\"last\":true}"

struct run {
    int rc;
    int attempts;
    json_t *root;
    char err[512];
    int64_t ms;
};

static struct run get(const struct fetch_opts *o, const char *path, fetch_auth_fn auth, void *ctx,
                      struct fetcher *reuse)
{
    struct fetcher *f = reuse ? reuse : fetch_new();
    char *url = url_of(path);
    struct run r = {0};
    int64_t t0 = util_now_ms();

    assert_non_null(f);
    r.attempts = -1;
    r.rc = fetch_json(f, o, url, auth, ctx, &r.root, &r.attempts, r.err, sizeof(r.err));
    r.ms = util_now_ms() - t0;
    if (!reuse)
        fetch_free(f);
    free(url);
    return r;
}

static void expect_ok(struct run *r, int attempts)
{
    if (r->rc != 0)
        fail_msg("fetch_json failed: %s", r->err);
    assert_int_equal(r->attempts, attempts);
    assert_non_null(r->root);
    assert_int_equal(json_array_size(json_object_get(r->root, "content")), 3);
    json_decref(r->root);
}

static void test_503_then_ok(void **state)
{
    static const struct step s[] = {
        {.status = 503, .ctype = "text/plain", .body = "busy"},
        {.status = 200, .ctype = "application/json", .body = JSON_OK},
    };
    script(s, ARRAY_LEN(s));
    struct run r = get(&quick, "/pa/dossier/search", NULL, NULL, NULL);
    expect_ok(&r, 2);
    assert_int_equal(requests(), 2);
}

static void test_retry_after_honoured(void **state)
{
    static const struct step s[] = {
        {.status = 429, .ctype = "application/json", .body = "{}", .retry_after = "1"},
        {.status = 200, .ctype = "application/json", .body = JSON_OK},
    };
    struct fetch_opts o = quick;

    o.backoff_max_ms = 5000; /* room for the server's 1 s */
    script(s, ARRAY_LEN(s));
    struct run r = get(&o, "/x", NULL, NULL, NULL);
    expect_ok(&r, 2);
    assert_true(r.ms >= 1000);
    assert_true(r.ms < 4000);
}

static void test_retry_after_capped(void **state)
{
    static const struct step s[] = {
        {.status = 429, .ctype = "application/json", .body = "{}", .retry_after = "120"},
        {.status = 200, .ctype = "application/json", .body = JSON_OK},
    };
    struct fetch_opts o = quick;

    o.backoff_max_ms = 300; /* caps the server's 120 s */
    script(s, ARRAY_LEN(s));
    struct run r = get(&o, "/x", NULL, NULL, NULL);
    expect_ok(&r, 2);
    assert_true(r.ms >= 300);
    assert_true(r.ms < 2000);
}

static void test_retry_after_date_ignored(void **state)
{
    static const struct step s[] = {
        {.status = 429,
         .ctype = "application/json",
         .body = "{}",
         .retry_after = "Wed, 21 Oct 2037 07:28:00 GMT"},
        {.status = 200, .ctype = "application/json", .body = JSON_OK},
    };
    script(s, ARRAY_LEN(s));
    struct run r = get(&quick, "/x", NULL, NULL, NULL); /* plain backoff, at most 50 ms */
    expect_ok(&r, 2);
    assert_true(r.ms < 1000);
}

static void test_html_200_retried(void **state)
{
    static const struct step s[] = {
        {.status = 200,
         .ctype = "text/html; charset=utf-8",
         .body = "<html><body>Gateway error</body></html>"},
        /* JSON mislabelled as HTML by a gateway is still the answer: the body decides */
        {.status = 200, .ctype = "text/html", .body = JSON_OK},
    };
    script(s, ARRAY_LEN(s));
    struct run r = get(&quick, "/x", NULL, NULL, NULL);
    expect_ok(&r, 2);
}

static void test_bad_bodies_retried(void **state)
{
    static const struct step s[] = {
        {.status = 200,
         .ctype = "application/json",
         .body = "{\"content\":[1,2"},                            /* truncated JSON */
        {.status = 200, .ctype = "application/json", .body = ""}, /* empty */
        {.status = 200, .ctype = "application/json", .body = "Service Unavailable"},
        {.status = 200, .ctype = "application/json", .body = JSON_OK "x"}, /* trailing garbage */
        {.status = 200, .ctype = "application/json", .body = JSON_OK},
    };
    struct fetch_opts o = quick;

    o.max_retries = 4;
    script(s, ARRAY_LEN(s));
    struct run r = get(&o, "/x", NULL, NULL, NULL);
    expect_ok(&r, 5);
}

static void test_truncated_transfer_retried(void **state)
{
    /* announces the whole length, sends half and hangs up: a transport error */
    static const struct step s[] = {
        {.status = 200, .ctype = "application/json", .body = JSON_OK, .cut = 10},
        {.status = 200, .ctype = "application/json", .body = JSON_OK},
    };
    script(s, ARRAY_LEN(s));
    struct run r = get(&quick, "/x", NULL, NULL, NULL);
    expect_ok(&r, 2);

    /* fetch_once reports it as a failed exchange */
    struct fetcher *f = fetch_new();
    struct fetch_response resp;
    char err[256] = "";
    char *url = url_of("/x");
    script(s, 1);
    assert_int_equal(fetch_once(f, &quick, "GET", url, NULL, NULL, &resp, err, sizeof(err)), -1);
    assert_true(err[0] != '\0');
    assert_null(resp.body);
    fetch_free(f);
    free(url);
}

struct auth_log {
    int calls;
    int forced[8];
};

static int test_auth(void *ctx, struct fetcher *f, struct curl_slist **hdrs, int force, char *err,
                     size_t errlen)
{
    struct auth_log *a = ctx;
    struct curl_slist *n;

    if (a->calls < 8)
        a->forced[a->calls] = force;
    a->calls++;
    n = curl_slist_append(*hdrs,
                          force ? "Authorization: Bearer tok2" : "Authorization: Bearer tok1");
    if (n == NULL)
        return -1;
    *hdrs = n;
    return 0;
}

static void test_401_refreshes_once(void **state)
{
    static const struct step s[] = {
        {.status = 401, .ctype = "application/json", .body = "{\"error\":\"invalid_token\"}"},
        {.status = 200, .ctype = "application/json", .body = JSON_OK},
    };
    struct auth_log a = {0};

    script(s, ARRAY_LEN(s));
    struct run r = get(&quick, "/x", test_auth, &a, NULL);
    expect_ok(&r, 2);
    assert_int_equal(a.calls, 2);
    assert_int_equal(a.forced[0], 0);
    assert_int_equal(a.forced[1], 1);
    assert_string_equal(srv.auth[0], "Bearer tok1");
    assert_string_equal(srv.auth[1], "Bearer tok2");
    assert_true(r.ms < 1000); /* no backoff before the refreshed attempt */
}

static void test_401_twice_fails(void **state)
{
    static const struct step s[] = {
        {.status = 401, .ctype = "application/json", .body = "{}"},
    };
    struct auth_log a = {0};

    script(s, ARRAY_LEN(s));
    struct run r = get(&quick, "/x", test_auth, &a, NULL);
    assert_int_equal(r.rc, -1);
    assert_null(r.root);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(requests(), 2);
    assert_int_equal(a.calls, 2);
    assert_int_equal(a.forced[1], 1);
    assert_non_null(strstr(r.err, "HTTP 401"));

    /* without an authorizer a 401 is final */
    script(s, ARRAY_LEN(s));
    r = get(&quick, "/x", NULL, NULL, NULL);
    assert_int_equal(r.rc, -1);
    assert_int_equal(r.attempts, 1);
}

static void test_401_refresh_is_once_per_call(void **state)
{
    /* 401, 503, 401: the second 401 does not refresh again */
    static const struct step s[] = {
        {.status = 401, .ctype = "application/json", .body = "{}"},
        {.status = 503, .ctype = "application/json", .body = "{}"},
        {.status = 401, .ctype = "application/json", .body = "{}"},
        {.status = 200, .ctype = "application/json", .body = JSON_OK},
    };
    struct auth_log a = {0};

    script(s, ARRAY_LEN(s));
    struct run r = get(&quick, "/x", test_auth, &a, NULL);
    assert_int_equal(r.rc, -1);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(a.calls, 3);
    assert_int_equal(a.forced[0] + a.forced[1] + a.forced[2], 1);
}

static int failing_auth(void *ctx, struct fetcher *f, struct curl_slist **hdrs, int force,
                        char *err, size_t errlen)
{
    int *calls = ctx;
    (*calls)++;
    snprintf(err, errlen, "token endpoint: HTTP 503");
    return -1;
}

static void test_auth_failure_retried(void **state)
{
    static const struct step s[] = {{.status = 200, .ctype = "application/json", .body = JSON_OK}};
    int calls = 0;

    script(s, ARRAY_LEN(s));
    struct run r = get(&quick, "/x", failing_auth, &calls, NULL);
    assert_int_equal(r.rc, -1);
    assert_int_equal(r.attempts, 4);
    assert_int_equal(calls, 4);
    assert_int_equal(requests(), 0); /* never sent unauthorised */
    assert_non_null(strstr(r.err, "authorization failed: token endpoint: HTTP 503"));
}

static void test_404_fails_at_once(void **state)
{
    static const struct step s[] = {
        {.status = 404, .ctype = "application/json", .body = "{\"error\":\"not found\"}"},
        {.status = 200, .ctype = "application/json", .body = JSON_OK},
    };
    script(s, ARRAY_LEN(s));
    struct run r = get(&quick, "/x", NULL, NULL, NULL);
    assert_int_equal(r.rc, -1);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(requests(), 1);
    assert_string_equal(r.err, "HTTP 404");

    static const struct step s400[] = {{.status = 400, .ctype = "application/json", .body = "{}"}};
    script(s400, 1);
    r = get(&quick, "/x", NULL, NULL, NULL);
    assert_int_equal(r.rc, -1);
    assert_int_equal(r.attempts, 1);

    /* a redirect is not followed (the auth headers would go along) */
    static const struct step s302[] = {{.status = 302, .ctype = "text/plain", .body = "moved"}};
    script(s302, 1);
    r = get(&quick, "/x", NULL, NULL, NULL);
    assert_int_equal(r.rc, -1);
    assert_int_equal(r.attempts, 1);
    assert_string_equal(r.err, "HTTP 302");
}

static void test_gives_up(void **state)
{
    static const struct step s[] = {{.status = 500, .ctype = "text/plain", .body = "oops"}};
    struct fetch_opts o = quick;

    o.max_retries = 2;
    script(s, ARRAY_LEN(s));
    struct run r = get(&o, "/x", NULL, NULL, NULL);
    assert_int_equal(r.rc, -1);
    assert_null(r.root);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(requests(), 3);
    assert_non_null(strstr(r.err, "HTTP 500"));
    assert_non_null(strstr(r.err, "3 attempts"));

    /* no retries at all */
    o.max_retries = 0;
    script(s, ARRAY_LEN(s));
    r = get(&o, "/x", NULL, NULL, NULL);
    assert_int_equal(r.rc, -1);
    assert_int_equal(r.attempts, 1);
}

static void test_body_limit(void **state)
{
    static char big[2001];
    static struct step s[2];
    struct fetch_opts o = quick;

    memset(big, ' ', sizeof(big) - 1);
    big[0] = '[';
    big[sizeof(big) - 2] = ']';
    o.max_body_bytes = 1000;

    /* with a Content-Length: refused up front */
    s[0] = (struct step){.status = 200, .ctype = "application/json", .body = big};
    script(s, 1);
    struct run r = get(&o, "/x", NULL, NULL, NULL);
    assert_int_equal(r.rc, -1);
    assert_int_equal(r.attempts, 1); /* the same body would be too big again */
    assert_non_null(strstr(r.err, "larger than max_body (1000 bytes)"));

    /* chunked: stopped by the write callback */
    s[0] = (struct step){.status = 200, .ctype = "application/json", .body = big, .chunked = 1};
    script(s, 1);
    r = get(&o, "/x", NULL, NULL, NULL);
    assert_int_equal(r.rc, -1);
    assert_int_equal(r.attempts, 1);
    assert_non_null(strstr(r.err, "larger than max_body (1000 bytes)"));

    /* the limit itself is fine */
    o.max_body_bytes = 2000;
    script(s, 1);
    r = get(&o, "/x", NULL, NULL, NULL);
    assert_int_equal(r.rc, 0);
    assert_int_equal(json_array_size(r.root), 0);
    json_decref(r.root);
}

static volatile int stop_flag;

static void *raise_stop(void *arg)
{
    usleep(300 * 1000);
    stop_flag = 1;
    return NULL;
}

static void test_stop_interrupts_backoff(void **state)
{
    static const struct step s[] = {{.status = 503, .ctype = "text/plain", .body = "busy"}};
    struct fetch_opts o = quick;
    struct fetcher *f = fetch_new();
    pthread_t th;

    o.backoff_base_ms = 10000;
    o.backoff_max_ms = 10000; /* a 5 to 10 s wait, cut short */
    stop_flag = 0;
    fetch_set_stop_flag(f, &stop_flag);
    script(s, ARRAY_LEN(s));
    pthread_create(&th, NULL, raise_stop, NULL);
    struct run r = get(&o, "/x", NULL, NULL, f);
    pthread_join(th, NULL);
    assert_int_equal(r.rc, -1);
    assert_string_equal(r.err, "interrupted");
    assert_int_equal(r.attempts, 1);
    assert_true(r.ms >= 250);
    assert_true(r.ms < 1500); /* slices of at most 200 ms */
    fetch_free(f);
}

static int ticks;
static void count_tick(void *ctx)
{
    (void)ctx;
    ticks++;
}

/* A server that takes 3 s to answer: a shutdown aborts the request itself (not only
 * the backoff), and the tick runs while waiting so a watchdog stays fed. */
static void test_stop_interrupts_slow_request(void **state)
{
    static const struct step s[] = {
        {.status = 200, .ctype = "application/json", .body = JSON_OK, .delay_ms = 3000}};
    struct fetch_opts o = quick;
    struct fetcher *f = fetch_new();
    pthread_t th;

    o.timeout_ms = 20000;
    stop_flag = 0;
    ticks = 0;
    fetch_set_stop_flag(f, &stop_flag);
    fetch_set_tick(f, count_tick, NULL);
    script(s, ARRAY_LEN(s));
    pthread_create(&th, NULL, raise_stop, NULL);
    struct run r = get(&o, "/slow", NULL, NULL, f);
    pthread_join(th, NULL);
    assert_int_equal(r.rc, -1);
    assert_true(r.ms < 2500);
    assert_true(ticks > 0);
    fetch_free(f);
    usleep(3200 * 1000); /* let the server finish the delayed answer */
}

static void test_timeout_and_refused(void **state)
{
    static const struct step s[] = {
        {.status = 200, .ctype = "application/json", .body = JSON_OK, .delay_ms = 700}};
    struct fetch_opts o = quick;

    o.timeout_ms = 200;
    o.max_retries = 0;
    script(s, ARRAY_LEN(s));
    struct run r = get(&o, "/x", NULL, NULL, NULL);
    assert_int_equal(r.rc, -1);
    assert_string_equal(r.err, "timeout (gave up after 1 attempt)");
    usleep(600 * 1000); /* let the server finish the delayed answer */

    /* nobody listening: a transport error, retried */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd); /* the port is now (almost certainly) closed */
    char *url = xasprintf("http://127.0.0.1:%d/x", ntohs(sa.sin_port));
    struct fetcher *f = fetch_new();
    json_t *root = NULL;
    char err[512];
    int attempts = 0;
    o.max_retries = 1;
    assert_int_equal(fetch_json(f, &o, url, NULL, NULL, &root, &attempts, err, sizeof(err)), -1);
    assert_int_equal(attempts, 2);
    assert_null(root);
    fetch_free(f);
    free(url);
}

static void test_log_hides_query(void **state)
{
    static const struct step s[] = {
        {.status = 503, .ctype = "text/plain", .body = "busy", .retry_after = "1"},
        {.status = 200, .ctype = "application/json", .body = JSON_OK},
    };
    FILE *cap = tmpfile();
    int saved = dup(STDERR_FILENO);
    char out[4096] = "";
    size_t n;

    script(s, ARRAY_LEN(s));
    log_set_level(LOG_LVL_WARN);
    dup2(fileno(cap), STDERR_FILENO);
    struct run r = get(&quick, "/pa/dossier/search?token=SECRET123&page=0", NULL, NULL, NULL);
    dup2(saved, STDERR_FILENO);
    close(saved);
    log_set_level(LOG_LVL_ERR);
    expect_ok(&r, 2);
    assert_string_equal(srv.url[0], "/pa/dossier/search?token=SECRET123"); /* it was sent */
    rewind(cap);
    n = fread(out, 1, sizeof(out) - 1, cap);
    out[n] = '\0';
    fclose(cap);
    assert_non_null(strstr(out, "<4>fetch: "));
    assert_non_null(strstr(out, "/pa/dossier/search: HTTP 503"));
    assert_null(strstr(out, "SECRET123"));
    assert_null(strstr(out, "?"));
}

static void test_once_post_and_keepalive(void **state)
{
    static const struct step s[] = {
        {.status = 200,
         .ctype = "application/json",
         .body = "{\"access_token\":\"t\",\"expires_in\":300}",
         .retry_after = "7"},
    };
    struct fetcher *f = fetch_new();
    struct fetch_response resp;
    struct curl_slist *h =
        curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
    char err[256];
    char *url = url_of("/token");

    script(s, ARRAY_LEN(s));
    assert_int_equal(fetch_once(f, &quick, "POST", url, h, "grant_type=client_credentials", &resp,
                                err, sizeof(err)),
                     0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, s[0].body);
    assert_int_equal(resp.len, strlen(s[0].body));
    assert_string_equal(resp.content_type, "application/json");
    assert_int_equal(resp.retry_after_s, 7);
    fetch_response_clear(&resp);
    assert_null(resp.body);
    assert_int_equal(resp.retry_after_s, -1);

    assert_string_equal(srv.method[0], "POST");
    assert_string_equal(srv.ctype[0], "application/x-www-form-urlencoded");
    assert_non_null(srv.upload[0].data);
    assert_string_equal(srv.upload[0].data, "grant_type=client_credentials");
    assert_memory_equal(srv.ua[0], "onestopd/", 9);

    /* the next GET on the same fetcher reuses the connection, with no stale POST state */
    assert_int_equal(fetch_once(f, &quick, "GET", url, NULL, NULL, &resp, err, sizeof(err)), 0);
    fetch_response_clear(&resp);
    assert_string_equal(srv.method[1], "GET");
    assert_null(srv.upload[1].data);
    assert_int_equal(srv.nconn, 1);

    assert_int_equal(fetch_once(f, &quick, "PUT", url, NULL, NULL, &resp, err, sizeof(err)), -1);

    curl_slist_free_all(h);
    free(url);
    fetch_free(f);
    fetch_free(NULL);
    fetch_response_clear(NULL);
}

static void test_backoff_range(void **state)
{
    struct fetch_opts o = {.backoff_base_ms = 100, .backoff_max_ms = 1000};
    struct fetch_opts def = {0};
    long lo0 = 1000, hi0 = 0;

    for (int i = 0; i < 2000; i++) {
        long b0 = fetch_backoff_ms(&o, 0);
        long b1 = fetch_backoff_ms(&o, 1);
        long b9 = fetch_backoff_ms(&o, 9);
        long big = fetch_backoff_ms(&o, 1000); /* no overflow */
        assert_true(b0 >= 50 && b0 <= 100);
        assert_true(b1 >= 100 && b1 <= 200);
        assert_true(b9 >= 500 && b9 <= 1000);
        assert_true(big >= 500 && big <= 1000);
        lo0 = b0 < lo0 ? b0 : lo0;
        hi0 = b0 > hi0 ? b0 : hi0;
        long d = fetch_backoff_ms(&def, 0);
        assert_true(d >= 250 && d <= 500);
        d = fetch_backoff_ms(&def, 30);
        assert_true(d >= 30000 && d <= 60000);
    }
    assert_true(hi0 - lo0 >= 30); /* there is jitter */
}

static void test_escape(void **state)
{
    char *s = fetch_escape("a b&c=d/é~-._+");
    assert_string_equal(s, "a%20b%26c%3Dd%2F%C3%A9~-._%2B");
    free(s);
    s = fetch_escape("");
    assert_string_equal(s, "");
    free(s);
    s = fetch_escape("000.00.12.H12-220103-0007");
    assert_string_equal(s, "000.00.12.H12-220103-0007");
    free(s);
    assert_null(fetch_escape(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_503_then_ok),
        cmocka_unit_test(test_retry_after_honoured),
        cmocka_unit_test(test_retry_after_capped),
        cmocka_unit_test(test_retry_after_date_ignored),
        cmocka_unit_test(test_html_200_retried),
        cmocka_unit_test(test_bad_bodies_retried),
        cmocka_unit_test(test_truncated_transfer_retried),
        cmocka_unit_test(test_401_refreshes_once),
        cmocka_unit_test(test_401_twice_fails),
        cmocka_unit_test(test_401_refresh_is_once_per_call),
        cmocka_unit_test(test_auth_failure_retried),
        cmocka_unit_test(test_404_fails_at_once),
        cmocka_unit_test(test_gives_up),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_stop_interrupts_backoff),
        cmocka_unit_test(test_stop_interrupts_slow_request),
        cmocka_unit_test(test_timeout_and_refused),
        cmocka_unit_test(test_log_hides_query),
        cmocka_unit_test(test_once_post_and_keepalive),
        cmocka_unit_test(test_backoff_range),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, server_start, server_stop);
}
