/* alerts: the state of the built-in alerts in PostgreSQL, and the module the main loop
 * drives (see alerts.h). The rules and the lifecycle are pure functions (alert_rules.c);
 * alert_run wires them to the database and to the delivery thread (notify.c). */
#include "alerts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert_rules.h"
#include "log.h"
#include "notify.h"
#include "pgutil.h"
#include "rates.h"
#include "util.h"

/* A resolved alert stays in alert_state this long (history for the API), then goes. */
#define KEEP_RESOLVED_S (7L * 86400)
/* Housekeeping of the alert tables, at most this often. */
#define PRUNE_EVERY_S 3600
/* Sent, superseded and abandoned webhook notifications, and daily indicators, are kept
 * this long. */
#define OUTBOX_KEEP_DAYS "30"
#define DAILY_KEEP_DAYS 400
#define RECEIVER_NAME "onestopd"

/* ---- the API document ---- */

static json_t *time_json(time_t t)
{
    char s[32];
    if (t <= 0)
        return json_null();
    ntf_rfc3339(t, s);
    return json_string(s);
}

char *alert_api_json(const struct alert_list *l, int leader, time_t evaluated_at)
{
    json_t *arr = json_array(), *doc = NULL;
    char *out = NULL;

    if (!arr)
        return NULL;
    for (size_t i = 0; l && i < l->n; i++) {
        const struct alert *a = &l->v[i];
        if (a->state != ALERT_PENDING && a->state != ALERT_FIRING)
            continue;
        json_t *o =
            json_pack("{s:s, s:s, s:O, s:O, s:O, s:o, s:o}", "fingerprint", a->fingerprint, "state",
                      alert_state_name(a->state), "labels", a->labels, "annotations",
                      a->annotations, "values", a->values, "activeSince",
                      time_json(a->active_since), "firingSince", time_json(a->firing_since));
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    doc = json_pack("{s:b, s:o, s:o}", "leader", leader, "evaluatedAt", time_json(evaluated_at),
                    "alerts", arr);
    if (doc)
        out = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return out;
}

/* ---- the module ---- */

struct alerts {
    struct ntf *ntf;          /* NULL when oneshot */
    int oneshot;              /* onestopd --once: alert_run does nothing */
    struct alert_list active; /* the states as last evaluated (leader only) */
    int leader;
    time_t leader_since;
    time_t evaluated_at;
    time_t last_prune;
    struct log_complaint complaint;
};

struct alerts *alert_new(int oneshot)
{
    struct alerts *a = calloc(1, sizeof *a);

    if (!a)
        return NULL;
    a->oneshot = oneshot;
    if (oneshot)
        return a;
    a->ntf = ntf_new();
    if (!a->ntf) {
        free(a);
        return NULL;
    }
    return a;
}

void alert_free(struct alerts *a)
{
    if (!a)
        return;
    ntf_free(a->ntf);
    alert_list_clear(&a->active);
    free(a);
}

/* A double as a query parameter; NULL (SQL NULL) when NaN. */
static const char *dparam(double v, char *buf, size_t len)
{
    if (isnan(v))
        return NULL;
    snprintf(buf, len, "%.17g", v);
    return buf;
}

static const char *tparam(time_t t, char *buf, size_t len)
{
    if (t <= 0)
        return NULL;
    snprintf(buf, len, "%lld", (long long)t);
    return buf;
}

/* Today's indicators of every period and agency, one upsert per row, in one transaction. */
static int save_daily(PGconn *conn, const struct model *m, char *err, size_t errlen)
{
    static const char SQL[] =
        "INSERT INTO indicator_daily (day, period, agency, on_time_ratio,"
        " resolved_on_time_ratio, online_dossier_ratio, postal_receipt_ratio,"
        " postal_return_ratio, carried_over, received_online, received_direct,"
        " received_postal, resolved_early, resolved_on_time, resolved_late, pending_within,"
        " pending_overdue, computed_at)"
        " VALUES ($1::date, $2, $3, $4::float8, $5::float8, $6::float8, $7::float8,"
        " $8::float8, $9::bigint, $10::bigint, $11::bigint, $12::bigint, $13::bigint,"
        " $14::bigint, $15::bigint, $16::bigint, $17::bigint, now())"
        " ON CONFLICT (day, period, agency) DO UPDATE SET"
        " on_time_ratio = EXCLUDED.on_time_ratio,"
        " resolved_on_time_ratio = EXCLUDED.resolved_on_time_ratio,"
        " online_dossier_ratio = EXCLUDED.online_dossier_ratio,"
        " postal_receipt_ratio = EXCLUDED.postal_receipt_ratio,"
        " postal_return_ratio = EXCLUDED.postal_return_ratio,"
        " carried_over = EXCLUDED.carried_over, received_online = EXCLUDED.received_online,"
        " received_direct = EXCLUDED.received_direct,"
        " received_postal = EXCLUDED.received_postal,"
        " resolved_early = EXCLUDED.resolved_early,"
        " resolved_on_time = EXCLUDED.resolved_on_time,"
        " resolved_late = EXCLUDED.resolved_late, pending_within = EXCLUDED.pending_within,"
        " pending_overdue = EXCLUDED.pending_overdue, computed_at = EXCLUDED.computed_at"
        /* Most computations change nothing: no new row version then. */
        " WHERE (indicator_daily.on_time_ratio, indicator_daily.resolved_on_time_ratio,"
        " indicator_daily.online_dossier_ratio, indicator_daily.postal_receipt_ratio,"
        " indicator_daily.postal_return_ratio, indicator_daily.carried_over,"
        " indicator_daily.received_online, indicator_daily.received_direct,"
        " indicator_daily.received_postal, indicator_daily.resolved_early,"
        " indicator_daily.resolved_on_time, indicator_daily.resolved_late,"
        " indicator_daily.pending_within, indicator_daily.pending_overdue)"
        " IS DISTINCT FROM (EXCLUDED.on_time_ratio, EXCLUDED.resolved_on_time_ratio,"
        " EXCLUDED.online_dossier_ratio, EXCLUDED.postal_receipt_ratio,"
        " EXCLUDED.postal_return_ratio, EXCLUDED.carried_over, EXCLUDED.received_online,"
        " EXCLUDED.received_direct, EXCLUDED.received_postal, EXCLUDED.resolved_early,"
        " EXCLUDED.resolved_on_time, EXCLUDED.resolved_late, EXCLUDED.pending_within,"
        " EXCLUDED.pending_overdue)";
    char day[11], d[5][32], c[9][24];
    const char *params[17];

    ldate_format(&m->today, day);
    if (pg_exec_ok(conn, "BEGIN", err, errlen) != 0)
        return -1;
    for (int k = 0; k < PK_COUNT; k++) {
        const struct b06_table *t = &m->tables[k];
        for (size_t i = 0; i <= t->nrows; i++) {
            const char *agency;
            const struct b06_row *r = rates_row_at(t, i, &agency);
            const double ratios[5] = {r->r.on_time, r->r.resolved_on_time, r->r.online_dossier,
                                      r->r.postal_receipt, r->r.postal_return};
            const long counts[9] = {
                r->c.carried_over,    r->c.received_online, r->c.received_direct,
                r->c.received_postal, r->c.resolved_early,  r->c.resolved_on_time,
                r->c.resolved_late,   r->c.pending_within,  r->c.pending_overdue};
            params[0] = day;
            params[1] = m->periods[k].label;
            params[2] = agency;
            for (int j = 0; j < 5; j++)
                params[3 + j] = dparam(ratios[j], d[j], sizeof d[j]);
            for (int j = 0; j < 9; j++) {
                snprintf(c[j], sizeof c[j], "%ld", counts[j]);
                params[8 + j] = c[j];
            }
            if (pg_exec_params(conn, SQL, 17, params, "storing the daily indicators", err,
                               errlen) != 0)
                goto fail;
        }
    }
    if (pg_exec_ok(conn, "COMMIT", err, errlen) != 0)
        goto fail;
    return 0;
fail:
    pg_exec_ok(conn, "ROLLBACK", NULL, 0);
    return -1;
}

/* The on-time ratios stored for the days from lo to hi (alert_rules_eval picks the latest
 * of each period and agency); the pointers in *out point into the returned result. */
static PGresult *load_prev(PGconn *conn, const struct ldate *lo, const struct ldate *hi,
                           struct alert_prev_ratio **out, size_t *nout, char *err, size_t errlen)
{
    char los[11], his[11];
    const char *params[2] = {los, his};
    PGresult *res;

    *out = NULL;
    *nout = 0;
    ldate_format(lo, los);
    ldate_format(hi, his);
    res = PQexecParams(conn,
                       "SELECT period, agency, on_time_ratio, to_char(day, 'YYYY-MM-DD')"
                       " FROM indicator_daily WHERE day BETWEEN $1::date AND $2::date"
                       " AND on_time_ratio IS NOT NULL",
                       2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_errf(err, errlen, res, conn, "reading the daily indicators");
        PQclear(res);
        return NULL;
    }
    int n = PQntuples(res);
    *out = calloc(n > 0 ? (size_t)n : 1, sizeof **out);
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        PQclear(res);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        struct alert_prev_ratio *r = &(*out)[*nout];
        r->period = PQgetvalue(res, i, 0);
        r->agency = PQgetvalue(res, i, 1);
        r->on_time = strtod(PQgetvalue(res, i, 2), NULL);
        if (ldate_parse(PQgetvalue(res, i, 3), &r->day) == 0)
            (*nout)++;
    }
    return res;
}

static time_t col_time(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : (time_t)strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Reads alert_state (locking the rows for this transaction) into out. */
static int load_states(PGconn *conn, struct alert_list *out, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, "SELECT state, labels::text, annotations::text, vals::text,"
                                 " extract(epoch FROM active_since)::bigint,"
                                 " extract(epoch FROM firing_since)::bigint,"
                                 " extract(epoch FROM last_notified)::bigint,"
                                 " extract(epoch FROM resolved_at)::bigint"
                                 " FROM alert_state ORDER BY fingerprint FOR UPDATE");
    int rc = -1;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_errf(err, errlen, res, conn, "reading alert_state");
        goto cleanup;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        const char *st = PQgetvalue(res, i, 0);
        json_t *labels = json_loads(PQgetvalue(res, i, 1), 0, NULL);
        json_t *ann = json_loads(PQgetvalue(res, i, 2), 0, NULL);
        json_t *vals = json_loads(PQgetvalue(res, i, 3), 0, NULL);
        if (!json_is_object(labels) || !ann || !vals) {
            /* Not ours to repair: a condition with the same labels overwrites it. */
            log_warn("alert", "alert_state row %d is unreadable; ignored", i);
            json_decref(labels);
            json_decref(ann);
            json_decref(vals);
            continue;
        }
        struct alert *a = alert_list_add(out, labels, ann, vals);
        if (!a) {
            snprintf(err, errlen, "reading alert_state: out of memory");
            goto cleanup;
        }
        a->state = alert_state_parse(st);
        a->active_since = col_time(res, i, 4);
        a->firing_since = col_time(res, i, 5);
        a->last_notified = col_time(res, i, 6);
        a->resolved_at = col_time(res, i, 7);
    }
    rc = 0;
cleanup:
    PQclear(res);
    return rc;
}

static int write_state(PGconn *conn, const struct alert *a, char *err, size_t errlen)
{
    static const char SQL[] =
        "INSERT INTO alert_state (fingerprint, alertname, state, labels, annotations, vals,"
        " active_since, firing_since, last_notified, resolved_at, updated_at)"
        " VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb,"
        " to_timestamp($7::float8), to_timestamp($8::float8), to_timestamp($9::float8),"
        " to_timestamp($10::float8), now())"
        " ON CONFLICT (fingerprint) DO UPDATE SET alertname = EXCLUDED.alertname,"
        " state = EXCLUDED.state, labels = EXCLUDED.labels,"
        " annotations = EXCLUDED.annotations, vals = EXCLUDED.vals,"
        " active_since = EXCLUDED.active_since, firing_since = EXCLUDED.firing_since,"
        " last_notified = EXCLUDED.last_notified, resolved_at = EXCLUDED.resolved_at,"
        " updated_at = now()";
    char t[4][24];
    char *labels = json_dumps(a->labels, JSON_COMPACT | JSON_SORT_KEYS);
    char *ann = json_dumps(a->annotations, JSON_COMPACT);
    char *vals = json_dumps(a->values, JSON_COMPACT);
    int rc = -1;

    if (labels && ann && vals) {
        const char *params[10] = {a->fingerprint,
                                  alert_label(a, "alertname"),
                                  alert_state_name(a->state),
                                  labels,
                                  ann,
                                  vals,
                                  tparam(a->active_since, t[0], sizeof t[0]),
                                  tparam(a->firing_since, t[1], sizeof t[1]),
                                  tparam(a->last_notified, t[2], sizeof t[2]),
                                  tparam(a->resolved_at, t[3], sizeof t[3])};
        rc = pg_exec_params(conn, SQL, 10, params, "writing alert_state", err, errlen);
    } else {
        snprintf(err, errlen, "writing alert_state: out of memory");
    }
    free(labels);
    free(ann);
    free(vals);
    return rc;
}

/* Queues a's notification for every webhook (in the outbox, in this transaction). */
static int queue_webhooks(PGconn *conn, const struct alert *a, const char *urls,
                          const char *external_url, char *err, size_t errlen)
{
    /* A newer notification of the alert to the same URL makes an unsent older one moot. */
    static const char SQL[] =
        "WITH old AS (UPDATE alert_outbox SET superseded_at = now()"
        " WHERE fingerprint = $1 AND url = $2 AND sent_at IS NULL AND superseded_at IS NULL"
        " AND abandoned_at IS NULL)"
        " INSERT INTO alert_outbox (fingerprint, url, status, body) VALUES ($1, $2, $3, $4)";
    char *body = ntf_webhook_body(a, RECEIVER_NAME, external_url);
    char url[2048];
    int rc = 0;

    if (!body) {
        snprintf(err, errlen, "building a webhook payload: out of memory");
        return -1;
    }
    for (const char *p = urls; p && *p && rc == 0;) {
        size_t len = strcspn(p, " \t");
        if (len > 0 && len < sizeof url) {
            memcpy(url, p, len);
            url[len] = '\0';
            const char *params[4] = {a->fingerprint, url,
                                     a->state == ALERT_RESOLVED ? "resolved" : "firing", body};
            rc = pg_exec_params(conn, SQL, 4, params, "queueing a notification", err, errlen);
        }
        p += len;
        p += strspn(p, " \t");
    }
    free(body);
    return rc;
}

/* Moves the lifecycle from the stored states to cond in one transaction: state rows
 * written or deleted, notifications queued. On success *next holds the new states. */
static int persist_step(PGconn *conn, const struct config *cfg, const struct model *m,
                        const struct alert_list *cond, time_t now, const char *external_url,
                        struct alert_list *next, char *err, size_t errlen)
{
    struct alert_list prev = {0};
    const char *periods[PK_COUNT];
    int rc = -1;

    for (int k = 0; k < PK_COUNT; k++)
        periods[k] = m->periods[k].label;
    if (pg_exec_ok(conn, "BEGIN", err, errlen) != 0)
        return -1;
    if (load_states(conn, &prev, err, errlen) != 0)
        goto cleanup;
    if (alert_step(&prev, cond, now, cfg->alert_for_s, cfg->alert_repeat_interval_s,
                   KEEP_RESOLVED_S, periods, PK_COUNT, next) != 0) {
        snprintf(err, errlen, "alert lifecycle: out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < prev.n; i++) {
        if (alert_list_find(next, prev.v[i].fingerprint))
            continue;
        const char *params[1] = {prev.v[i].fingerprint};
        if (pg_exec_params(conn, "DELETE FROM alert_state WHERE fingerprint = $1", 1, params,
                           "deleting from alert_state", err, errlen) != 0)
            goto cleanup;
    }
    for (size_t i = 0; i < next->n; i++) {
        const struct alert *a = &next->v[i];
        if (a->changed && write_state(conn, a, err, errlen) != 0)
            goto cleanup;
        if (a->notify != ALERT_NOTIFY_NONE && cfg->alert_webhook_urls &&
            queue_webhooks(conn, a, cfg->alert_webhook_urls, external_url, err, errlen) != 0)
            goto cleanup;
    }
    if (pg_exec_ok(conn, "COMMIT", err, errlen) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    if (rc != 0) {
        pg_exec_ok(conn, "ROLLBACK", NULL, 0);
        alert_list_clear(next);
    }
    alert_list_clear(&prev);
    return rc;
}

/* The blank-separated URLs of urls, single-space-separated (new string; "" for NULL). */
static char *url_words(const char *urls)
{
    struct buf b;

    buf_init(&b);
    for (const char *p = urls; p && *p;) {
        size_t len = strcspn(p, " \t");
        if (len)
            buf_printf(&b, "%s%.*s", b.len ? " " : "", (int)len, p);
        p += len;
        p += strspn(p, " \t");
    }
    return buf_steal(&b, NULL);
}

/* Unsent webhook notifications to a URL that left the configuration: nobody to send them
 * to. */
static int retire_outbox(PGconn *conn, const struct config *cfg, char *err, size_t errlen)
{
    char *urls = url_words(cfg->alert_webhook_urls);
    int rc;

    if (!urls) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *params[1] = {urls};
    rc = pg_exec_params(conn,
                        "UPDATE alert_outbox SET superseded_at = now()"
                        " WHERE sent_at IS NULL AND superseded_at IS NULL AND abandoned_at IS NULL"
                        " AND NOT (url = ANY (string_to_array($1, ' ')))",
                        1, params, "updating alert_outbox", err, errlen);
    free(urls);
    return rc;
}

/* Hands the alerts for Alertmanager to the thread that posts them: the firing ones, and
 * those resolved lately (posted as resolved, so they leave Alertmanager; this includes
 * an alert whose period ended). */
static void post_alertmanager(struct alerts *a, time_t now)
{
    const struct alert **v = calloc(a->active.n ? a->active.n : 1, sizeof *v);
    size_t n = 0;

    if (!v) {
        log_err("alert", "out of memory posting to Alertmanager");
        return;
    }
    for (size_t i = 0; i < a->active.n; i++) {
        const struct alert *x = &a->active.v[i];
        if (x->state == ALERT_FIRING ||
            (x->state == ALERT_RESOLVED && now - x->resolved_at < NTF_AM_KEEP_RESOLVED_S))
            v[n++] = x;
    }
    if (ntf_set_alertmanager_alerts(a->ntf, v, n) != 0)
        log_err("alert", "out of memory posting to Alertmanager");
    free(v);
}

/* Housekeeping: old outbox rows and old daily indicators. */
static void prune(struct alerts *a, PGconn *conn, const struct model *m, time_t now)
{
    char err[512], day[11];
    struct ldate oldest = ldate_add_days(&m->today, -DAILY_KEEP_DAYS);
    const char *params[1] = {day};

    if (now - a->last_prune < PRUNE_EVERY_S)
        return;
    a->last_prune = now;
    ldate_format(&oldest, day);
    if (pg_exec_ok(conn,
                   "DELETE FROM alert_outbox WHERE coalesce(sent_at, superseded_at, abandoned_at)"
                   " < now() - interval '" OUTBOX_KEEP_DAYS " days'",
                   err, sizeof err) != 0 ||
        pg_exec_params(conn, "DELETE FROM indicator_daily WHERE day < $1::date", 1, params,
                       "pruning indicator_daily", err, sizeof err) != 0)
        log_warn("alert", "%s", err);
}

/* This daemon's URL for receivers: [alert] external_url, else http://LISTEN. */
static char *external_url_of(const struct config *cfg)
{
    char host[256];

    if (cfg->alert_external_url)
        return xstrdup(cfg->alert_external_url);
    if (cfg->http_listen && strncmp(cfg->http_listen, "*:", 2) == 0) {
        if (gethostname(host, sizeof host) != 0)
            snprintf(host, sizeof host, "localhost");
        host[sizeof host - 1] = '\0';
        return xasprintf("http://%s%s", host, cfg->http_listen + 1);
    }
    return xasprintf("http://%s", cfg->http_listen ? cfg->http_listen : "localhost");
}

/* The leader's evaluation. 0 or -1 with err; a->active holds the new states on success. */
static int evaluate(struct alerts *a, PGconn *conn, const struct config *cfg, const struct model *m,
                    const struct source_status *src, size_t nsrc, time_t now,
                    const char *external_url, char *err, size_t errlen)
{
    struct alert_rule_params p = {
        .drop_points = cfg->alert_drop_points,
        .drop_days = cfg->alert_drop_window_s / 86400 > 0 ? cfg->alert_drop_window_s / 86400 : 1,
        .drop_slack_days = ALERT_DROP_SLACK_DAYS,
        .stale_after_s = cfg->alert_stale_after_s,
        .down_after = cfg->alert_down_after > 0 ? cfg->alert_down_after : 1,
    };
    struct alert_list cond = {0}, next = {0};
    struct alert_prev_ratio *prev = NULL;
    size_t nprev = 0;
    long *intervals = calloc(nsrc ? nsrc : 1, sizeof *intervals);
    PGresult *prev_res = NULL;
    int rc = -1;

    if (!intervals) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < nsrc; i++) {
        const struct source_cfg *sc = cfg_find_source(cfg, src[i].name);
        intervals[i] = sc ? sc->interval_s : 300;
    }
    if (save_daily(conn, m, err, errlen) != 0)
        goto cleanup;
    struct ldate hi = ldate_add_days(&m->today, -p.drop_days);
    struct ldate lo = ldate_add_days(&hi, -p.drop_slack_days);
    if (!(prev_res = load_prev(conn, &lo, &hi, &prev, &nprev, err, errlen)))
        goto cleanup;
    if (alert_rules_eval(m, src, intervals, nsrc, prev, nprev, &p, now, a->leader_since, &cond) !=
        0) {
        snprintf(err, errlen, "alert rules: out of memory");
        goto cleanup;
    }
    if (persist_step(conn, cfg, m, &cond, now, external_url, &next, err, errlen) != 0)
        goto cleanup;
    alert_list_clear(&a->active);
    a->active = next;
    rc = 0;
cleanup:
    alert_list_clear(&cond);
    free(prev);
    PQclear(prev_res);
    free(intervals);
    return rc;
}

static int model_alert_cmp(const void *x, const void *y)
{
    const struct model_alert *a = x, *b = y;
    int c = strcmp(a->alertname, b->alertname);
    if (!c)
        c = strcmp(a->agency, b->agency);
    if (!c)
        c = strcmp(a->period, b->period);
    if (!c)
        c = strcmp(a->source, b->source);
    return c;
}

/* The firing alerts into m->alerts (onestop_alert_active). */
static void fill_model(const struct alerts *a, struct model *m)
{
    size_t n = 0;

    for (size_t i = 0; i < a->active.n; i++)
        n += a->active.v[i].state == ALERT_FIRING;
    if (n == 0 || !(m->alerts = calloc(n, sizeof *m->alerts)))
        return;
    for (size_t i = 0; i < a->active.n; i++) {
        const struct alert *x = &a->active.v[i];
        if (x->state != ALERT_FIRING)
            continue;
        struct model_alert *ma = &m->alerts[m->nalerts];
        ma->alertname = xstrdup(alert_label(x, "alertname"));
        ma->agency = xstrdup(alert_label(x, "agency"));
        ma->period = xstrdup(alert_label(x, "period"));
        ma->source = xstrdup(alert_label(x, "source"));
        ma->severity = xstrdup(alert_label(x, "severity"));
        if (!ma->alertname || !ma->agency || !ma->period || !ma->source || !ma->severity) {
            /* Out of memory: the page shows fewer alerts. */
            free(ma->alertname);
            free(ma->agency);
            free(ma->period);
            free(ma->source);
            free(ma->severity);
            memset(ma, 0, sizeof *ma);
            break;
        }
        m->nalerts++;
    }
    qsort(m->alerts, m->nalerts, sizeof *m->alerts, model_alert_cmp);
}

void alert_run(struct alerts *a, PGconn *conn, int leader, const struct config *cfg,
               struct model *m, const struct source_status *src, size_t nsrc, struct snapshot *snap)
{
    char err[1024];
    time_t now = time(NULL);

    /* A one-off run (--once) cannot follow an alert through: it moves nothing. */
    if (!a || a->oneshot)
        return;
    if (!leader || !conn) {
        /* A standby shows no alert and sends nothing: the leader owns them. */
        if (a->leader)
            alert_list_clear(&a->active);
        a->leader = 0;
        a->leader_since = 0;
        ntf_set_leader(a->ntf, 0);
    } else {
        char *ext = external_url_of(cfg);
        struct ntf_options o = {.timeout_s = cfg->alert_timeout_s,
                                .max_retries = cfg->alert_max_retries,
                                .bearer_token = cfg->alert_bearer_token,
                                .conninfo = cfg->db_conninfo,
                                .password = cfg->db_password,
                                .webhook_urls = cfg->alert_webhook_urls,
                                .alertmanager_urls = cfg->alert_alertmanager_urls,
                                .external_url = ext};
        if (!a->leader) {
            a->leader = 1;
            a->leader_since = now;
        }
        if (ntf_configure(a->ntf, &o) != 0)
            log_err("alert", "out of memory configuring the delivery threads");
        ntf_set_leader(a->ntf, 1);
        if (!ext) {
            log_err("alert", "out of memory");
        } else if (m->computed_at != 0) {
            if (evaluate(a, conn, cfg, m, src, nsrc, now, ext, err, sizeof err) != 0 ||
                retire_outbox(conn, cfg, err, sizeof err) != 0) {
                log_complain(&a->complaint, LOG_LVL_ERR, "alert", "%s", err);
            } else {
                log_release(&a->complaint, "alert", "alerts evaluated again");
                a->evaluated_at = now;
                /* Also when nothing new was queued: rows due again, rows another instance
                 * left behind. */
                ntf_kick(a->ntf);
                if (cfg->alert_alertmanager_urls)
                    post_alertmanager(a, now);
                prune(a, conn, m, now);
            }
        }
        free(ext);
    }
    fill_model(a, m);
    ntf_counts(a->ntf, m->alert_notifications);
    char *json = alert_api_json(&a->active, a->leader, a->leader ? a->evaluated_at : 0);
    if (json)
        snapshot_set_alerts(snap, json, strlen(json));
}
