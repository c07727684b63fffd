/* SPDX-License-Identifier: Apache-2.0 */
/* ntf: alert delivery on two threads of its own (see notify.h). Neither shares its curl
 * handle (libcurl handles are never shared between threads); the webhook thread owns a
 * database connection of its own, on which it claims, and records, alert_outbox rows
 * (the statements are outbox.c's; the connection and its deadlines are this file's). */
#include "notify.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetch.h"
#include "log.h"
#include "outbox.h"
#include "pgutil.h"
#include "redact.h"
#include "util.h"
#include "version.h"

/* Response bodies are read and dropped; receivers answer with little. */
#define MAX_RESPONSE_BYTES (1L << 20)
/* One database step of the webhook thread (a connection, or one statement), at most. */
#define DB_STEP_MS 15000L
/* After a database failure the webhook thread tries again this much later. */
#define DB_RETRY_MS 5000L
/* With nothing due, the webhook thread looks again this often at the latest (alert_run
 * wakes it after every evaluation anyway). */
#define IDLE_POLL_MS 60000L
/* Nor more often than this (another instance's claims, clock skew). */
#define MIN_POLL_MS 200L
/* A claim outlives the longest request by this much: time to record the outcome. */
#define CLAIM_MARGIN_S 60L
/* Socket waits are cut in slices this long, to notice a shutdown. */
#define POLL_SLICE_MS 100

/* A webhook, as the webhook thread knows it. After a transport error or a 5xx it rests
 * for the failed row's backoff: its other rows are not claimed meanwhile, so a dead webhook
 * costs one timeout per backoff, not one per row. */
struct wh_url {
    char *url;
    int64_t rest_until_ms; /* util_now_ms; 0: not resting */
    struct log_complaint complaint;
};

/* An Alertmanager, as the Alertmanager thread posts to it. */
struct am_target {
    char *url;       /* base URL, as configured */
    int64_t next_ms; /* next post (util_now_ms); 0: now */
    long failures;   /* failed attempts of the current round */
    struct log_complaint complaint;
};

/* What one POST came to. */
struct attempt {
    int sent;      /* 2xx */
    int stopped;   /* aborted by the shutdown */
    int retryable; /* transport error, 5xx, 408, 429 */
    char err[256];
};

struct ntf {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* both threads wait on it: broadcast */
    pthread_t wh_thread, am_thread;
    int wh_started, am_started;
    /* Polled by both fetchers (fetch_set_stop_flag), which abort a request in flight when
     * it is set: written once, under mu, by ntf_free before it joins the threads. */
    volatile int abort_flag;

    /* under mu */
    int stop;
    int64_t stop_deadline_ms; /* util_now_ms; outcomes are recorded until then */
    int leader;
    int kicked; /* the webhook thread should look at alert_outbox now */
    unsigned long long counts[ALERT_RCV_COUNT][ALERT_RES_COUNT];
    long timeout_s, timeout_cfg, max_retries, am_resend_s;
    char *token, *conninfo, *password, *webhook_urls, *am_urls, *external_url;
    unsigned db_generation;   /* bumped when conninfo/password change */
    unsigned am_generation;   /* bumped when am_urls change */
    struct alert_list am_set; /* deep copies: only ever touched under mu */
    char *am_sig;             /* fingerprint:state of am_set, sorted */
    int am_dirty;             /* am_set changed: post at once */

    /* webhook thread only */
    struct fetcher *wh_fetcher;
    PGconn *conn;
    unsigned conn_generation;
    struct outbox_outcome *marks; /* outcomes waiting for the database, oldest first */
    size_t nmarks, capmarks;
    struct wh_url *urls; /* the webhooks configured, or lately so */
    size_t nurls, capurls;
    char claim_token[128]; /* alert_outbox.claimed_by of this process */
    struct log_complaint db_complaint;
    int db_rejected; /* the last db_exec failed because the server refused the statement */

    /* Alertmanager thread only (its targets are rebuilt under mu, read without it) */
    struct fetcher *am_fetcher;
    struct am_target *targets;
    size_t ntargets;
    unsigned targets_generation;
};

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

/* Alertmanager's group key for a group made of this one label set:
 * {}:{name="value", ...} with the names sorted. */
static char *group_key(const json_t *labels)
{
    const char *keys[32];
    size_t n = alert_label_names(labels, keys, ARRAY_LEN(keys));
    struct buf b;

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
    ntf_rfc3339(a->active_since ? a->active_since : a->firing_since, starts);
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
        ntf_rfc3339(a->active_since ? a->active_since : a->firing_since, starts);
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

/* ---- small helpers ---- */

void ntf_plan_retry(long attempts_before, long max_retries, int retryable, long age_s,
                    struct ntf_retry_plan *out)
{
    long per_round = (max_retries > 0 ? max_retries : 0) + 1;
    long failed = (attempts_before > 0 ? attempts_before : 0) + 1;
    long d;

    memset(out, 0, sizeof *out);
    out->attempts = failed;
    out->result = ALERT_RES_FAILURE;
    if (age_s >= NTF_ABANDON_AGE_S) {
        out->abandon = 1;
        return;
    }
    if (retryable && failed % per_round != 0) {
        /* Inside a round: 1 s, 2 s, 4 s, ... */
        d = NTF_BACKOFF_BASE_MS;
        for (long i = failed % per_round - 1; i > 0 && d < NTF_BACKOFF_MAX_MS; i--)
            d *= 2;
        out->delay_ms = d < NTF_BACKOFF_MAX_MS ? d : NTF_BACKOFF_MAX_MS;
        out->result = ALERT_RES_RETRY;
        return;
    }
    /* The round is over (a 4xx other than 408 and 429 ends it early): put off. */
    long rounds = (failed + per_round - 1) / per_round;
    out->attempts = rounds * per_round;
    d = NTF_ROUND_BASE_S;
    for (long i = 1; i < rounds && d < NTF_ROUND_MAX_S; i++)
        d *= 2;
    out->delay_ms = (d < NTF_ROUND_MAX_S ? d : NTF_ROUND_MAX_S) * 1000;
}

static void count(struct ntf *n, enum alert_receiver r, enum alert_result res)
{
    pthread_mutex_lock(&n->mu);
    n->counts[r][res]++;
    pthread_mutex_unlock(&n->mu);
}

static int stopping(struct ntf *n)
{
    pthread_mutex_lock(&n->mu);
    int s = n->stop;
    pthread_mutex_unlock(&n->mu);
    return s;
}

/* 1 when deadline passed, or the shutdown's deadline did. */
static int expired(struct ntf *n, int64_t deadline)
{
    int64_t now = util_now_ms();
    int past;

    pthread_mutex_lock(&n->mu);
    past = now >= deadline || (n->stop && now >= n->stop_deadline_ms);
    pthread_mutex_unlock(&n->mu);
    return past;
}

/* Waits on cv until the absolute util_now_ms time `until`. Called with the lock held. */
static void wait_until(struct ntf *n, int64_t until)
{
    struct timespec ts;
    int64_t ms = until - util_now_ms();

    if (ms <= 0)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&n->cv, &n->mu, &ts);
}

/* The webhook thread sleeps ms, or until stopped, or (wake_on_kick) until kicked. Called
 * without the lock. */
static void nap(struct ntf *n, long ms, int wake_on_kick)
{
    int64_t until = util_now_ms() + ms;

    pthread_mutex_lock(&n->mu);
    while (!n->stop && !(wake_on_kick && n->kicked) && util_now_ms() < until)
        wait_until(n, until);
    pthread_mutex_unlock(&n->mu);
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

/* One POST of body to url, no retry. */
static void post_once(struct ntf *n, struct fetcher *f, enum alert_receiver rcv, const char *url,
                      const char *body, struct attempt *out)
{
    struct fetch_opts fo = {0};
    struct fetch_response resp;
    struct curl_slist *hdrs = NULL;
    char *auth = NULL, err[256];
    int want_auth;

    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&n->mu);
    fo.timeout_ms = n->timeout_s * 1000;
    want_auth = rcv == ALERT_RCV_WEBHOOK && n->token;
    if (want_auth)
        auth = xasprintf("Authorization: Bearer %s", n->token);
    pthread_mutex_unlock(&n->mu);
    fo.connect_timeout_ms = fo.timeout_ms;
    fo.max_body_bytes = MAX_RESPONSE_BYTES;
    /* "Expect:" drops the 100-continue round trip before the body. */
    int hok = add_header(&hdrs, "Content-Type: application/json") == 0 &&
              add_header(&hdrs, "Expect:") == 0 &&
              (!want_auth || (auth && add_header(&hdrs, auth) == 0));
    if (auth) {
        explicit_bzero(auth, strlen(auth));
        free(auth);
    }
    if (!hok) {
        snprintf(out->err, sizeof out->err, "out of memory");
        out->retryable = 1;
        goto cleanup;
    }
    if (n->abort_flag) {
        out->stopped = 1;
        goto cleanup;
    }
    int r = fetch_once(f, &fo, "POST", url, hdrs, body, &resp, err, sizeof err);
    long status = r == 0 ? resp.status : 0;
    fetch_response_clear(&resp);
    if (r == 0 && status >= 200 && status < 300) {
        out->sent = 1;
    } else if (r != 0 && n->abort_flag) {
        out->stopped = 1;
    } else {
        if (r == 0)
            snprintf(out->err, sizeof out->err, "HTTP status %ld", status);
        else
            snprintf(out->err, sizeof out->err, "%s", err);
        /* Other 4xx will not get better by asking again soon. */
        out->retryable = r != 0 || status >= 500 || status == 429 || status == 408;
    }
cleanup:
    free_headers(hdrs);
}

/* ---- the webhook thread: database ---- */

/* Connects without blocking longer than DB_STEP_MS, or past the shutdown's deadline. The
 * same parameters as pg_connect. NULL with err when that fails. */
static PGconn *db_connect(struct ntf *n, const char *conninfo, const char *password, char *err,
                          size_t errlen)
{
    const char *keys[PG_CONN_PARAMS_MAX], *vals[PG_CONN_PARAMS_MAX];
    int64_t deadline = util_now_ms() + DB_STEP_MS;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;

    pg_conn_params(conninfo, password, "onestopd-notify", keys, vals);
    PGconn *c = PQconnectStartParams(keys, vals, 1);
    if (!c) {
        snprintf(err, errlen, "database: out of memory");
        return NULL;
    }
    while (PQstatus(c) != CONNECTION_BAD && st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        if (expired(n, deadline)) {
            snprintf(err, errlen, "database: connecting timed out");
            PQfinish(c);
            return NULL;
        }
        struct pollfd p = {.fd = PQsocket(c),
                           .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        int r = p.fd >= 0 ? poll(&p, 1, POLL_SLICE_MS) : 1;
        if (r > 0)
            st = PQconnectPoll(c);
    }
    if (PQstatus(c) != CONNECTION_OK) {
        const char *m = PQerrorMessage(c);
        snprintf(err, errlen, "database: %.*s", (int)strcspn(m, "\n"), m);
        PQfinish(c);
        return NULL;
    }
    return c;
}

static void drop_conn(struct ntf *n)
{
    if (n->conn)
        PQfinish(n->conn);
    n->conn = NULL;
}

/* The thread's own connection, (re)opened when needed. NULL with err when unreachable. */
static PGconn *thread_conn(struct ntf *n, char *err, size_t errlen)
{
    char *conninfo, *password;
    unsigned gen;

    pthread_mutex_lock(&n->mu);
    gen = n->db_generation;
    pthread_mutex_unlock(&n->mu);
    if (n->conn && (n->conn_generation != gen || PQstatus(n->conn) != CONNECTION_OK))
        drop_conn(n);
    if (n->conn)
        return n->conn;
    pthread_mutex_lock(&n->mu);
    conninfo = xstrdup(n->conninfo);
    password = xstrdup(n->password);
    gen = n->db_generation;
    pthread_mutex_unlock(&n->mu);
    if (conninfo)
        n->conn = db_connect(n, conninfo, password, err, errlen);
    else
        snprintf(err, errlen, "database: not configured or out of memory");
    free(conninfo);
    free_secret(&password);
    n->conn_generation = gen;
    return n->conn;
}

/* Runs one statement without blocking longer than DB_STEP_MS, or past the shutdown's
 * deadline (the connection is then closed). The result, whose status is `want`, or NULL
 * with err ("what: reason"). An outbox_exec_fn, ctx the struct ntf. */
static PGresult *db_exec(void *ctx, const char *sql, int nparams, const char *const *params,
                         ExecStatusType want, const char *what, char *err, size_t errlen)
{
    struct ntf *n = ctx;
    char cerr[256];
    PGconn *c = thread_conn(n, cerr, sizeof cerr);
    PGresult *last = NULL;
    int64_t deadline = util_now_ms() + DB_STEP_MS;

    n->db_rejected = 0;
    if (!c) {
        snprintf(err, errlen, "%s: %s", what, cerr);
        return NULL;
    }
    if (!PQsendQueryParams(c, sql, nparams, NULL, params, NULL, NULL, 0))
        goto broken;
    for (;;) {
        while (!PQisBusy(c)) {
            PGresult *r = PQgetResult(c);
            if (!r)
                goto done;
            PQclear(last);
            last = r;
        }
        if (expired(n, deadline)) {
            snprintf(err, errlen, "%s: timed out", what);
            PQclear(last);
            drop_conn(n);
            return NULL;
        }
        struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
        if (poll(&p, 1, POLL_SLICE_MS) < 0 && errno != EINTR)
            goto broken;
        if (!PQconsumeInput(c))
            goto broken;
    }
done:
    if (PQresultStatus(last) != want) {
        pg_errf(err, errlen, last, c, what);
        PQclear(last);
        if (PQstatus(c) != CONNECTION_OK)
            drop_conn(n);
        else
            n->db_rejected = 1;
        return NULL;
    }
    return last;
broken:
    pg_errf(err, errlen, NULL, c, what);
    PQclear(last);
    drop_conn(n);
    return NULL;
}

/* The webhook thread's way of running the outbox statements. */
static struct outbox_db thread_db(struct ntf *n)
{
    return (struct outbox_db){.exec = db_exec, .ctx = n};
}

/* Records an outcome. 0 recorded; -1 not now (logged, rate-limited): to be tried again;
 * 1 the server refused the statement (logged): asking again would not help. */
static int record(struct ntf *n, const struct outbox_outcome *m)
{
    struct outbox_db db = thread_db(n);
    char err[512];

    n->db_rejected = 0;
    if (outbox_record(&db, m, n->claim_token, err, sizeof err) != 0) {
        if (n->db_rejected) {
            log_err("alert", "%s; notification %lld left as it is (it may be sent again)", err,
                    m->id);
            return 1;
        }
        log_complain(&n->db_complaint, LOG_LVL_WARN, "alert", "%s", err);
        return -1;
    }
    log_release(&n->db_complaint, "alert", "database reachable again");
    return 0;
}

/* Keeps an outcome for later. 0 or -1 (out of memory). */
static int push_mark(struct ntf *n, const struct outbox_outcome *m)
{
    if (n->nmarks == n->capmarks) {
        size_t cap = n->capmarks ? n->capmarks * 2 : 8;
        struct outbox_outcome *v = realloc(n->marks, cap * sizeof *v);
        if (!v)
            return -1;
        n->marks = v;
        n->capmarks = cap;
    }
    n->marks[n->nmarks++] = *m;
    return 0;
}

/* Records the kept outcomes, oldest first. 0 when none is left, -1 otherwise. */
static int flush_marks(struct ntf *n)
{
    while (n->nmarks > 0) {
        if (record(n, &n->marks[0]) < 0)
            return -1;
        memmove(n->marks, n->marks + 1, (n->nmarks - 1) * sizeof *n->marks);
        n->nmarks--;
    }
    return 0;
}

/* Records m now, or keeps it until the database answers. */
static void settle(struct ntf *n, const struct outbox_outcome *m)
{
    if (record(n, m) >= 0)
        return;
    if (push_mark(n, m) != 0)
        log_err("alert",
                "out of memory; the outcome of notification %lld is lost (it may be "
                "sent again)",
                m->id);
}

/* Claims the oldest due row for one of `urls`, so that no other instance sends it
 * meanwhile. 1 claimed, 0 nothing due, -1 database error (logged, rate-limited). */
static int claim_row(struct ntf *n, const char *urls, struct outbox_row *c)
{
    struct outbox_db db = thread_db(n);
    char err[512];
    long timeout;
    int r;

    pthread_mutex_lock(&n->mu);
    timeout = n->timeout_s;
    pthread_mutex_unlock(&n->mu);
    r = outbox_claim(&db, urls, timeout + CLAIM_MARGIN_S, n->claim_token, c, err, sizeof err);
    if (r < 0) {
        log_complain(&n->db_complaint, LOG_LVL_WARN, "alert", "%s", err);
        return -1;
    }
    log_release(&n->db_complaint, "alert", "database reachable again");
    return r;
}

/* Milliseconds until a row for one of `urls` may be claimed; -1 when none is waiting (or
 * the database did not say). */
static long next_due_ms(struct ntf *n, const char *urls)
{
    struct outbox_db db = thread_db(n);
    char err[512];
    long ms;

    if (outbox_next_due_ms(&db, urls, &ms, err, sizeof err) != 0) {
        log_complain(&n->db_complaint, LOG_LVL_WARN, "alert", "%s", err);
        return -1;
    }
    return ms;
}

/* ---- the webhook thread: per-URL state ---- */

/* The state of webhook url, created when new; NULL when out of memory. */
static struct wh_url *wh_url(struct ntf *n, const char *url)
{
    for (size_t i = 0; i < n->nurls; i++)
        if (strcmp(n->urls[i].url, url) == 0)
            return &n->urls[i];
    if (n->nurls == n->capurls) {
        size_t cap = n->capurls ? n->capurls * 2 : 4;
        struct wh_url *v = realloc(n->urls, cap * sizeof *v);
        if (!v)
            return NULL;
        n->urls = v;
        n->capurls = cap;
    }
    char *u = xstrdup(url);
    if (!u)
        return NULL;
    memset(&n->urls[n->nurls], 0, sizeof n->urls[n->nurls]);
    n->urls[n->nurls].url = u;
    return &n->urls[n->nurls++];
}

/* 1 when the blank-separated list has url. */
static int listed(const char *urls, const char *url)
{
    size_t ulen = strlen(url);

    for (const char *p = urls; *p;) {
        size_t len = strcspn(p, " \t");
        if (len == ulen && strncmp(p, url, len) == 0)
            return 1;
        p += len;
        p += strspn(p, " \t");
    }
    return 0;
}

/* The URLs of the blank-separated list `urls` that are not resting, single-space-separated
 * (new string, NULL when out of memory); *wake_ms: when the first resting one wakes
 * (util_now_ms), 0 when none rests. Forgets the URLs no longer listed. */
static char *awake_urls(struct ntf *n, const char *urls, int64_t *wake_ms)
{
    int64_t now = util_now_ms();
    struct buf b;

    *wake_ms = 0;
    for (size_t i = 0; i < n->nurls;) {
        if (!listed(urls, n->urls[i].url)) {
            free(n->urls[i].url);
            n->urls[i] = n->urls[--n->nurls];
        } else {
            i++;
        }
    }
    buf_init(&b);
    for (const char *p = urls; *p;) {
        size_t len = strcspn(p, " \t"), i;
        for (i = 0; len && i < n->nurls; i++)
            if (strlen(n->urls[i].url) == len && strncmp(n->urls[i].url, p, len) == 0)
                break;
        if (len && i < n->nurls && n->urls[i].rest_until_ms > now) {
            if (!*wake_ms || n->urls[i].rest_until_ms < *wake_ms)
                *wake_ms = n->urls[i].rest_until_ms;
        } else if (len) {
            buf_printf(&b, "%s%.*s", b.len ? " " : "", (int)len, p);
        }
        p += len;
        p += strspn(p, " \t");
    }
    if (b.oom) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b, NULL);
}

/* ---- the webhook thread ---- */

/* POSTs a claimed row once and records what came of it. */
static void deliver_row(struct ntf *n, const struct outbox_row *c)
{
    struct attempt at;
    struct outbox_outcome m = {.id = c->id};
    char logurl[256], when[32];
    long max_retries;
    struct wh_url *u = wh_url(n, c->url);
    struct log_complaint spare = {0}, *complaint = u ? &u->complaint : &spare;

    redact_url_for_log(c->url, 0, logurl, sizeof logurl);
    pthread_mutex_lock(&n->mu);
    int leader = n->leader;
    pthread_mutex_unlock(&n->mu);
    if (leader) {
        post_once(n, n->wh_fetcher, ALERT_RCV_WEBHOOK, c->url, c->body, &at);
    } else {
        memset(&at, 0, sizeof at);
        at.stopped = 1; /* leadership lost since the claim: the new leader sends it */
    }
    if (at.stopped) {
        m.kind = OUTBOX_RELEASE; /* another instance may send it at once */
    } else if (at.sent) {
        count(n, ALERT_RCV_WEBHOOK, ALERT_RES_SUCCESS);
        log_release(complaint, "alert", "webhook %s: delivered again", logurl);
        m.kind = OUTBOX_SENT;
    } else {
        struct ntf_retry_plan p;
        pthread_mutex_lock(&n->mu);
        max_retries = n->max_retries;
        pthread_mutex_unlock(&n->mu);
        ntf_plan_retry(c->attempts, max_retries, at.retryable, c->age_s, &p);
        count(n, ALERT_RCV_WEBHOOK, p.result);
        snprintf(when, sizeof when, "%.1f s", (double)p.delay_ms / 1000.0);
        if (p.abandon)
            log_warn("alert",
                     "webhook %s: %s; notification %lld abandoned after %ld failed attempt(s) "
                     "over %ld days",
                     logurl, at.err, c->id, p.attempts, NTF_ABANDON_AGE_S / 86400);
        else if (p.result == ALERT_RES_FAILURE)
            log_complain(complaint, LOG_LVL_WARN, "alert",
                         "webhook %s: %s; notification %lld put off, next attempt in %s", logurl,
                         at.err, c->id, when);
        else
            log_debug("alert", "webhook %s: %s; notification %lld tried again in %s", logurl,
                      at.err, c->id, when);
        if (at.retryable && !p.abandon && u)
            u->rest_until_ms = util_now_ms() + p.delay_ms;
        m.kind = OUTBOX_FAILED;
        m.attempts = p.attempts;
        m.delay_ms = p.delay_ms;
        m.abandon = p.abandon;
        snprintf(m.err, sizeof m.err, "%s", at.err);
    }
    settle(n, &m);
}

static void *webhook_main(void *arg)
{
    struct ntf *n = arg;

    for (;;) {
        /* Outcomes that wait for the database come first: no new claim before them. */
        if (n->nmarks > 0 && flush_marks(n) != 0) {
            if (stopping(n))
                break;
            nap(n, DB_RETRY_MS, 0);
            continue;
        }
        pthread_mutex_lock(&n->mu);
        int stop = n->stop, ready = n->leader && n->webhook_urls && n->conninfo;
        char *urls = ready ? xstrdup(n->webhook_urls) : NULL;
        n->kicked = 0; /* a kick from here on is seen by the nap below */
        pthread_mutex_unlock(&n->mu);
        if (stop) {
            free(urls);
            break;
        }
        if (!urls) {
            nap(n, IDLE_POLL_MS, 1);
            continue;
        }
        int64_t wake_ms;
        char *awake = awake_urls(n, urls, &wake_ms);
        free(urls);
        if (!awake || !*awake) {
            long ms = wake_ms ? (long)(wake_ms - util_now_ms()) : IDLE_POLL_MS;
            free(awake);
            nap(n, ms > MIN_POLL_MS ? ms : MIN_POLL_MS, 1);
            continue;
        }
        struct outbox_row c;
        int r = claim_row(n, awake, &c);
        if (r < 0) {
            free(awake);
            nap(n, DB_RETRY_MS, 0);
            continue;
        }
        if (r == 0) {
            long ms = next_due_ms(n, awake);
            free(awake);
            if (ms < 0 || ms > IDLE_POLL_MS)
                ms = IDLE_POLL_MS;
            if (wake_ms && wake_ms - util_now_ms() < ms)
                ms = (long)(wake_ms - util_now_ms());
            nap(n, ms > MIN_POLL_MS ? ms : MIN_POLL_MS, 1);
            continue;
        }
        free(awake);
        deliver_row(n, &c);
        outbox_row_clear(&c);
    }
    /* Stopping: what is left gets until the shutdown's deadline. */
    if (n->nmarks > 0 && flush_marks(n) != 0)
        log_warn("alert",
                 "%zu delivery outcome(s) could not be recorded before exit; a notification "
                 "already delivered may be sent once more",
                 n->nmarks);
    return NULL;
}

/* ---- the Alertmanager thread ---- */

static void free_targets(struct am_target *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i].url);
    free(t);
}

/* Rebuilds the targets from am_urls. Called with the lock held. */
static void rebuild_targets(struct ntf *n)
{
    struct am_target *v = NULL;
    size_t cnt = 0;

    for (const char *p = n->am_urls; p && *p;) {
        size_t len = strcspn(p, " \t");
        if (len) {
            struct am_target *nv = realloc(v, (cnt + 1) * sizeof *nv);
            char *u = strndup(p, len);
            if (!nv || !u) {
                free(u);
                if (nv)
                    v = nv;
                log_err("alert", "out of memory: an Alertmanager is left out");
                break;
            }
            v = nv;
            memset(&v[cnt], 0, sizeof v[cnt]);
            v[cnt++].url = u;
        }
        p += len;
        p += strspn(p, " \t");
    }
    free_targets(n->targets, n->ntargets);
    n->targets = v;
    n->ntargets = cnt;
    n->targets_generation = n->am_generation;
}

/* The POST body for now: the firing alerts of am_set and those resolved lately. NULL
 * when there is none (or out of memory). Called with the lock held. */
static char *am_body(struct ntf *n, time_t now)
{
    const struct alert **v = calloc(n->am_set.n ? n->am_set.n : 1, sizeof *v);
    size_t cnt = 0;
    char *body = NULL;

    if (!v)
        return NULL;
    for (size_t i = 0; i < n->am_set.n; i++) {
        const struct alert *a = &n->am_set.v[i];
        if (a->state == ALERT_FIRING ||
            (a->state == ALERT_RESOLVED && now - a->resolved_at < NTF_AM_KEEP_RESOLVED_S))
            v[cnt++] = a;
    }
    if (cnt > 0)
        body = ntf_alertmanager_body(v, cnt, now, NTF_AM_ENDS_FACTOR * n->am_resend_s,
                                     n->external_url);
    free(v);
    return body;
}

static void *am_main(void *arg)
{
    struct ntf *n = arg;

    pthread_mutex_lock(&n->mu);
    while (!n->stop) {
        if (n->targets_generation != n->am_generation)
            rebuild_targets(n);
        if (n->am_dirty) {
            for (size_t i = 0; i < n->ntargets; i++)
                n->targets[i].next_ms = 0;
            n->am_dirty = 0;
        }
        if (!n->leader || n->am_set.n == 0 || n->ntargets == 0) {
            pthread_cond_wait(&n->cv, &n->mu);
            continue;
        }
        struct am_target *t = &n->targets[0];
        for (size_t i = 1; i < n->ntargets; i++)
            if (n->targets[i].next_ms < t->next_ms)
                t = &n->targets[i];
        int64_t now = util_now_ms();
        if (t->next_ms > now) {
            wait_until(n, t->next_ms);
            continue;
        }
        long resend_ms = n->am_resend_s * 1000, max_retries = n->max_retries;
        char *body = am_body(n, time(NULL));
        pthread_mutex_unlock(&n->mu);

        /* Unlocked: only this thread changes the targets. */
        struct attempt at;
        char logurl[256];
        int len = (int)strlen(t->url);
        while (len > 0 && t->url[len - 1] == '/')
            len--; /* "http://am:9093/" is the same Alertmanager */
        char *url = xasprintf("%.*s/api/v2/alerts", len, t->url);
        redact_url_for_log(t->url, 0, logurl, sizeof logurl);
        if (!body) {
            /* Nothing to post now (all resolved long ago), or out of memory. */
            t->next_ms = util_now_ms() + resend_ms;
            free(url);
            pthread_mutex_lock(&n->mu);
            continue;
        }
        if (url) {
            post_once(n, n->am_fetcher, ALERT_RCV_ALERTMANAGER, url, body, &at);
        } else {
            memset(&at, 0, sizeof at);
            snprintf(at.err, sizeof at.err, "out of memory");
            at.retryable = 1;
        }
        free(url);
        free(body);
        if (at.stopped) {
            pthread_mutex_lock(&n->mu);
            break;
        }
        enum alert_result res = ALERT_RES_SUCCESS;
        now = util_now_ms();
        if (at.sent) {
            t->failures = 0;
            t->next_ms = now + resend_ms;
            log_release(&t->complaint, "alert", "alertmanager %s: delivered again", logurl);
        } else if (at.retryable && ++t->failures <= max_retries) {
            res = ALERT_RES_RETRY;
            struct fetch_opts fo = {.backoff_base_ms = NTF_BACKOFF_BASE_MS,
                                    .backoff_max_ms = NTF_BACKOFF_MAX_MS};
            t->next_ms = now + fetch_backoff_ms(&fo, (int)t->failures - 1);
            log_debug("alert", "alertmanager %s: %s; retrying", logurl, at.err);
        } else {
            res = ALERT_RES_FAILURE;
            t->failures = 0;
            t->next_ms = now + resend_ms; /* the next regular post */
            log_complain(&t->complaint, LOG_LVL_WARN, "alert",
                         "alertmanager %s: %s; trying again at the next re-post", logurl, at.err);
        }
        pthread_mutex_lock(&n->mu);
        n->counts[ALERT_RCV_ALERTMANAGER][res]++;
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

/* ---- the main loop's side ---- */

struct ntf *ntf_new(void)
{
    struct ntf *n = calloc(1, sizeof *n);
    char host[64];

    if (!n)
        return NULL;
    n->timeout_s = n->timeout_cfg = 10;
    n->max_retries = 3;
    n->am_resend_s = NTF_AM_RESEND_S;
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    snprintf(n->claim_token, sizeof n->claim_token, "%s:%ld:%llx", host, (long)getpid(),
             (unsigned long long)util_now_ms() ^ (unsigned long long)(uintptr_t)n);
    if (pthread_mutex_init(&n->mu, NULL) != 0) {
        free(n);
        return NULL;
    }
    if (pthread_cond_init(&n->cv, NULL) != 0) {
        pthread_mutex_destroy(&n->mu);
        free(n);
        return NULL;
    }
    n->wh_fetcher = fetch_new();
    n->am_fetcher = fetch_new();
    if (!n->wh_fetcher || !n->am_fetcher) {
        ntf_free(n);
        return NULL;
    }
    fetch_set_stop_flag(n->wh_fetcher, &n->abort_flag);
    fetch_set_stop_flag(n->am_fetcher, &n->abort_flag);
    n->wh_started = pthread_create(&n->wh_thread, NULL, webhook_main, n) == 0;
    n->am_started = n->wh_started && pthread_create(&n->am_thread, NULL, am_main, n) == 0;
    if (!n->am_started) {
        ntf_free(n);
        return NULL;
    }
    return n;
}

void ntf_free(struct ntf *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    n->stop = 1;
    n->stop_deadline_ms = util_now_ms() + NTF_STOP_FLUSH_MS;
    n->abort_flag = 1;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    if (n->wh_started)
        pthread_join(n->wh_thread, NULL);
    if (n->am_started)
        pthread_join(n->am_thread, NULL);
    drop_conn(n);
    fetch_free(n->wh_fetcher);
    fetch_free(n->am_fetcher);
    free(n->marks);
    for (size_t i = 0; i < n->nurls; i++)
        free(n->urls[i].url);
    free(n->urls);
    free_targets(n->targets, n->ntargets);
    alert_list_clear(&n->am_set);
    free(n->am_sig);
    free(n->conninfo);
    free(n->webhook_urls);
    free(n->am_urls);
    free(n->external_url);
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

/* *dst = copy of src unless equal. 1 changed, 0 same, -1 out of memory. */
static int replace(char **dst, const char *src, int secret)
{
    if (same(*dst, src))
        return 0;
    if (secret)
        free_secret(dst);
    else
        sfree(*dst);
    *dst = xstrdup(src);
    return src && !*dst ? -1 : 1;
}

int ntf_configure(struct ntf *n, const struct ntf_options *o)
{
    long timeout = o->timeout_s > 0 ? o->timeout_s : 10, logged = 0;
    int rc = 0, r;

    pthread_mutex_lock(&n->mu);
    if (timeout != n->timeout_cfg && timeout > NTF_TIMEOUT_MAX_S)
        logged = timeout;
    n->timeout_cfg = timeout;
    n->timeout_s = timeout < NTF_TIMEOUT_MAX_S ? timeout : NTF_TIMEOUT_MAX_S;
    n->max_retries = o->max_retries >= 0 ? o->max_retries : 0;
    n->am_resend_s = o->am_resend_s > 0 ? o->am_resend_s : NTF_AM_RESEND_S;
    rc |= replace(&n->token, o->bearer_token, 1) < 0;
    int c1 = replace(&n->conninfo, o->conninfo, 0), c2 = replace(&n->password, o->password, 1);
    rc |= c1 < 0 || c2 < 0;
    if (c1 || c2)
        n->db_generation++;
    if ((r = replace(&n->webhook_urls, o->webhook_urls, 0)) != 0) {
        rc |= r < 0;
        n->kicked = 1;
    }
    if ((r = replace(&n->am_urls, o->alertmanager_urls, 0)) != 0) {
        rc |= r < 0;
        n->am_generation++;
    }
    rc |= replace(&n->external_url, o->external_url, 0) < 0;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    if (logged)
        log_notice("alert", "[alert] timeout %lds: requests time out after %lds at most", logged,
                   NTF_TIMEOUT_MAX_S);
    return rc ? -1 : 0;
}

void ntf_set_leader(struct ntf *n, int leader)
{
    struct alert_list old = {0};
    char *sig = NULL;

    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    if (n->leader != !!leader) {
        n->leader = !!leader;
        n->kicked = 1;
        if (!leader) {
            old = n->am_set;
            memset(&n->am_set, 0, sizeof n->am_set);
            sig = n->am_sig;
            n->am_sig = NULL;
        }
        pthread_cond_broadcast(&n->cv);
    }
    pthread_mutex_unlock(&n->mu);
    alert_list_clear(&old);
    free(sig);
}

void ntf_kick(struct ntf *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    n->kicked = 1;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

static int fp_cmp(const void *x, const void *y)
{
    return strcmp((*(const struct alert *const *)x)->fingerprint,
                  (*(const struct alert *const *)y)->fingerprint);
}

int ntf_set_alertmanager_alerts(struct ntf *n, const struct alert *const *v, size_t count)
{
    const struct alert **sorted = calloc(count ? count : 1, sizeof *sorted);
    struct alert_list l = {0};
    struct buf sig;
    int rc = -1;

    buf_init(&sig);
    if (!sorted)
        goto cleanup;
    memcpy(sorted, v, count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, fp_cmp);
    for (size_t i = 0; i < count; i++) {
        const struct alert *a = sorted[i];
        /* Deep copies: jansson's reference counts are not shared between threads. */
        struct alert *c = alert_list_add(&l, json_deep_copy(a->labels),
                                         json_deep_copy(a->annotations), json_object());
        if (!c)
            goto cleanup;
        alert_copy_lifecycle(c, a);
        buf_printf(&sig, "%s:%d,", c->fingerprint, (int)c->state);
    }
    if (sig.oom)
        goto cleanup;
    char *s = buf_steal(&sig, NULL);
    if (!s)
        goto cleanup;
    pthread_mutex_lock(&n->mu);
    struct alert_list old = n->am_set;
    n->am_set = l;
    l = old;
    if (!same(s, n->am_sig))
        n->am_dirty = 1;
    free(n->am_sig);
    n->am_sig = s;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    rc = 0;
cleanup:
    alert_list_clear(&l);
    buf_free(&sig);
    free(sorted);
    return rc;
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
