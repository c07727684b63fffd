/* SPDX-License-Identifier: Apache-2.0 */
/* alert_rules: the alert rules and lifecycle, pure functions (see alert_rules.h). */
#include "alert_rules.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rates.h"
#include "vnfmt.h"

/* Everything here reads only its arguments (no database, no clock), so the unit tests
 * drive the rules and the lifecycle directly, and alerts.c decides what is stored. */

/* Replaces every byte that is not part of valid UTF-8 by '?', in place, so the text can
 * go into JSON (an error message may have been cut inside a character). */
static void utf8_clean(char *s)
{
    unsigned char *p = (unsigned char *)s;

    while (*p) {
        int len = *p < 0x80             ? 1
                  : (*p & 0xe0) == 0xc0 ? 2
                  : (*p & 0xf0) == 0xe0 ? 3
                  : (*p & 0xf8) == 0xf0 ? 4
                                        : 0;
        int ok = len > 0 && !(len == 2 && *p < 0xc2);
        for (int i = 1; ok && i < len; i++)
            ok = (p[i] & 0xc0) == 0x80;
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += len;
    }
}

/* ---- rules ---- */

static const char *agency_name(const struct model *m, const char *agency)
{
    if (strcmp(agency, "ALL") == 0)
        return "toàn tỉnh";
    for (int k = 0; k < PK_COUNT; k++) {
        const struct b06_row *r = m->tables[k].nrows ? rates_find(&m->tables[k], agency) : NULL;
        if (r && r->name && r->name[0])
            return r->name;
    }
    return agency;
}

static int add(struct alert_list *out, json_t *labels, const char *summary, const char *description,
               json_t *values)
{
    json_t *ann = json_pack("{s:s, s:s}", "summary", summary, "description", description);
    return alert_list_add(out, labels, ann, values) ? 0 : -1;
}

/* The latest row of prev for period and agency dated from lo to hi, with a ratio; NULL
 * when there is none. */
static const struct alert_prev_ratio *pick_prev(const struct alert_prev_ratio *prev, size_t nprev,
                                                const char *period, const char *agency,
                                                const struct ldate *lo, const struct ldate *hi)
{
    const struct alert_prev_ratio *best = NULL;

    for (size_t j = 0; j < nprev; j++) {
        const struct alert_prev_ratio *r = &prev[j];
        if (strcmp(r->period, period) != 0 || strcmp(r->agency, agency) != 0 || isnan(r->on_time) ||
            ldate_cmp(&r->day, lo) < 0 || ldate_cmp(&r->day, hi) > 0)
            continue;
        if (!best || ldate_cmp(&r->day, &best->day) > 0)
            best = r;
    }
    return best;
}

static int ratio_rules(const struct model *m, const struct alert_prev_ratio *prev, size_t nprev,
                       const struct alert_rule_params *p, struct alert_list *out)
{
    static const int kinds[] = {PK_MONTH, PK_YEAR};
    double target = m->targets[TGT_ON_TIME];
    char rs[32], ts[32], ps[32], pts[32], day[11], window[64];
    char summary[512], desc[1024];
    struct ldate hi = ldate_add_days(&m->today, -p->drop_days);
    struct ldate lo = ldate_add_days(&hi, -(p->drop_slack_days > 0 ? p->drop_slack_days : 0));

    vnfmt_percent(target, ts, sizeof ts);
    for (size_t kk = 0; kk < ARRAY_LEN(kinds); kk++) {
        const struct b06_table *t = &m->tables[kinds[kk]];
        const char *period = m->periods[kinds[kk]].label;
        for (size_t i = 0; i <= t->nrows; i++) {
            const char *agency;
            const struct b06_row *r = rates_row_at(t, i, &agency);
            double ratio = r->r.on_time;
            const char *name = agency_name(m, agency);
            int all = strcmp(agency, "ALL") == 0;
            if (isnan(ratio))
                continue;
            vnfmt_percent(ratio, rs, sizeof rs);
            if (!isnan(target) && ratio <= target) {
                snprintf(summary, sizeof summary,
                         "Tỷ lệ giải quyết đúng hạn của %s kỳ %s không đạt chỉ tiêu", name, period);
                snprintf(desc, sizeof desc,
                         "Tỷ lệ giải quyết đúng hạn của %s kỳ %s là %s, không cao hơn chỉ "
                         "tiêu %s.",
                         name, period, rs, ts);
                if (add(out,
                        json_pack("{s:s, s:s, s:s, s:s}", "alertname", "OnTimeRatioBelowTarget",
                                  "agency", agency, "period", period, "severity",
                                  all ? "critical" : "warning"),
                        summary, desc, json_pack("{s:f, s:f}", "ratio", ratio, "target", target)))
                    return -1;
            }
            const struct alert_prev_ratio *pr = pick_prev(prev, nprev, period, agency, &lo, &hi);
            if (pr) {
                double old = pr->on_time, drop = (old - ratio) * 100.0;
                /* The epsilon absorbs binary fractions: 0.95 - 0.93 is 1.9999999999999 pp. */
                if (drop + 1e-9 < p->drop_points)
                    continue;
                ldate_format(&pr->day, day);
                vnfmt_duration((ldate_to_days(&m->today) - ldate_to_days(&pr->day)) * 86400, window,
                               sizeof window);
                vnfmt_percent(old, ps, sizeof ps);
                vnfmt_decimal(drop, 1, pts, sizeof pts);
                snprintf(summary, sizeof summary,
                         "Tỷ lệ giải quyết đúng hạn của %s kỳ %s giảm %s điểm phần trăm", name,
                         period, pts);
                snprintf(desc, sizeof desc,
                         "Tỷ lệ giải quyết đúng hạn của %s kỳ %s giảm %s điểm phần trăm so với "
                         "%s trước (ngày %s): từ %s xuống %s.",
                         name, period, pts, window, day, ps, rs);
                if (add(out,
                        json_pack("{s:s, s:s, s:s, s:s}", "alertname", "OnTimeRatioDropped",
                                  "agency", agency, "period", period, "severity", "warning"),
                        summary, desc,
                        json_pack("{s:f, s:f, s:s, s:f}", "ratio", ratio, "previous_ratio", old,
                                  "previous_day", day, "drop_points", drop)))
                    return -1;
            }
        }
    }
    return 0;
}

static json_t *source_labels(const char *alertname, const char *source, const char *severity)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "alertname", alertname, "agency", "ALL", "source",
                     source, "severity", severity);
}

#define STALE_LABELS(name) source_labels("SourceStale", (name), "critical")
#define DOWN_LABELS(name) source_labels("SourceDown", (name), "warning")

/* A hold entry: whatever state the alert with these labels has, it keeps. */
static int hold(struct alert_list *out, json_t *labels)
{
    struct alert *a = alert_list_add(out, labels, json_object(), json_object());
    if (!a)
        return -1;
    a->hold = 1;
    return 0;
}

static int source_rules(const struct source_status *src, const long *interval_s, size_t nsrc,
                        const struct alert_rule_params *p, time_t now, time_t since,
                        struct alert_list *out)
{
    char summary[512], desc[1024], ago[64], limit[64], last[64], err[256];

    for (size_t i = 0; i < nsrc; i++) {
        const struct source_status *s = &src[i];
        long stale_after = p->stale_after_s > 0 ? p->stale_after_s : 3 * interval_s[i];
        /* What happened before `since` (another leader, or this process before a restart)
         * is not in memory: see alert_rules_eval. */
        int attempted = s->last_attempt > 0 && s->last_attempt >= (double)since;
        int success_seen = s->last_success > 0 && s->last_success >= (double)since;
        double ref = success_seen ? s->last_success : (double)since;

        if (!attempted) {
            if (hold(out, STALE_LABELS(s->name)) != 0 || hold(out, DOWN_LABELS(s->name)) != 0)
                return -1;
            continue;
        }
        if (ref > 0 && (double)now - ref >= (double)stale_after) {
            vnfmt_duration((long)((double)now - ref), ago, sizeof ago);
            vnfmt_duration(stale_after, limit, sizeof limit);
            if (success_seen) {
                /* Vietnam time, as every date the product shows. */
                time_t t = (time_t)s->last_success + VN_UTC_OFFSET_S;
                struct tm tm;
                gmtime_r(&t, &tm);
                strftime(last, sizeof last, "lúc %Y-%m-%d %H:%M (giờ Việt Nam)", &tm);
            } else {
                snprintf(last, sizeof last, "chưa có lần nào kể từ khi khởi động");
            }
            snprintf(summary, sizeof summary, "Nguồn dữ liệu %s không được đồng bộ", s->name);
            snprintf(desc, sizeof desc,
                     "Nguồn dữ liệu %s không đồng bộ thành công trong %s (ngưỡng %s); lần "
                     "thành công gần nhất: %s.",
                     s->name, ago, limit, last);
            json_t *vals = success_seen ? json_pack("{s:f, s:I}", "last_success", s->last_success,
                                                    "stale_after_seconds", (json_int_t)stale_after)
                                        : json_pack("{s:n, s:I}", "last_success",
                                                    "stale_after_seconds", (json_int_t)stale_after);
            if (add(out, STALE_LABELS(s->name), summary, desc, vals))
                return -1;
        } else if (!success_seen && hold(out, STALE_LABELS(s->name)) != 0) {
            /* No success yet, and not leading for stale_after: the last success may be
             * older than this instance knows. */
            return -1;
        }
        if (s->consecutive_failures >= p->down_after && s->consecutive_failures > 0) {
            snprintf(err, sizeof err, "%s", s->last_error[0] ? s->last_error : "không rõ");
            utf8_clean(err);
            snprintf(summary, sizeof summary, "Nguồn dữ liệu %s đang lỗi", s->name);
            snprintf(desc, sizeof desc,
                     "%d lần đồng bộ liên tiếp gần nhất của nguồn dữ liệu %s đều thất bại; lỗi "
                     "cuối: %s",
                     s->consecutive_failures, s->name, err);
            if (add(out, DOWN_LABELS(s->name), summary, desc,
                    json_pack("{s:i}", "consecutive_failures", s->consecutive_failures)))
                return -1;
        } else if (s->consecutive_failures > 0 && !success_seen &&
                   hold(out, DOWN_LABELS(s->name)) != 0) {
            /* Failed since `since`, never succeeded: the failures before are unknown. */
            return -1;
        }
    }
    return 0;
}

static int overdue_rules(const struct model *m, struct alert_list *out)
{
    char summary[512], desc[1024];

    for (size_t i = 0; i < m->noverdue; i++) {
        const struct overdue_count *o = &m->overdue[i];
        /* Per agency: the province line would only repeat them. */
        if (o->count <= 0 || strcmp(o->agency, "ALL") == 0)
            continue;
        const char *name = agency_name(m, o->agency);
        snprintf(summary, sizeof summary, "%s có hồ sơ quá hạn chưa có phiếu xin lỗi", name);
        snprintf(desc, sizeof desc,
                 "%s có %ld hồ sơ đang quá hạn mà chưa có phiếu xin lỗi (PhieuXinLoi).", name,
                 o->count);
        if (add(out,
                json_pack("{s:s, s:s, s:s}", "alertname", "OverdueWithoutApology", "agency",
                          o->agency, "severity", "warning"),
                summary, desc, json_pack("{s:I}", "count", (json_int_t)o->count)))
            return -1;
    }
    return 0;
}

int alert_rules_eval(const struct model *m, const struct source_status *src, const long *interval_s,
                     size_t nsrc, const struct alert_prev_ratio *prev, size_t nprev,
                     const struct alert_rule_params *p, time_t now, time_t since,
                     struct alert_list *out)
{
    if (m && m->computed_at != 0 &&
        (ratio_rules(m, prev, nprev, p, out) != 0 || overdue_rules(m, out) != 0))
        return -1;
    return source_rules(src, interval_s, nsrc, p, now, since, out);
}

/* ---- lifecycle ---- */

static struct alert *copy_into(struct alert_list *l, const struct alert *from, const json_t *ann,
                               const json_t *values)
{
    struct alert *a = alert_list_add(l, json_incref(from->labels), json_incref((json_t *)ann),
                                     json_incref((json_t *)values));
    if (!a)
        return NULL;
    alert_copy_lifecycle(a, from);
    return a;
}

/* 1 when a's period label is set and is none of the current periods. */
static int period_over(const struct alert *a, const char *const *periods, size_t nperiods)
{
    const char *period = alert_label(a, "period");

    if (!periods || !*period)
        return 0;
    for (size_t i = 0; i < nperiods; i++)
        if (periods[i] && strcmp(periods[i], period) == 0)
            return 0;
    return 1;
}

int alert_step(const struct alert_list *prev, const struct alert_list *cond, time_t now, long for_s,
               long repeat_s, long keep_resolved_s, const char *const *periods, size_t nperiods,
               struct alert_list *next)
{
    for (size_t i = 0; i < cond->n; i++) {
        const struct alert *c = &cond->v[i];
        const struct alert *p = alert_list_find(prev, c->fingerprint);
        struct alert *a;
        if (alert_list_find(next, c->fingerprint))
            continue; /* the same condition twice */
        if (c->hold) {
            /* Not known now: the stored state stays as it is (and is not created). */
            if (!p || (p->state == ALERT_RESOLVED && now - p->resolved_at >= keep_resolved_s))
                continue;
            if (!copy_into(next, p, p->annotations, p->values))
                goto oom;
            continue;
        }
        if (!p || p->state == ALERT_RESOLVED) {
            /* A new episode. */
            if (!(a = copy_into(next, c, c->annotations, c->values)))
                goto oom;
            a->state = ALERT_PENDING;
            a->active_since = now;
            a->firing_since = a->last_notified = a->resolved_at = 0;
            a->changed = 1;
        } else {
            if (!(a = copy_into(next, p, c->annotations, c->values)))
                goto oom;
            a->changed =
                !json_equal(p->annotations, c->annotations) || !json_equal(p->values, c->values);
        }
        if (a->state == ALERT_PENDING) {
            if (now - a->active_since >= for_s) {
                a->state = ALERT_FIRING;
                a->firing_since = a->last_notified = now;
                a->notify = ALERT_NOTIFY_FIRING;
                a->changed = 1;
            }
        } else if (repeat_s > 0 && now - a->last_notified >= repeat_s) {
            a->last_notified = now;
            a->notify = ALERT_NOTIFY_FIRING;
            a->changed = 1;
        }
    }
    for (size_t i = 0; i < prev->n; i++) {
        const struct alert *p = &prev->v[i];
        struct alert *a;
        if (alert_list_find(cond, p->fingerprint))
            continue;
        if (p->state == ALERT_PENDING)
            continue; /* never fired: forgotten silently */
        if (p->state == ALERT_RESOLVED && now - p->resolved_at >= keep_resolved_s)
            continue;
        if (!(a = copy_into(next, p, p->annotations, p->values)))
            goto oom;
        if (p->state == ALERT_FIRING) {
            a->state = ALERT_RESOLVED;
            a->resolved_at = now;
            a->changed = 1;
            /* An alert whose period ended (the month or year rolled over) ends silently:
             * nothing recovered. */
            if (!period_over(p, periods, nperiods)) {
                a->last_notified = now;
                a->notify = ALERT_NOTIFY_RESOLVED;
            }
        }
    }
    return 0;
oom:
    alert_list_clear(next);
    return -1;
}
