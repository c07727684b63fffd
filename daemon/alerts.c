/* SPDX-License-Identifier: Apache-2.0 */
/* alerts: the module the computation thread drives (see alerts.h). It wires the pure rules and
 * lifecycle (alert_rules.c) to the database (alert_store.c, outbox.c) and to the delivery
 * threads (notify.c). */
#include "alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert_rules.h"
#include "alert_store.h"
#include "log.h"
#include "notify.h"
#include "outbox.h"
#include "pgutil.h"
#include "util.h"

/* A resolved alert stays in alert_state this long (history for the API), then goes. */
#define KEEP_RESOLVED_S (7L * 86400)
/* Housekeeping of the alert tables, at most this often. */
#define PRUNE_EVERY_S 3600
/* Daily indicators are kept this long (outbox.c keeps its rows for 30 days). */
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

/* Queues a's notification for every webhook (in the outbox, in this transaction). */
static int queue_webhooks(PGconn *conn, const struct alert *a, const char *urls,
                          const char *external_url, char *err, size_t errlen)
{
    struct outbox_db db = outbox_db_blocking(conn);
    char *body = ntf_webhook_body(a, RECEIVER_NAME, external_url);
    int rc;

    if (!body) {
        snprintf(err, errlen, "building a webhook payload: out of memory");
        return -1;
    }
    rc = outbox_queue(&db, a->fingerprint, urls, a->state == ALERT_RESOLVED ? "resolved" : "firing",
                      body, err, errlen);
    free(body);
    return rc;
}

/* Moves the lifecycle from the stored states to cond in one transaction: state rows
 * written or deleted, notifications queued. The transaction is opened here, not in a
 * store, because it spans two of them (alert_state and alert_outbox). On success *next
 * holds the new states. */
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
    if (alert_store_load_states(conn, &prev, err, errlen) != 0)
        goto cleanup;
    if (alert_step(&prev, cond, now, cfg->alert_for_s, cfg->alert_repeat_interval_s,
                   KEEP_RESOLVED_S, periods, PK_COUNT, next) != 0) {
        snprintf(err, errlen, "alert lifecycle: out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < prev.n; i++) {
        if (alert_list_find(next, prev.v[i].fingerprint))
            continue;
        if (alert_store_delete_state(conn, prev.v[i].fingerprint, err, errlen) != 0)
            goto cleanup;
    }
    for (size_t i = 0; i < next->n; i++) {
        const struct alert *a = &next->v[i];
        if (a->changed && alert_store_write_state(conn, a, err, errlen) != 0)
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

/* Unsent webhook notifications to a URL that left the configuration: nobody to send them
 * to. */
static int retire_outbox(PGconn *conn, const struct config *cfg, char *err, size_t errlen)
{
    struct outbox_db db = outbox_db_blocking(conn);

    return outbox_retire(&db, cfg->alert_webhook_urls, err, errlen);
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
    char err[512];
    struct ldate oldest = ldate_add_days(&m->today, -DAILY_KEEP_DAYS);
    struct outbox_db db = outbox_db_blocking(conn);

    if (now - a->last_prune < PRUNE_EVERY_S)
        return;
    a->last_prune = now;
    if (outbox_prune(&db, err, sizeof err) != 0 ||
        alert_store_prune_daily(conn, &oldest, err, sizeof err) != 0)
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
    struct alert_store_prev prev = {0};
    long *intervals = calloc(nsrc ? nsrc : 1, sizeof *intervals);
    int rc = -1;

    if (!intervals) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < nsrc; i++) {
        const struct source_cfg *sc = cfg_find_source(cfg, src[i].name);
        intervals[i] = sc ? sc->interval_s : 300;
    }
    if (alert_store_save_daily(conn, m, err, errlen) != 0)
        goto cleanup;
    struct ldate hi = ldate_add_days(&m->today, -p.drop_days);
    struct ldate lo = ldate_add_days(&hi, -p.drop_slack_days);
    if (alert_store_load_prev(conn, &lo, &hi, &prev, err, errlen) != 0)
        goto cleanup;
    if (alert_rules_eval(m, src, intervals, nsrc, prev.v, prev.n, &p, now, a->leader_since,
                         &cond) != 0) {
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
    alert_store_prev_clear(&prev);
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
