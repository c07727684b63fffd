/* ntf: alert delivery to webhooks (the Alertmanager webhook format) and to Alertmanager's
 * API, on a thread of its own with its own curl handle and a bounded queue: the main loop
 * only enqueues, so a dead receiver never stalls syncing or serving. */
#ifndef ONESTOP_NOTIFY_H
#define ONESTOP_NOTIFY_H

#include <stddef.h>
#include <time.h>

#include "alerts.h"
#include "model.h"

#define NTF_QUEUE_MAX 256
/* In-thread backoff between the attempts of one delivery. */
#define NTF_BACKOFF_BASE_MS 1000L
#define NTF_BACKOFF_MAX_MS 30000L

struct ntf_options {
    long timeout_s;           /* per request */
    long max_retries;         /* after the first attempt */
    const char *bearer_token; /* webhooks only; NULL = none; never logged */
    const char *conninfo;     /* the thread's own connection, to mark webhooks sent */
    const char *password;
};

struct ntf;

/* Starts the thread. NULL when out of memory or the thread cannot start. */
struct ntf *ntf_new(void);
/* Stops the thread after the request in progress (queued jobs are dropped: the webhook
 * ones stay unsent in the database). NULL-safe. */
void ntf_free(struct ntf *n);
/* Takes a copy of the settings (applied from the next request on). 0 or -1 (OOM). */
int ntf_configure(struct ntf *n, const struct ntf_options *o);

/* The main loop calls this before it reads the unsent webhook notifications: a
 * notification the thread settles from here on is not enqueued again this cycle, so a
 * stale read never sends one twice. */
void ntf_cycle_begin(struct ntf *n);
/* Queues a webhook notification (alert_outbox row id). The thread marks the row sent
 * after a 2xx, or puts it off with backoff after the last retry. 0 queued, 1 skipped
 * (already queued, in progress or settled this cycle), -1 queue full or out of memory. */
int ntf_enqueue_webhook(struct ntf *n, long long id, const char *url, const char *body);
/* Queues a POST of body to url + "/api/v2/alerts". 0 or -1 (queue full, OOM). */
int ntf_enqueue_alertmanager(struct ntf *n, const char *url, const char *body);
/* The delivery counters since start. */
void ntf_counts(struct ntf *n, unsigned long long out[ALERT_RCV_COUNT][ALERT_RES_COUNT]);

/* ---- payloads (pure) ---- */

/* "2022-12-20T03:04:05Z"; t <= 0 gives "0001-01-01T00:00:00Z" (Go's zero time). */
void ntf_rfc3339(time_t t, char out[32]);

/* The Alertmanager webhook payload (version 4) for one alert, status "firing" when the
 * alert is firing, "resolved" when resolved. receiver names the receiver; external_url
 * is this daemon's URL (generatorURL is external_url + "/api/v1/alerts"). New string. */
char *ntf_webhook_body(const struct alert *a, const char *receiver, const char *external_url);

/* The Alertmanager API v2 body (POST /api/v2/alerts): a JSON array of
 * {labels, annotations, startsAt, endsAt, generatorURL}. A firing alert gets endsAt =
 * now + ends_in_s (re-posted before then while it lasts), a resolved one its resolve
 * time. New string. */
char *ntf_alertmanager_body(const struct alert *const *v, size_t n, time_t now, long ends_in_s,
                            const char *external_url);

#endif
