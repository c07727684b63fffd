/* SPDX-License-Identifier: Apache-2.0 */
/* rp: a thread that shuts down sockets past their deadline (see reaper.h). */
#include "reaper.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "util.h"

struct rp_entry {
    struct rp_entry *prev, *next;
    int fd;
    int64_t deadline_ms;
};

struct rp {
    pthread_mutex_t mu; /* guards everything below, and every entry */
    pthread_cond_t cv;  /* on CLOCK_MONOTONIC, like util_now_ms() */
    struct rp_entry *head;
    int64_t period_ms;
    int stop;
    unsigned long long reaped;
    pthread_t thread;
};

static void *run(void *arg)
{
    struct rp *r = arg;
    struct timespec ts;

    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        int64_t now = util_now_ms();
        for (struct rp_entry *e = r->head; e; e = e->next) {
            if (e->deadline_ms && now >= e->deadline_ms) {
                /* Under the lock: rp_remove (which precedes close) cannot run meanwhile,
                 * so fd is still the socket it was registered as. */
                shutdown(e->fd, SHUT_RDWR);
                e->deadline_ms = 0;
                r->reaped++;
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)(r->period_ms / 1000);
        ts.tv_nsec += (long)(r->period_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

struct rp *rp_new(int64_t period_ms)
{
    struct rp *r = calloc(1, sizeof *r);
    pthread_condattr_t ca;

    if (!r)
        return NULL;
    r->period_ms = period_ms > 0 ? period_ms : 1000;
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&r->thread, NULL, run, r) != 0) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return NULL;
    }
    return r;
}

void rp_free(struct rp *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    while (r->head) {
        struct rp_entry *e = r->head;
        r->head = e->next;
        free(e);
    }
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

struct rp_entry *rp_add(struct rp *r, int fd, int64_t deadline_ms)
{
    struct rp_entry *e = calloc(1, sizeof *e);

    if (!e)
        return NULL;
    e->fd = fd;
    pthread_mutex_lock(&r->mu);
    e->deadline_ms = deadline_ms;
    e->next = r->head;
    if (r->head)
        r->head->prev = e;
    r->head = e;
    pthread_mutex_unlock(&r->mu);
    return e;
}

void rp_set(struct rp *r, struct rp_entry *e, int64_t deadline_ms)
{
    if (!e)
        return;
    pthread_mutex_lock(&r->mu);
    e->deadline_ms = deadline_ms;
    pthread_mutex_unlock(&r->mu);
}

void rp_remove(struct rp *r, struct rp_entry *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&r->mu);
    if (e->prev)
        e->prev->next = e->next;
    else
        r->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    pthread_mutex_unlock(&r->mu);
    free(e);
}

unsigned long long rp_reaped(struct rp *r)
{
    unsigned long long n;

    pthread_mutex_lock(&r->mu);
    n = r->reaped;
    pthread_mutex_unlock(&r->mu);
    return n;
}
