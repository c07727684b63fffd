/* SPDX-License-Identifier: Apache-2.0 */
/* wq: worker threads behind a bounded ring of jobs (see workq.h). */
#include "workq.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct job {
    wq_fn fn;
    void *arg;
};

struct wq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *ring;
    size_t cap, head, count; /* the queued jobs are ring[head .. head + count) mod cap */
    size_t running;
    int stopping;
    int stopped; /* the threads are joined */
    pthread_t *threads;
    unsigned nthreads; /* started */
};

static void *worker(void *arg)
{
    struct wq *q = arg;

    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->count == 0 && !q->stopping)
            pthread_cond_wait(&q->cv, &q->mu);
        if (q->count == 0)
            break; /* stopping, and nothing left */
        struct job j = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        q->running++;
        int cancelled = q->stopping;
        pthread_mutex_unlock(&q->mu);
        j.fn(j.arg, cancelled);
        pthread_mutex_lock(&q->mu);
        q->running--;
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

struct wq *wq_new(unsigned nthreads, size_t capacity, char *err, size_t errlen)
{
    struct wq *q = calloc(1, sizeof *q);
    int rc;

    if (nthreads < 1)
        nthreads = 1;
    if (capacity < 1)
        capacity = 1;
    if (!q)
        goto oom;
    q->cap = capacity;
    q->ring = calloc(capacity, sizeof *q->ring);
    q->threads = calloc(nthreads, sizeof *q->threads);
    if (!q->ring || !q->threads) {
        free(q->ring);
        free(q->threads);
        free(q);
        goto oom;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    for (unsigned i = 0; i < nthreads; i++) {
        rc = pthread_create(&q->threads[i], NULL, worker, q);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start a worker thread: %s", strerror(rc));
            wq_free(q);
            return NULL;
        }
        q->nthreads++;
    }
    return q;
oom:
    snprintf(err, errlen, "out of memory");
    return NULL;
}

int wq_submit(struct wq *q, wq_fn fn, void *arg, void (*on_queued)(void *cb_arg), void *cb_arg)
{
    pthread_mutex_lock(&q->mu);
    if (q->stopping || q->count == q->cap) {
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    if (on_queued)
        on_queued(cb_arg);
    q->ring[(q->head + q->count) % q->cap] = (struct job){fn, arg};
    q->count++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

size_t wq_busy(struct wq *q)
{
    size_t n;

    if (!q)
        return 0;
    pthread_mutex_lock(&q->mu);
    n = q->count + q->running;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void wq_stop(struct wq *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_broadcast(&q->cv);
    int joined = q->stopped;
    q->stopped = 1;
    pthread_mutex_unlock(&q->mu);
    if (joined)
        return;
    for (unsigned i = 0; i < q->nthreads; i++)
        pthread_join(q->threads[i], NULL);
}

void wq_free(struct wq *q)
{
    if (!q)
        return;
    wq_stop(q);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q->ring);
    free(q->threads);
    free(q);
}
