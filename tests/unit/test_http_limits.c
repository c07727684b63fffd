/* SPDX-License-Identifier: Apache-2.0 */
/* http under pressure: slow API handlers run on workers while scrapes answer at once; a
 * full worker queue answers 503 with Retry-After quickly; connections whose headers are
 * overdue are closed (slowloris); hundreds of half-sent connections from other addresses
 * do not slow a scrape; a stop with requests queued and running. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "httptest.h"
#include "snapshot.h"
#include "util.h"

struct fixture {
    struct snapshot *snap;
    struct http_server *srv;
    unsigned port;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;           /* /api/block returns once set */
    atomic_int blocked; /* handlers waiting now */
    atomic_int calls;
};

static void api_handler(void *ctx, const struct http_request *req, struct http_reply *out)
{
    struct fixture *f = ctx;

    f->calls++;
    if (strcmp(req->path, "/api/block") == 0) {
        f->blocked++;
        pthread_mutex_lock(&f->mu);
        while (!f->open)
            pthread_cond_wait(&f->cv, &f->mu);
        pthread_mutex_unlock(&f->mu);
        f->blocked--;
    }
    out->status = 200;
    out->content_type = "text/plain; charset=utf-8";
    out->body = xstrdup("done\n");
    out->len = 5;
}

static void release(struct fixture *f)
{
    pthread_mutex_lock(&f->mu);
    f->open = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static struct fixture *start(long header_timeout_s, long timeout_s, long max_connections)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];

    assert_non_null(f);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->snap = snapshot_new();
    snapshot_set_metrics(f->snap, xstrdup("onestop_leader 1\n"), 17);
    struct http_options o = {.listen = "127.0.0.1:0",
                             .max_connections = max_connections,
                             .timeout_s = timeout_s,
                             .header_timeout_s = header_timeout_s,
                             .snap = f->snap,
                             .api = api_handler,
                             .api_ctx = f};
    f->srv = http_start(&o, err, sizeof err);
    if (!f->srv)
        fail_msg("http_start: %s", err);
    f->port = http_port(f->srv);
    return f;
}

static void stop(struct fixture *f)
{
    release(f);
    http_stop(f->srv);
    snapshot_free(f->snap);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static int send_request(struct fixture *f, const char *path)
{
    char req[256];
    int fd = raw_connect(NULL, f->port);

    assert_true(fd >= 0);
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
    assert_int_equal(raw_send(fd, req), 0);
    return fd;
}

/* The whole answer on fd (until the server closes it). New string. */
static char *read_answer(int fd, int ms)
{
    struct buf b;
    char tmp[4096];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int64_t end = util_now_ms() + ms;

    buf_init(&b);
    while (util_now_ms() < end) {
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0)
            break;
        buf_append(&b, tmp, (size_t)n);
    }
    buf_puts(&b, "");
    return buf_steal(&b, NULL);
}

static void wait_blocked(struct fixture *f, int want)
{
    for (int i = 0; i < 500 && f->blocked < want; i++)
        usleep(10000);
    assert_int_equal(f->blocked, want);
}

static void test_slow_api_and_full_queue(void **state)
{
    struct fixture *f = start(0, 30, 200);
    int fds[HTTP_WORKERS + HTTP_QUEUE];
    struct resp r;

    /* Every worker busy with a report that does not end. */
    for (int i = 0; i < HTTP_WORKERS; i++)
        fds[i] = send_request(f, "/api/block");
    wait_blocked(f, HTTP_WORKERS);
    /* Scrapes do not wait for them. */
    for (int i = 0; i < 5; i++) {
        get(f->port, "/metrics", &r);
        assert_int_equal(r.status, 200);
        if (r.seconds > 0.5)
            fail_msg("/metrics took %.3f s behind busy workers", r.seconds);
        resp_free(&r);
    }
    /* The queue fills; the next API request is refused at once. */
    for (int i = HTTP_WORKERS; i < HTTP_WORKERS + HTTP_QUEUE; i++)
        fds[i] = send_request(f, "/api/block");
    usleep(200000);
    get(f->port, "/api/v1/report", &r);
    assert_int_equal(r.status, 503);
    ASSERT_HEADER(&r, "Retry-After", "1");
    ASSERT_HEADER(&r, "Content-Type", "application/json");
    ASSERT_HEADER(&r, "X-Content-Type-Options", "nosniff");
    assert_true(r.seconds < 0.5);
    resp_free(&r);
    get(f->port, "/healthz", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);

    /* Released: every queued request gets its answer. */
    release(f);
    for (int i = 0; i < HTTP_WORKERS + HTTP_QUEUE; i++) {
        char *a = read_answer(fds[i], 10000);
        if (strncmp(a, "HTTP/1.1 200", 12) != 0 || !strstr(a, "\r\n\r\ndone\n"))
            fail_msg("request %d: %.80s", i, a);
        free(a);
        close(fds[i]);
    }
    assert_int_equal(f->calls, HTTP_WORKERS + HTTP_QUEUE);
    stop(f);
}

/* A stop with handlers running and requests queued: the running ones finish, the queued
 * ones are answered 503 (or cut), and nothing leaks or crashes. */
static void *stopper(void *arg)
{
    struct fixture *f = arg;
    http_stop(f->srv);
    return NULL;
}

static void test_stop_with_queued(void **state)
{
    struct fixture *f = start(0, 30, 200);
    int fds[HTTP_WORKERS + 3];
    pthread_t t;

    for (int i = 0; i < HTTP_WORKERS; i++)
        fds[i] = send_request(f, "/api/block");
    wait_blocked(f, HTTP_WORKERS);
    for (int i = HTTP_WORKERS; i < HTTP_WORKERS + 3; i++)
        fds[i] = send_request(f, "/api/block");
    usleep(200000);
    assert_int_equal(pthread_create(&t, NULL, stopper, f), 0);
    usleep(200000);
    release(f);
    pthread_join(t, NULL);
    assert_int_equal(f->calls, HTTP_WORKERS); /* the queued ones never ran */
    for (int i = 0; i < HTTP_WORKERS + 3; i++) {
        char *a = read_answer(fds[i], 5000);
        if (i >= HTTP_WORKERS && a[0] && !strstr(a, " 503 "))
            fail_msg("queued request %d: %.80s", i, a);
        free(a);
        close(fds[i]);
    }
    snapshot_free(f->snap);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* Header deadline 1 s: a silent connection, a trickling one and an idle kept-alive one are
 * closed; a complete request is served. */
static void test_header_timeout(void **state)
{
    struct fixture *f = start(1, 2, 64);
    int silent = raw_connect(NULL, f->port), trickle = raw_connect(NULL, f->port);
    int64_t t0 = util_now_ms();

    assert_true(silent >= 0 && trickle >= 0);
    assert_int_equal(raw_send(trickle, "GET /metrics HTTP/1.1\r\n"), 0);
    /* one header byte every 200 ms would keep an idle timeout at bay forever */
    int closed = 0;
    for (int i = 0; i < 20 && !closed; i++) {
        if (raw_send(trickle, "X") != 0)
            break;
        closed = raw_closed_within(trickle, 200);
    }
    int64_t took = util_now_ms() - t0;
    if (!closed && took < 3000)
        closed = 1; /* the send failed: the server had closed it */
    assert_true(closed);
    if (took < 900 || took > 2500)
        fail_msg("trickling connection closed after %lld ms", (long long)took);
    assert_true(raw_closed_within(silent, 2000));
    close(silent);
    close(trickle);

    /* A whole request is answered on a kept-alive connection, which is then closed once
     * idle for the longer of the idle timeout (here 2 s) and the header deadline. */
    int ka = raw_connect(NULL, f->port);
    assert_int_equal(raw_send(ka, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    t0 = util_now_ms();
    char *a = read_answer(ka, 4000);
    assert_int_equal(strncmp(a, "HTTP/1.1 200", 12), 0);
    assert_non_null(strstr(a, "ok\n"));
    assert_null(strstr(a, "Connection: close"));
    free(a);
    took = util_now_ms() - t0;
    if (took < 1900 || took > 3500)
        fail_msg("kept-alive connection closed after %lld ms", (long long)took);
    close(ka);
    stop(f);
}

/* 300 half-sent requests from eight other loopback addresses: a scrape from 127.0.0.1 still
 * answers at once, every time. */
static void test_many_half_sent(void **state)
{
    struct fixture *f = start(30, 30, 512);
    int fds[300], held = 0;
    struct resp r;
    double worst = 0;

    for (int i = 0; i < 300; i++) {
        char src[16];
        snprintf(src, sizeof src, "127.0.0.%d", 2 + i % 8);
        fds[i] = raw_connect(src, f->port);
        if (fds[i] >= 0 && raw_send(fds[i], "GET /metrics HTTP/1.1\r\nHost: t\r\nX-a: ") == 0)
            held++;
    }
    assert_int_equal(held, 300);
    usleep(200000);
    for (int i = 0; i < 10; i++) {
        get(f->port, "/metrics", &r);
        assert_int_equal(r.status, 200);
        if (r.seconds > worst)
            worst = r.seconds;
        resp_free(&r);
        usleep(50000);
    }
    if (worst > 0.5)
        fail_msg("a scrape took %.3f s beside 300 half-sent requests", worst);
    /* they are still held (the deadline is 30 s): none was closed to make room */
    int open = 0;
    for (int i = 0; i < 300; i++)
        open += !raw_closed_within(fds[i], 0);
    assert_int_equal(open, 300);
    for (int i = 0; i < 300; i++)
        close(fds[i]);
    stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_api_and_full_queue),
        cmocka_unit_test(test_stop_with_queued),
        cmocka_unit_test(test_header_timeout),
        cmocka_unit_test(test_many_half_sent),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
