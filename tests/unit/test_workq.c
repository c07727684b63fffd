/* SPDX-License-Identifier: Apache-2.0 */
/* wq: jobs run on the workers, a full queue refuses at once, on_queued runs before a worker
 * sees the job, and a stop runs what is queued as cancelled. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "workq.h"

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;
    atomic_int ran, cancelled, started;
    atomic_int queued_flag; /* set by on_queued; a job asserts it saw it */
    atomic_int order_bad;
};

static void gate_init(struct gate *g)
{
    memset(g, 0, sizeof *g);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void blocking_job(void *arg, int cancelled)
{
    struct gate *g = arg;

    if (cancelled) {
        g->cancelled++;
        return;
    }
    g->started++;
    pthread_mutex_lock(&g->mu);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    g->ran++;
}

static void mark(void *arg)
{
    struct gate *g = arg;
    g->queued_flag = 1;
}

static void checking_job(void *arg, int cancelled)
{
    struct gate *g = arg;
    if (!g->queued_flag)
        g->order_bad = 1;
    g->queued_flag = 0;
    g->ran++;
}

static void wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < 2000 && *v < want; i++)
        usleep(1000);
    assert_int_equal(*v, want);
}

static void test_run_and_full(void **state)
{
    struct gate g;
    char err[128];
    struct wq *q;

    gate_init(&g);
    q = wq_new(2, 3, err, sizeof err);
    assert_non_null(q);
    /* two run (and block), three wait, the sixth is refused at once */
    for (int i = 0; i < 2; i++)
        assert_int_equal(wq_submit(q, blocking_job, &g, NULL, NULL), 0);
    wait_for(&g.started, 2);
    for (int i = 0; i < 3; i++)
        assert_int_equal(wq_submit(q, blocking_job, &g, NULL, NULL), 0);
    assert_int_equal(wq_busy(q), 5);
    int64_t t0 = util_now_ms();
    assert_int_equal(wq_submit(q, blocking_job, &g, NULL, NULL), -1);
    assert_true(util_now_ms() - t0 < 100);
    gate_open(&g);
    wait_for(&g.ran, 5);
    for (int i = 0; i < 20 && wq_busy(q) > 0; i++)
        usleep(1000);
    assert_int_equal(wq_busy(q), 0);
    assert_int_equal(g.cancelled, 0);
    wq_free(q);
    wq_free(NULL);
    wq_stop(NULL);
    assert_int_equal(wq_busy(NULL), 0);
}

static void test_on_queued_first(void **state)
{
    struct gate g;
    char err[128];
    struct wq *q;

    gate_init(&g);
    q = wq_new(3, 64, err, sizeof err);
    for (int i = 0; i < 200; i++) {
        while (wq_submit(q, checking_job, &g, mark, &g) != 0)
            usleep(100);
        while (g.ran < i + 1)
            usleep(50);
    }
    assert_int_equal(g.order_bad, 0);
    wq_free(q);
}

static void *stopper(void *q)
{
    wq_stop(q);
    return NULL;
}

static void test_stop_cancels_queued(void **state)
{
    struct gate g;
    char err[128];
    struct wq *q;
    pthread_t t;

    gate_init(&g);
    q = wq_new(1, 4, err, sizeof err);
    for (int i = 0; i < 4; i++)
        assert_int_equal(wq_submit(q, blocking_job, &g, NULL, NULL), 0);
    wait_for(&g.started, 1);
    /* stop from another thread: it waits for the running job, which the gate holds */
    assert_int_equal(pthread_create(&t, NULL, stopper, q), 0);
    usleep(50000);
    assert_int_equal(wq_submit(q, blocking_job, &g, NULL, NULL), -1); /* stopping */
    gate_open(&g);
    pthread_join(t, NULL);
    assert_int_equal(g.ran, 1);
    assert_int_equal(g.cancelled, 3);
    wq_stop(q); /* again: nothing */
    wq_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_and_full),
        cmocka_unit_test(test_on_queued_first),
        cmocka_unit_test(test_stop_cancels_queued),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
