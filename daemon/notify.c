/* ntf: alert delivery on a thread of its own. The main loop only enqueues; this thread
 * owns its curl handle (libcurl handles are never shared between threads) and its own
 * database connection, on which it marks a webhook notification sent only after the
 * webhook answered 2xx. */
#include "notify.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"
#include "log.h"
#include "pgutil.h"
#include "util.h"
#include "version.h"

/* How long the thread waits before it tries again to record results in the database. */
#define MARK_RETRY_MS 5000L
/* Response bodies are read and dropped; receivers answer with little. */
#define MAX_RESPONSE_BYTES (1L << 20)

enum job_kind { JOB_WEBHOOK, JOB_ALERTMANAGER };

struct job {
    struct job *next;
    enum job_kind kind;
    long long id; /* alert_outbox row (webhooks) */
    char *url;
    char *body;
};

/* A webhook row whose outcome is not yet recorded in the database. */
struct mark {
    long long id;
    int sent; /* 1 delivered, 0 gave up */
};

struct idset {
    long long *v;
    size_t n, cap;
};

struct ntf {
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;

    /* under mu */
    struct job *head, *tail;
    size_t queued;
    struct idset busy;    /* webhook rows queued, in progress or delivered but unrecorded */
    struct idset settled; /* webhook rows settled since ntf_cycle_begin */
    struct mark *marks;   /* outcomes to record (the database was unreachable) */
    size_t nmarks, capmarks;
    int64_t next_mark_ms; /* when to try recording them again (util_now_ms) */
    unsigned long long counts[ALERT_RCV_COUNT][ALERT_RES_COUNT];
    long timeout_s, max_retries;
    char *token, *conninfo, *password;
    unsigned generation; /* bumped when conninfo/password change */

    /* thread only */
    struct fetcher *fetcher;
    PGconn *conn;
    unsigned conn_generation;
    struct log_complaint complaint[ALERT_RCV_COUNT];
    struct log_complaint db_complaint;
};

/* ---- small containers ---- */

static int idset_has(const struct idset *s, long long id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == id)
            return 1;
    return 0;
}

static int idset_add(struct idset *s, long long id)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        long long *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = id;
    return 0;
}

static void idset_del(struct idset *s, long long id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == id) {
            s->v[i] = s->v[--s->n];
            return;
        }
}

static void job_free(struct job *j)
{
    if (!j)
        return;
    free(j->url);
    free(j->body);
    free(j);
}

static void free_secret(char **p)
{
    if (*p) {
        explicit_bzero(*p, strlen(*p));
        sfree(*p);
    }
}

/* ---- payloads ---- */

void ntf_rfc3339(time_t t, char out[32])
{
    struct tm tm;

    if (t <= 0 || !gmtime_r(&t, &tm)) {
        snprintf(out, 32, "0001-01-01T00:00:00Z");
        return;
    }
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Alertmanager's group key for a group made of this one label set:
 * {}:{name="value", ...} with the names sorted. */
static char *group_key(const json_t *labels)
{
    const char *keys[32];
    size_t n = 0;
    const char *k;
    json_t *v;
    struct buf b;

    json_object_foreach((json_t *)labels, k, v)
    {
        if (n < ARRAY_LEN(keys))
            keys[n++] = k;
    }
    qsort(keys, n, sizeof *keys, key_cmp);
    buf_init(&b);
    buf_puts(&b, "{}:{");
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_object_get(labels, keys[i]));
        buf_printf(&b, "%s%s=\"", i ? ", " : "", keys[i]);
        for (; s && *s; s++) {
            if (*s == '"' || *s == '\\')
                buf_puts(&b, "\\");
            buf_append(&b, s, 1);
        }
        buf_puts(&b, "\"");
    }
    buf_puts(&b, "}");
    return buf_steal(&b, NULL);
}

static char *generator_url(const char *external_url)
{
    return xasprintf("%s/api/v1/alerts", external_url ? external_url : "");
}

char *ntf_webhook_body(const struct alert *a, const char *receiver, const char *external_url)
{
    char starts[32], ends[32];
    const char *status = a->state == ALERT_RESOLVED ? "resolved" : "firing";
    char *gk = group_key(a->labels), *gen = generator_url(external_url), *out = NULL;
    json_t *alert = NULL, *doc = NULL;

    if (!gk || !gen)
        goto cleanup;
    ntf_rfc3339(a->firing_since ? a->firing_since : a->active_since, starts);
    ntf_rfc3339(a->state == ALERT_RESOLVED ? a->resolved_at : 0, ends);
    alert = json_pack("{s:s, s:O, s:O, s:s, s:s, s:s, s:s}", "status", status, "labels", a->labels,
                      "annotations", a->annotations, "startsAt", starts, "endsAt", ends,
                      "generatorURL", gen, "fingerprint", a->fingerprint);
    if (!alert)
        goto cleanup;
    /* One alert per notification: the group is the alert's whole label set. */
    doc = json_pack("{s:s, s:s, s:i, s:s, s:s, s:O, s:O, s:O, s:s, s:[O]}", "version", "4",
                    "groupKey", gk, "truncatedAlerts", 0, "status", status, "receiver",
                    receiver ? receiver : "onestopd", "groupLabels", a->labels, "commonLabels",
                    a->labels, "commonAnnotations", a->annotations, "externalURL",
                    external_url ? external_url : "", "alerts", alert);
    if (doc)
        out = json_dumps(doc, JSON_COMPACT);
cleanup:
    json_decref(alert);
    json_decref(doc);
    free(gk);
    free(gen);
    return out;
}

char *ntf_alertmanager_body(const struct alert *const *v, size_t n, time_t now, long ends_in_s,
                            const char *external_url)
{
    json_t *arr = json_array();
    char *gen = generator_url(external_url), *out = NULL;

    if (!arr || !gen)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        const struct alert *a = v[i];
        char starts[32], ends[32];
        ntf_rfc3339(a->firing_since ? a->firing_since : a->active_since, starts);
        ntf_rfc3339(a->state == ALERT_RESOLVED ? a->resolved_at : now + ends_in_s, ends);
        json_t *o =
            json_pack("{s:O, s:O, s:s, s:s, s:s}", "labels", a->labels, "annotations",
                      a->annotations, "startsAt", starts, "endsAt", ends, "generatorURL", gen);
        if (!o || json_array_append_new(arr, o) != 0)
            goto cleanup;
    }
    out = json_dumps(arr, JSON_COMPACT);
cleanup:
    json_decref(arr);
    free(gen);
    return out;
}

/* ---- the thread ---- */

/* The URL up to its query string, for the log (a query may hold a secret). */
static void url_for_log(const char *url, char *out, size_t outlen)
{
    snprintf(out, outlen, "%.*s", (int)strcspn(url, "?#"), url);
}

static void count(struct ntf *n, enum alert_receiver r, enum alert_result res)
{
    pthread_mutex_lock(&n->mu);
    n->counts[r][res]++;
    pthread_mutex_unlock(&n->mu);
}

/* Sleeps ms unless stopped (or, with wake_on_job, until a job arrives); 1 when stopped.
 * Called without the lock. */
static int nap(struct ntf *n, long ms, int wake_on_job)
{
    struct timespec ts;
    int stopped;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&n->mu);
    while (!n->stop && !(wake_on_job && n->head) &&
           pthread_cond_timedwait(&n->cv, &n->mu, &ts) != ETIMEDOUT)
        ;
    stopped = n->stop;
    pthread_mutex_unlock(&n->mu);
    return stopped;
}

static void free_headers(struct curl_slist *h)
{
    /* One of them may hold the bearer token. */
    for (struct curl_slist *p = h; p; p = p->next)
        explicit_bzero(p->data, strlen(p->data));
    curl_slist_free_all(h);
}

/* Appends header h to *l; on failure frees the list (*l = NULL) and returns -1. */
static int add_header(struct curl_slist **l, const char *h)
{
    struct curl_slist *nl = curl_slist_append(*l, h);

    if (!nl) {
        free_headers(*l);
        *l = NULL;
        return -1;
    }
    *l = nl;
    return 0;
}

enum outcome { OUT_SENT, OUT_FAILED, OUT_STOPPED };

/* POSTs the job with retries and backoff. */
static enum outcome deliver(struct ntf *n, const struct job *j)
{
    enum alert_receiver rcv = j->kind == JOB_WEBHOOK ? ALERT_RCV_WEBHOOK : ALERT_RCV_ALERTMANAGER;
    struct fetch_opts fo = {0};
    struct curl_slist *hdrs = NULL;
    char logurl[512], err[256];
    char *url = NULL, *auth = NULL;
    long retries;
    int want_auth;
    enum outcome rc = OUT_FAILED;

    pthread_mutex_lock(&n->mu);
    fo.timeout_ms = n->timeout_s * 1000;
    retries = n->max_retries;
    want_auth = j->kind == JOB_WEBHOOK && n->token;
    if (want_auth)
        auth = xasprintf("Authorization: Bearer %s", n->token);
    pthread_mutex_unlock(&n->mu);
    fo.connect_timeout_ms = fo.timeout_ms;
    fo.max_body_bytes = MAX_RESPONSE_BYTES;
    fo.backoff_base_ms = NTF_BACKOFF_BASE_MS;
    fo.backoff_max_ms = NTF_BACKOFF_MAX_MS;

    if (j->kind == JOB_WEBHOOK) {
        url = xstrdup(j->url);
    } else {
        int len = (int)strlen(j->url);
        while (len > 0 && j->url[len - 1] == '/')
            len--; /* "http://am:9093/" is the same Alertmanager */
        url = xasprintf("%.*s/api/v2/alerts", len, j->url);
    }
    /* "Expect:" drops the 100-continue round trip before the body. */
    int hok = add_header(&hdrs, "Content-Type: application/json") == 0 &&
              add_header(&hdrs, "Expect:") == 0 &&
              (!want_auth || (auth && add_header(&hdrs, auth) == 0));
    if (auth) {
        explicit_bzero(auth, strlen(auth));
        free(auth);
    }
    if (!url || !hok) {
        log_err("alert", "out of memory delivering a notification");
        count(n, rcv, ALERT_RES_FAILURE);
        goto cleanup;
    }
    url_for_log(url, logurl, sizeof logurl);

    for (long attempt = 0;; attempt++) {
        struct fetch_response resp;
        int r = fetch_once(n->fetcher, &fo, "POST", url, hdrs, j->body, &resp, err, sizeof err);
        long status = r == 0 ? resp.status : 0;
        fetch_response_clear(&resp);
        if (r == 0 && status >= 200 && status < 300) {
            count(n, rcv, ALERT_RES_SUCCESS);
            log_release(&n->complaint[rcv], "alert", "%s %s: delivered again",
                        model_alert_receiver_names[rcv], logurl);
            rc = OUT_SENT;
            break;
        }
        if (r == 0)
            snprintf(err, sizeof err, "HTTP status %ld", status);
        /* Other 4xx will not get better by asking again now. */
        int retryable = r != 0 || status >= 500 || status == 429 || status == 408;
        if (!retryable || attempt >= retries) {
            count(n, rcv, ALERT_RES_FAILURE);
            log_complain(&n->complaint[rcv], LOG_LVL_WARN, "alert",
                         "%s %s: %s; giving up after %ld attempt(s) for now",
                         model_alert_receiver_names[rcv], logurl, err, attempt + 1);
            break;
        }
        count(n, rcv, ALERT_RES_RETRY);
        log_debug("alert", "%s %s: %s; retrying", model_alert_receiver_names[rcv], logurl, err);
        if (nap(n, fetch_backoff_ms(&fo, (int)attempt), 0)) {
            rc = OUT_STOPPED;
            break;
        }
    }
cleanup:
    free_headers(hdrs);
    free(url);
    return rc;
}

/* The thread's own connection, (re)opened when needed. NULL when unreachable. */
static PGconn *thread_conn(struct ntf *n)
{
    char *conninfo, *password;
    unsigned gen;

    pthread_mutex_lock(&n->mu);
    gen = n->generation;
    pthread_mutex_unlock(&n->mu);
    if (n->conn && (n->conn_generation != gen || PQstatus(n->conn) != CONNECTION_OK)) {
        PQfinish(n->conn);
        n->conn = NULL;
    }
    if (n->conn)
        return n->conn;
    pthread_mutex_lock(&n->mu);
    conninfo = xstrdup(n->conninfo);
    password = xstrdup(n->password);
    gen = n->generation;
    pthread_mutex_unlock(&n->mu);
    if (conninfo) {
        n->conn = pg_connect(conninfo, password, "onestopd-notify");
        if (n->conn && PQstatus(n->conn) != CONNECTION_OK) {
            log_complain(&n->db_complaint, LOG_LVL_WARN, "alert", "database: %.*s",
                         (int)strcspn(PQerrorMessage(n->conn), "\n"), PQerrorMessage(n->conn));
            PQfinish(n->conn);
            n->conn = NULL;
        }
    }
    free(conninfo);
    free_secret(&password);
    n->conn_generation = gen;
    return n->conn;
}

/* Records a webhook row's outcome: sent, or put off with backoff (30 s doubling per failed
 * round, at most an hour). 0 or -1 (not recorded). */
static int record(struct ntf *n, long long id, int sent)
{
    static const char SENT_SQL[] = "UPDATE alert_outbox SET sent_at = now() WHERE id = $1";
    static const char FAILED_SQL[] =
        "UPDATE alert_outbox SET attempts = attempts + 1, next_attempt_at = now() +"
        " make_interval(secs => least(3600, 30 * power(2, least(attempts, 10))))"
        " WHERE id = $1";
    char idbuf[32], err[256];
    const char *params[1] = {idbuf};
    PGconn *conn = thread_conn(n);
    int rc = -1;

    if (!conn)
        return -1;
    snprintf(idbuf, sizeof idbuf, "%lld", id);
    PGresult *res =
        PQexecParams(conn, sent ? SENT_SQL : FAILED_SQL, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        rc = 0;
        log_release(&n->db_complaint, "alert", "database reachable again");
    } else {
        pg_errf(err, sizeof err, res, conn, "recording a notification");
        log_complain(&n->db_complaint, LOG_LVL_WARN, "alert", "%s", err);
    }
    PQclear(res);
    return rc;
}

/* Remembers an outcome to record later. Called with the lock held. 0 or -1 (OOM). */
static int push_mark(struct ntf *n, long long id, int sent)
{
    if (n->nmarks == n->capmarks) {
        size_t cap = n->capmarks ? n->capmarks * 2 : 16;
        struct mark *m = realloc(n->marks, cap * sizeof *m);
        if (!m)
            return -1;
        n->marks = m;
        n->capmarks = cap;
    }
    n->marks[n->nmarks++] = (struct mark){id, sent};
    return 0;
}

/* Records id's outcome now, or keeps it for later. Called without the lock. While
 * earlier outcomes wait for the database, this one joins them without a new attempt:
 * deliveries must not wait for connection timeouts one by one. */
static void settle(struct ntf *n, long long id, int sent)
{
    int waiting, ok = 0;

    pthread_mutex_lock(&n->mu);
    waiting = n->nmarks > 0;
    pthread_mutex_unlock(&n->mu);
    if (!waiting)
        ok = record(n, id, sent) == 0;

    pthread_mutex_lock(&n->mu);
    /* An unrecorded outcome keeps the row busy, so the main loop does not queue it again.
     * When even that memory is lacking, the database decides (a resend at worst). */
    if (ok || push_mark(n, id, sent) != 0) {
        idset_del(&n->busy, id);
        if (ok)
            idset_add(&n->settled, id); /* on OOM a stale read may re-send: harmless */
    }
    if (!ok && !waiting)
        n->next_mark_ms = util_now_ms() + MARK_RETRY_MS;
    pthread_mutex_unlock(&n->mu);
}

/* Retries the outcomes that could not be recorded. Called with the lock held; drops it
 * around the database work. */
static void flush_marks(struct ntf *n)
{
    while (n->nmarks > 0 && !n->stop) {
        struct mark m = n->marks[0];
        pthread_mutex_unlock(&n->mu);
        int ok = record(n, m.id, m.sent) == 0;
        pthread_mutex_lock(&n->mu);
        if (!ok) {
            n->next_mark_ms = util_now_ms() + MARK_RETRY_MS;
            return;
        }
        memmove(n->marks, n->marks + 1, (n->nmarks - 1) * sizeof *n->marks);
        n->nmarks--;
        idset_del(&n->busy, m.id);
        idset_add(&n->settled, m.id);
    }
}

static void *thread_main(void *arg)
{
    struct ntf *n = arg;

    pthread_mutex_lock(&n->mu);
    while (!n->stop) {
        if (n->nmarks > 0 && util_now_ms() >= n->next_mark_ms) {
            flush_marks(n);
            continue;
        }
        if (!n->head) {
            if (n->nmarks > 0) {
                long ms = (long)(n->next_mark_ms - util_now_ms());
                pthread_mutex_unlock(&n->mu);
                nap(n, ms > 0 ? ms : 1, 1);
                pthread_mutex_lock(&n->mu);
            } else {
                pthread_cond_wait(&n->cv, &n->mu);
            }
            continue;
        }
        struct job *j = n->head;
        n->head = j->next;
        if (!n->head)
            n->tail = NULL;
        n->queued--;
        pthread_mutex_unlock(&n->mu);

        enum outcome o = deliver(n, j);
        if (j->kind == JOB_WEBHOOK) {
            if (o == OUT_STOPPED) {
                pthread_mutex_lock(&n->mu);
                idset_del(&n->busy, j->id); /* stays unsent in the database */
                pthread_mutex_unlock(&n->mu);
            } else {
                settle(n, j->id, o == OUT_SENT);
            }
        }
        job_free(j);
        pthread_mutex_lock(&n->mu);
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

/* ---- the main loop's side ---- */

struct ntf *ntf_new(void)
{
    struct ntf *n = calloc(1, sizeof *n);

    if (!n)
        return NULL;
    n->timeout_s = 10;
    n->max_retries = 3;
    if (pthread_mutex_init(&n->mu, NULL) != 0) {
        free(n);
        return NULL;
    }
    if (pthread_cond_init(&n->cv, NULL) != 0) {
        pthread_mutex_destroy(&n->mu);
        free(n);
        return NULL;
    }
    n->fetcher = fetch_new();
    if (!n->fetcher || pthread_create(&n->thread, NULL, thread_main, n) != 0) {
        ntf_free(n);
        return NULL;
    }
    n->started = 1;
    return n;
}

void ntf_free(struct ntf *n)
{
    if (!n)
        return;
    if (n->started) {
        pthread_mutex_lock(&n->mu);
        n->stop = 1;
        pthread_cond_broadcast(&n->cv);
        pthread_mutex_unlock(&n->mu);
        pthread_join(n->thread, NULL);
    }
    while (n->head) {
        struct job *j = n->head;
        n->head = j->next;
        job_free(j);
    }
    if (n->conn)
        PQfinish(n->conn);
    fetch_free(n->fetcher);
    free(n->busy.v);
    free(n->settled.v);
    free(n->marks);
    free(n->conninfo);
    free_secret(&n->token);
    free_secret(&n->password);
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int ntf_configure(struct ntf *n, const struct ntf_options *o)
{
    int rc = 0;

    pthread_mutex_lock(&n->mu);
    n->timeout_s = o->timeout_s > 0 ? o->timeout_s : 10;
    n->max_retries = o->max_retries >= 0 ? o->max_retries : 0;
    if (!same(n->token, o->bearer_token)) {
        free_secret(&n->token);
        n->token = xstrdup(o->bearer_token);
        rc |= o->bearer_token && !n->token ? -1 : 0;
    }
    if (!same(n->conninfo, o->conninfo) || !same(n->password, o->password)) {
        free(n->conninfo);
        free_secret(&n->password);
        n->conninfo = xstrdup(o->conninfo);
        n->password = xstrdup(o->password);
        rc |= (o->conninfo && !n->conninfo) || (o->password && !n->password) ? -1 : 0;
        n->generation++;
    }
    pthread_mutex_unlock(&n->mu);
    return rc;
}

void ntf_cycle_begin(struct ntf *n)
{
    pthread_mutex_lock(&n->mu);
    n->settled.n = 0;
    pthread_mutex_unlock(&n->mu);
}

static int enqueue(struct ntf *n, enum job_kind kind, long long id, const char *url,
                   const char *body)
{
    struct job *j = calloc(1, sizeof *j);
    int rc = -1;

    if (!j)
        return -1;
    j->kind = kind;
    j->id = id;
    j->url = xstrdup(url);
    j->body = xstrdup(body);
    if (!j->url || !j->body) {
        job_free(j);
        return -1;
    }
    pthread_mutex_lock(&n->mu);
    if (kind == JOB_WEBHOOK && (idset_has(&n->busy, id) || idset_has(&n->settled, id))) {
        rc = 1;
    } else if (n->queued < NTF_QUEUE_MAX && (kind != JOB_WEBHOOK || idset_add(&n->busy, id) == 0)) {
        if (n->tail)
            n->tail->next = j;
        else
            n->head = j;
        n->tail = j;
        n->queued++;
        j = NULL;
        rc = 0;
        pthread_cond_broadcast(&n->cv);
    }
    pthread_mutex_unlock(&n->mu);
    job_free(j);
    return rc;
}

int ntf_enqueue_webhook(struct ntf *n, long long id, const char *url, const char *body)
{
    return enqueue(n, JOB_WEBHOOK, id, url, body);
}

int ntf_enqueue_alertmanager(struct ntf *n, const char *url, const char *body)
{
    return enqueue(n, JOB_ALERTMANAGER, 0, url, body);
}

void ntf_counts(struct ntf *n, unsigned long long out[ALERT_RCV_COUNT][ALERT_RES_COUNT])
{
    if (!n) {
        memset(out, 0, sizeof(unsigned long long) * ALERT_RCV_COUNT * ALERT_RES_COUNT);
        return;
    }
    pthread_mutex_lock(&n->mu);
    memcpy(out, n->counts, sizeof n->counts);
    pthread_mutex_unlock(&n->mu);
}
