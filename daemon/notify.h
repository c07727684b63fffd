/* SPDX-License-Identifier: Apache-2.0 */
/* ntf: alert delivery, on two threads of its own so that a dead receiver never stalls
 * syncing, serving, or the other kind of receiver:
 *   - the webhook thread claims the due rows of alert_outbox one at a time in the
 *     database (so two instances never send the same row at once), POSTs each once, and
 *     records the outcome (sent, or the next attempt's time); the retry schedule lives in
 *     the rows;
 *   - the Alertmanager thread re-posts the current set of alerts every minute on its own
 *     timer (endsAt recomputed each time), and at once when the set changes.
 * Each thread has its own curl handle; the webhook thread its own database connection. */
#ifndef ONESTOP_NOTIFY_H
#define ONESTOP_NOTIFY_H

#include <stddef.h>
#include <time.h>

#include "alert.h"
#include "model.h"

/* A request never waits longer than this, whatever [alert] timeout says (a shutdown aborts
 * a request at once anyway). */
#define NTF_TIMEOUT_MAX_S 30L
/* Backoff between the quick attempts of one delivery round (doubling from the base). */
#define NTF_BACKOFF_BASE_MS 1000L
#define NTF_BACKOFF_MAX_MS 30000L
/* After a round of 1 + max_retries failed attempts: 30 s, doubling per round, at most an
 * hour. */
#define NTF_ROUND_BASE_S 30L
#define NTF_ROUND_MAX_S 3600L
/* A webhook notification still failing this long after it was queued is abandoned. */
#define NTF_ABANDON_AGE_S (7L * 86400)
/* Alertmanager: re-post period, endsAt = now + NTF_AM_ENDS_FACTOR x that, and how long a
 * resolved alert keeps being posted (as resolved) after it resolved, as Prometheus does. */
#define NTF_AM_RESEND_S 60L
#define NTF_AM_ENDS_FACTOR 4
#define NTF_AM_KEEP_RESOLVED_S (15L * 60)
/* At shutdown, outcomes not yet recorded are retried for this long at most. */
#define NTF_STOP_FLUSH_MS 2000L

struct ntf_options {
    long timeout_s;                /* per request; clamped to 1..NTF_TIMEOUT_MAX_S */
    long max_retries;              /* quick retries in a round */
    const char *bearer_token;      /* webhooks only; NULL = none; never logged */
    const char *conninfo;          /* the webhook thread's own connection */
    const char *password;          /* NULL = none */
    const char *webhook_urls;      /* blank-separated; NULL = none */
    const char *alertmanager_urls; /* blank-separated base URLs; NULL = none */
    const char *external_url;      /* for generatorURL */
    long am_resend_s;              /* 0 = NTF_AM_RESEND_S (tests use less) */
};

struct ntf;

/* Starts the threads. NULL when out of memory or a thread cannot start. */
struct ntf *ntf_new(void);
/* Stops the threads: a request in flight is aborted, a backoff wait ends at once, and the
 * outcomes not yet recorded are retried for NTF_STOP_FLUSH_MS at most (a claimed row
 * whose POST was aborted is released). Returns within a few seconds. NULL-safe. */
void ntf_free(struct ntf *n);
/* Takes a copy of the settings (applied from the next request on). 0 or -1 (OOM). */
int ntf_configure(struct ntf *n, const struct ntf_options *o);
/* Leader (1) or not (0). Not the leader: the webhook thread claims no more rows (a row
 * claimed but not yet posted is released; a POST in flight is finished and recorded), and
 * the Alertmanager set is dropped unposted. Nothing is queued in memory to clear. */
void ntf_set_leader(struct ntf *n, int leader);
/* alert_outbox may hold new due rows: the webhook thread looks now. */
void ntf_kick(struct ntf *n);
/* The alerts to post to Alertmanager (firing ones, and resolved ones until
 * NTF_AM_KEEP_RESOLVED_S after they resolved), copied. A set that differs from the last
 * one in its fingerprints or states is posted at once; otherwise the timer re-posts it.
 * 0 or -1 (OOM; the previous set stays). */
int ntf_set_alertmanager_alerts(struct ntf *n, const struct alert *const *v, size_t count);
/* The delivery counters since start. NULL-safe (zeros). */
void ntf_counts(struct ntf *n, unsigned long long out[ALERT_RCV_COUNT][ALERT_RES_COUNT]);

/* ---- pure helpers ---- */

/* What follows a failed webhook attempt. attempts_before: the row's failed attempts so
 * far; retryable: a transport error, 5xx, 408 or 429 (another 4xx ends the round at once);
 * age_s: since the row was queued. */
struct ntf_retry_plan {
    long attempts;            /* the row's new attempts count */
    long delay_ms;            /* until the next attempt */
    enum alert_result result; /* ALERT_RES_RETRY inside a round, else ALERT_RES_FAILURE */
    int abandon;              /* older than NTF_ABANDON_AGE_S: give up for good */
};
void ntf_plan_retry(long attempts_before, long max_retries, int retryable, long age_s,
                    struct ntf_retry_plan *out);

/* "2022-12-20T03:04:05Z"; t <= 0 gives "0001-01-01T00:00:00Z" (Go's zero time). */
void ntf_rfc3339(time_t t, char out[32]);

/* The Alertmanager webhook payload (version 4) for one alert, status "firing" when the
 * alert is firing, "resolved" when resolved; startsAt is when the alert became pending, as
 * Prometheus has it. receiver names the receiver; external_url is this daemon's URL
 * (generatorURL is external_url + "/api/v1/alerts"). New string. */
char *ntf_webhook_body(const struct alert *a, const char *receiver, const char *external_url);

/* The Alertmanager API v2 body (POST /api/v2/alerts): a JSON array of
 * {labels, annotations, startsAt, endsAt, generatorURL}. startsAt is when the alert became
 * pending; a firing alert gets endsAt = now + ends_in_s (re-posted before then while it
 * lasts), a resolved one its resolve time. New string. */
char *ntf_alertmanager_body(const struct alert *const *v, size_t n, time_t now, long ends_in_s,
                            const char *external_url);

#endif
