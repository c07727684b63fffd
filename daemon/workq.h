/* SPDX-License-Identifier: Apache-2.0 */
/* wq: a fixed pool of worker threads fed by a bounded queue. The HTTP server hands it the
 * requests that may block (a report query, a bcrypt check) so its event threads never do;
 * a full queue is refused at once rather than waited on. */
#ifndef ONESTOP_WORKQ_H
#define ONESTOP_WORKQ_H

#include <stddef.h>

/* A job. cancelled is 1 when the queue stopped before a worker took it: it must then only
 * release what it holds (and answer, if it answers someone). */
typedef void (*wq_fn)(void *arg, int cancelled);

struct wq;

/* Starts nthreads workers (at least 1) behind a queue of capacity jobs (at least 1). The
 * threads inherit the caller's signal mask. NULL with err. */
struct wq *wq_new(unsigned nthreads, size_t capacity, char *err, size_t errlen);

/*
 * Queues fn(arg). When the job is accepted, on_queued(cb_arg) (if not NULL) runs first,
 * under the queue's lock, before any worker can see the job: the HTTP server suspends the
 * connection there, so a worker can never resume it before it is suspended. Returns 0, or
 * -1 when the queue is full or stopping (then nothing ran).
 */
int wq_submit(struct wq *q, wq_fn fn, void *arg, void (*on_queued)(void *cb_arg), void *cb_arg);

/* Stops taking jobs; the workers finish the jobs they run, the jobs still queued run with
 * cancelled = 1, and the threads are joined. Idempotent, NULL-safe. */
void wq_stop(struct wq *q);

/* Jobs queued or running now. */
size_t wq_busy(struct wq *q);

/* Stops (if needed) and frees. NULL-safe. */
void wq_free(struct wq *q);

#endif
