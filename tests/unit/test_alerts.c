/* SPDX-License-Identifier: Apache-2.0 */
/* alert, alert_rules, alerts + ntf: the fingerprint, the rules and the lifecycle as pure
 * functions, the payload builders, the [alert] configuration, the /metrics families and
 * the delivery thread against a local HTTP server. (The Vietnamese formats are in
 * test_vnfmt.c, the outbox statements in test_outbox.c.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alert.h"
#include "alert_rules.h"
#include "alerts.h"
#include "cfgprint.h"
#include "config.h"
#include "metrics.h"
#include "model.h"
#include "notify.h"
#include "rates.h"
#include "snapshot.h"
#include "util.h"

#define NAME1 "Sở Khoa học và Công nghệ"

static char *xdup(const char *s)
{
    char *p = strdup(s);
    assert_non_null(p);
    return p;
}

/* ---- fixtures ---- */

static void set_counts(struct b06_row *r, long early, long ontime, long late, long within,
                       long overdue)
{
    memset(&r->c, 0, sizeof r->c);
    r->c.received_direct = early + ontime + late + within + overdue;
    r->c.resolved_early = early;
    r->c.resolved_on_time = ontime;
    r->c.resolved_late = late;
    r->c.pending_within = within;
    r->c.pending_overdue = overdue;
    rates_ratios(&r->c, &r->r);
}

/*
 * A1 (named): month 912/1000 on time, year 960/1000. A2 (no name): month and year 1.0.
 * A3: nothing in the month (ratio absent), year 0.5. ALL: month 0.9, year 0.94.
 * Target 0.95. Overdue without apology: A1 3, A2 0, A3 1, ALL 4.
 */
static void build_model(struct model *m)
{
    static const char *const labels[PK_COUNT] = {"2022", "2022-Q4", "2022-12"};

    memset(m, 0, sizeof *m);
    m->computed_at = 1671500000;
    m->today = (struct ldate){2022, 12, 20};
    for (int k = 0; k < PK_COUNT; k++) {
        struct b06_table *t = &m->tables[k];
        m->periods[k].kind = (enum period_kind)k;
        snprintf(m->periods[k].label, sizeof m->periods[k].label, "%s", labels[k]);
        t->rows = calloc(3, sizeof *t->rows);
        assert_non_null(t->rows);
        t->nrows = 3;
        t->rows[0].agency = xdup("A1");
        t->rows[0].name = xdup(NAME1);
        t->rows[1].agency = xdup("A2");
        t->rows[2].agency = xdup("A3");
        t->total.agency = xdup("ALL");
        if (k == PK_YEAR) {
            set_counts(&t->rows[0], 900, 50, 30, 10, 10);
            set_counts(&t->rows[1], 5, 0, 0, 0, 0);
            set_counts(&t->rows[2], 1, 0, 1, 0, 0);
            set_counts(&t->total, 900, 40, 60, 0, 0);
        } else {
            set_counts(&t->rows[0], 900, 2, 80, 10, 8);
            set_counts(&t->rows[1], 3, 0, 0, 0, 0);
            set_counts(&t->rows[2], 0, 0, 0, 0, 0);
            set_counts(&t->total, 800, 100, 100, 0, 0);
        }
    }
    m->overdue = calloc(4, sizeof *m->overdue);
    assert_non_null(m->overdue);
    m->noverdue = 4;
    m->overdue[0] = (struct overdue_count){xdup("A1"), 3};
    m->overdue[1] = (struct overdue_count){xdup("A2"), 0};
    m->overdue[2] = (struct overdue_count){xdup("A3"), 1};
    m->overdue[3] = (struct overdue_count){xdup("ALL"), 4};
    for (int i = 0; i < TGT_COUNT; i++)
        m->targets[i] = NAN;
    m->targets[TGT_ON_TIME] = 0.95;
    m->leader = 1;
}

static const struct alert_rule_params PARAMS = {
    .drop_points = 2, .drop_days = 7, .drop_slack_days = 7, .stale_after_s = 0, .down_after = 3};

static const struct alert *find(const struct alert_list *l, const char *alertname,
                                const char *agency, const char *period)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct alert *a = &l->v[i];
        if (strcmp(alert_label(a, "alertname"), alertname) == 0 &&
            strcmp(alert_label(a, "agency"), agency) == 0 &&
            strcmp(alert_label(a, "period"), period) == 0)
            return a;
    }
    return NULL;
}

/* Conditions named alertname (hold entries are not conditions). */
static size_t count_named(const struct alert_list *l, const char *alertname)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += !l->v[i].hold && strcmp(alert_label(&l->v[i], "alertname"), alertname) == 0;
    return n;
}

/* Hold entries for alertname and source. */
static size_t count_held(const struct alert_list *l, const char *alertname, const char *source)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += l->v[i].hold && strcmp(alert_label(&l->v[i], "alertname"), alertname) == 0 &&
             strcmp(alert_label(&l->v[i], "source"), source) == 0;
    return n;
}

static const char *ann(const struct alert *a, const char *key)
{
    return json_string_value(json_object_get(a->annotations, key));
}

static double val(const struct alert *a, const char *key)
{
    return json_number_value(json_object_get(a->values, key));
}

/* An alert with only a label set, for the lifecycle tests. */
static void add_cond(struct alert_list *l, const char *alertname, const char *agency,
                     const char *summary)
{
    assert_non_null(
        alert_list_add(l,
                       json_pack("{s:s, s:s, s:s}", "alertname", alertname, "agency", agency,
                                 "severity", "warning"),
                       json_pack("{s:s, s:s}", "summary", summary, "description", summary),
                       json_pack("{s:f}", "ratio", 0.5)));
}

/* ---- the value type ---- */

static void test_fingerprint(void **state)
{
    char a[17], b[17], c[17];
    json_t *empty = json_object();
    json_t *x = json_pack("{s:s, s:s}", "alertname", "X", "agency", "A1");
    json_t *y = json_pack("{s:s, s:s}", "agency", "A1", "alertname", "X");
    json_t *z = json_pack("{s:s, s:s}", "alertname", "X", "agency", "A2");

    /* Prometheus' fingerprint of the empty label set is the FNV-1a 64 offset basis. */
    alert_fingerprint(empty, a);
    assert_string_equal(a, "cbf29ce484222325");
    alert_fingerprint(x, a);
    alert_fingerprint(y, b);
    alert_fingerprint(z, c);
    assert_string_equal(a, b); /* order of the keys does not matter */
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(a), 16);
    json_decref(empty);
    json_decref(x);
    json_decref(y);
    json_decref(z);
}

/* ---- rules ---- */

static void test_rules_ratio(void **state)
{
    struct model m;
    struct alert_list out = {0};
    const struct alert *a;

    build_model(&m);
    assert_int_equal(alert_rules_eval(&m, NULL, NULL, 0, NULL, 0, &PARAMS, 1000, 0, &out), 0);

    /* A1 month 0.912 <= 0.95: fires; A1 year 0.96: not. */
    a = find(&out, "OnTimeRatioBelowTarget", "A1", "2022-12");
    assert_non_null(a);
    assert_string_equal(alert_label(a, "severity"), "warning");
    assert_string_equal(ann(a, "description"),
                        "Tỷ lệ giải quyết đúng hạn của " NAME1
                        " kỳ 2022-12 là 91,2%, không cao hơn chỉ tiêu 95,0%.");
    assert_non_null(strstr(ann(a, "summary"), NAME1));
    assert_float_equal(val(a, "ratio"), 0.912, 1e-12);
    assert_float_equal(val(a, "target"), 0.95, 1e-12);
    assert_int_equal(json_object_size(a->labels), 4);
    assert_null(find(&out, "OnTimeRatioBelowTarget", "A1", "2022"));
    /* A2 at 1.0: not; A3: month absent, year 0.5 fires, named by its code. */
    assert_null(find(&out, "OnTimeRatioBelowTarget", "A2", "2022-12"));
    assert_null(find(&out, "OnTimeRatioBelowTarget", "A3", "2022-12"));
    a = find(&out, "OnTimeRatioBelowTarget", "A3", "2022");
    assert_non_null(a);
    assert_non_null(strstr(ann(a, "description"), "của A3 kỳ 2022 là 50,0%"));
    /* ALL is critical, and both of its periods fire (0.9 and 0.94). */
    a = find(&out, "OnTimeRatioBelowTarget", "ALL", "2022-12");
    assert_non_null(a);
    assert_string_equal(alert_label(a, "severity"), "critical");
    assert_non_null(strstr(ann(a, "description"), "toàn tỉnh"));
    assert_non_null(find(&out, "OnTimeRatioBelowTarget", "ALL", "2022"));
    /* No quarter alerts. */
    assert_null(find(&out, "OnTimeRatioBelowTarget", "A1", "2022-Q4"));
    assert_int_equal(count_named(&out, "OnTimeRatioBelowTarget"), 4);
    alert_list_clear(&out);

    /* Equal to the target fires (the target must be beaten). */
    m.targets[TGT_ON_TIME] = 0.96;
    assert_int_equal(alert_rules_eval(&m, NULL, NULL, 0, NULL, 0, &PARAMS, 1000, 0, &out), 0);
    assert_non_null(find(&out, "OnTimeRatioBelowTarget", "A1", "2022"));
    alert_list_clear(&out);

    /* No target, no alert. */
    m.targets[TGT_ON_TIME] = NAN;
    assert_int_equal(alert_rules_eval(&m, NULL, NULL, 0, NULL, 0, &PARAMS, 1000, 0, &out), 0);
    assert_int_equal(count_named(&out, "OnTimeRatioBelowTarget"), 0);
    alert_list_clear(&out);

    /* A model that never computed gives no ratio or overdue alert. */
    model_clear(&m);
    assert_int_equal(alert_rules_eval(&m, NULL, NULL, 0, NULL, 0, &PARAMS, 1000, 0, &out), 0);
    assert_int_equal(out.n, 0);
    alert_list_clear(&out);
}

static void test_rules_drop(void **state)
{
    struct model m;
    struct alert_list out = {0};
    const struct alert *a;
    /* A1 month now 0.912: from 0.932 is exactly 2 points (binary fractions and all);
     * A1 year now 0.96: from 0.979 is 1.9 points; ALL month now 0.9, from 0.95; A2 has no
     * row for the month; a row of another period never matches. */
    const struct alert_prev_ratio prev[] = {
        {"2022-12", "A1", {2022, 12, 13}, 0.932}, {"2022", "A1", {2022, 12, 13}, 0.979},
        {"2022-12", "ALL", {2022, 12, 13}, 0.95}, {"2022-11", "A2", {2022, 12, 13}, 1.0},
        {"2022", "A2", {2022, 12, 13}, NAN},
    };

    build_model(&m);
    m.targets[TGT_ON_TIME] = NAN;
    assert_int_equal(
        alert_rules_eval(&m, NULL, NULL, 0, prev, ARRAY_LEN(prev), &PARAMS, 1000, 0, &out), 0);
    a = find(&out, "OnTimeRatioDropped", "A1", "2022-12");
    assert_non_null(a);
    assert_string_equal(alert_label(a, "severity"), "warning");
    assert_string_equal(ann(a, "description"),
                        "Tỷ lệ giải quyết đúng hạn của " NAME1
                        " kỳ 2022-12 giảm 2,0 điểm phần trăm so với 7 ngày trước (ngày "
                        "2022-12-13): từ 93,2% xuống 91,2%.");
    assert_float_equal(val(a, "previous_ratio"), 0.932, 1e-12);
    assert_float_equal(val(a, "drop_points"), 2.0, 1e-9);
    assert_string_equal(json_string_value(json_object_get(a->values, "previous_day")),
                        "2022-12-13");
    assert_null(find(&out, "OnTimeRatioDropped", "A1", "2022"));
    assert_non_null(find(&out, "OnTimeRatioDropped", "ALL", "2022-12"));
    assert_int_equal(count_named(&out, "OnTimeRatioDropped"), 2);
    alert_list_clear(&out);

    /* A larger threshold. */
    struct alert_rule_params p = PARAMS;
    p.drop_points = 5.5; /* ALL fell by 5 */
    assert_int_equal(alert_rules_eval(&m, NULL, NULL, 0, prev, ARRAY_LEN(prev), &p, 1000, 0, &out),
                     0);
    assert_int_equal(count_named(&out, "OnTimeRatioDropped"), 0);
    alert_list_clear(&out);
    model_clear(&m);
}

/* No row of exactly today - drop_window: the latest one before it (within the slack). */
static void test_rules_drop_latest_row(void **state)
{
    struct model m;
    struct alert_list out = {0};
    const struct alert *a;
    /* Today 2022-12-20, drop_days 7: rows from 2022-12-06 to 2022-12-13 count. */
    const struct alert_prev_ratio prev[] = {
        {"2022-12", "A1", {2022, 12, 14}, 0.999}, /* after the window: ignored */
        {"2022-12", "A1", {2022, 12, 8}, 0.912},  /* older than the next one */
        {"2022-12", "A1", {2022, 12, 11}, 0.95},  /* the latest: 95% -> 91.2% */
        {"2022-12", "ALL", {2022, 12, 5}, 0.99},  /* before the slack: ignored */
        {"2022", "A1", {2022, 12, 12}, NAN},      /* no ratio: the one before */
        {"2022", "A1", {2022, 12, 10}, 0.99},     /* 99% -> 96% */
    };

    build_model(&m);
    m.targets[TGT_ON_TIME] = NAN;
    assert_int_equal(
        alert_rules_eval(&m, NULL, NULL, 0, prev, ARRAY_LEN(prev), &PARAMS, 1000, 0, &out), 0);
    assert_int_equal(count_named(&out, "OnTimeRatioDropped"), 2);
    a = find(&out, "OnTimeRatioDropped", "A1", "2022-12");
    assert_non_null(a);
    assert_string_equal(ann(a, "description"),
                        "Tỷ lệ giải quyết đúng hạn của " NAME1
                        " kỳ 2022-12 giảm 3,8 điểm phần trăm so với 9 ngày trước (ngày "
                        "2022-12-11): từ 95,0% xuống 91,2%.");
    assert_string_equal(json_string_value(json_object_get(a->values, "previous_day")),
                        "2022-12-11");
    a = find(&out, "OnTimeRatioDropped", "A1", "2022");
    assert_non_null(a);
    assert_string_equal(json_string_value(json_object_get(a->values, "previous_day")),
                        "2022-12-10");
    assert_float_equal(val(a, "previous_ratio"), 0.99, 1e-12);
    assert_null(find(&out, "OnTimeRatioDropped", "ALL", "2022-12"));
    alert_list_clear(&out);

    /* No slack: only a row of exactly 2022-12-13 would do. */
    struct alert_rule_params p = PARAMS;
    p.drop_slack_days = 0;
    assert_int_equal(alert_rules_eval(&m, NULL, NULL, 0, prev, ARRAY_LEN(prev), &p, 1000, 0, &out),
                     0);
    assert_int_equal(count_named(&out, "OnTimeRatioDropped"), 0);
    alert_list_clear(&out);
    model_clear(&m);
}

static void test_rules_sources_overdue(void **state)
{
    struct model m;
    struct alert_list out = {0};
    struct source_status src[4];
    const long intervals[4] = {300, 300, 1200, 300};
    const struct alert *a;
    time_t now = 1671500000;

    build_model(&m);
    m.targets[TGT_ON_TIME] = NAN;
    memset(src, 0, sizeof src);
    /* igate: last success 16 min ago (stale after 15 min), 3 failures in a row. */
    snprintf(src[0].name, sizeof src[0].name, "igate");
    src[0].last_attempt = (double)(now - 5);
    src[0].last_success = (double)(now - 960);
    src[0].consecutive_failures = 3;
    snprintf(src[0].last_error, sizeof src[0].last_error, "timeout \xE1\xBB"); /* cut UTF-8 */
    /* vnpost: fresh, 2 failures. */
    snprintf(src[1].name, sizeof src[1].name, "vnpost");
    src[1].last_attempt = (double)(now - 5);
    src[1].last_success = (double)(now - 10);
    src[1].consecutive_failures = 2;
    /* cat: attempted, never succeeded, 1 failure; stale after 1 h. */
    snprintf(src[2].name, sizeof src[2].name, "cat");
    src[2].last_attempt = (double)(now - 5);
    src[2].consecutive_failures = 1;
    /* dead: never attempted since this instance leads. */
    snprintf(src[3].name, sizeof src[3].name, "dead");

    /* Leading for 1000 s. */
    assert_int_equal(
        alert_rules_eval(&m, src, intervals, 4, NULL, 0, &PARAMS, now, now - 1000, &out), 0);
    assert_int_equal(count_named(&out, "SourceStale"), 1);
    assert_int_equal(count_named(&out, "SourceDown"), 1);
    for (size_t i = 0; i < out.n; i++) {
        a = &out.v[i];
        if (a->hold || strncmp(alert_label(a, "alertname"), "Source", 6) != 0)
            continue;
        assert_string_equal(alert_label(a, "source"), "igate");
        assert_string_equal(alert_label(a, "agency"), "ALL");
        assert_string_equal(alert_label(a, "period"), "");
        assert_string_equal(alert_label(a, "severity"),
                            strcmp(alert_label(a, "alertname"), "SourceStale") == 0 ? "critical"
                                                                                    : "warning");
        if (strcmp(alert_label(a, "alertname"), "SourceStale") == 0) {
            assert_non_null(strstr(ann(a, "description"), "trong 16 phút (ngưỡng 15 phút)"));
            assert_int_equal((long)val(a, "stale_after_seconds"), 900);
        } else {
            assert_non_null(strstr(ann(a, "description"), "3 lần đồng bộ liên tiếp"));
            assert_non_null(strstr(ann(a, "description"), "timeout ?")); /* cleaned */
        }
    }
    /* What this instance cannot know yet is held: cat (no success yet, not leading for an
     * hour; 1 failure of which the earlier ones are unknown), dead (never attempted). */
    assert_int_equal(count_held(&out, "SourceStale", "cat"), 1);
    assert_int_equal(count_held(&out, "SourceDown", "cat"), 1);
    assert_int_equal(count_held(&out, "SourceStale", "dead"), 1);
    assert_int_equal(count_held(&out, "SourceDown", "dead"), 1);
    assert_int_equal(count_held(&out, "SourceStale", "igate"), 0);
    assert_int_equal(count_held(&out, "SourceDown", "vnpost"), 0); /* it succeeded lately */
    for (size_t i = 0; i < out.n; i++)
        if (out.v[i].hold)
            assert_string_equal(alert_label(&out.v[i], "severity"),
                                strcmp(alert_label(&out.v[i], "alertname"), "SourceStale") == 0
                                    ? "critical"
                                    : "warning");
    /* OverdueWithoutApology: A1 and A3, never ALL. */
    assert_int_equal(count_named(&out, "OverdueWithoutApology"), 2);
    a = find(&out, "OverdueWithoutApology", "A1", "");
    assert_non_null(a);
    assert_string_equal(alert_label(a, "severity"), "warning");
    assert_string_equal(ann(a, "description"),
                        NAME1 " có 3 hồ sơ đang quá hạn mà chưa có phiếu xin lỗi (PhieuXinLoi).");
    assert_int_equal((long)val(a, "count"), 3);
    assert_null(find(&out, "OverdueWithoutApology", "ALL", ""));
    alert_list_clear(&out);

    /* Leading for an hour: cat goes stale (no success in all that time); an explicit
     * stale_after overrides; 2 failures are enough with down_after 2. */
    struct alert_rule_params p = PARAMS;
    p.stale_after_s = 3600;
    p.down_after = 2;
    assert_int_equal(alert_rules_eval(&m, src, intervals, 4, NULL, 0, &p, now, now - 3600, &out),
                     0);
    assert_int_equal(count_named(&out, "SourceStale"), 1); /* cat only: igate is 16 min old */
    a = NULL;
    for (size_t i = 0; i < out.n; i++)
        if (!out.v[i].hold && strcmp(alert_label(&out.v[i], "alertname"), "SourceStale") == 0)
            a = &out.v[i];
    assert_non_null(a);
    assert_string_equal(alert_label(a, "source"), "cat");
    assert_non_null(strstr(ann(a, "description"), "chưa có lần nào"));
    assert_true(json_is_null(json_object_get(a->values, "last_success")));
    assert_int_equal(count_named(&out, "SourceDown"), 2);
    assert_int_equal(count_held(&out, "SourceDown", "cat"), 1);
    assert_int_equal(count_held(&out, "SourceStale", "dead"), 1);
    alert_list_clear(&out);
    model_clear(&m);
}

/* A restart or a failover: the source status starts empty on the new leader. Its
 * SourceStale/SourceDown neither resolve nor fire before it knows. */
static void test_source_alerts_across_restart(void **state)
{
    struct alert_list st = {0}, cond = {0}, next = {0};
    struct source_status src;
    const long interval = 300;
    time_t t0 = 1671500000, since;

    memset(&src, 0, sizeof src);
    snprintf(src.name, sizeof src.name, "igate");
    /* The old leader: igate failing for an hour. */
    src.last_attempt = (double)(t0 - 10);
    src.consecutive_failures = 12;
    assert_int_equal(
        alert_rules_eval(NULL, &src, &interval, 1, NULL, 0, &PARAMS, t0, t0 - 3600, &cond), 0);
    assert_int_equal(count_named(&cond, "SourceStale"), 1);
    assert_int_equal(count_named(&cond, "SourceDown"), 1);
    assert_int_equal(alert_step(&st, &cond, t0, 0, 86400, 86400, NULL, 0, &next), 0);
    alert_list_clear(&cond);
    alert_list_clear(&st);
    st = next;
    memset(&next, 0, sizeof next);
    assert_int_equal(st.n, 2);
    for (size_t i = 0; i < st.n; i++)
        assert_int_equal(st.v[i].state, ALERT_FIRING);

    /* The new leader, before its first sync: both held, nothing sent, nothing written. */
    memset(&src, 0, sizeof src);
    snprintf(src.name, sizeof src.name, "igate");
    since = t0 + 60;
    assert_int_equal(
        alert_rules_eval(NULL, &src, &interval, 1, NULL, 0, &PARAMS, since, since, &cond), 0);
    assert_int_equal(cond.n, 2);
    assert_int_equal(alert_step(&st, &cond, since, 0, 86400, 86400, NULL, 0, &next), 0);
    assert_int_equal(next.n, 2);
    for (size_t i = 0; i < next.n; i++) {
        assert_int_equal(next.v[i].state, ALERT_FIRING);
        assert_int_equal(next.v[i].firing_since, t0);
        assert_int_equal(next.v[i].notify, ALERT_NOTIFY_NONE);
        assert_false(next.v[i].changed);
        assert_non_null(strstr(ann(&next.v[i], "summary"), "igate")); /* kept, not the hold's */
    }
    alert_list_clear(&next);
    alert_list_clear(&cond);

    /* A hold creates nothing where nothing was stored. */
    struct alert_list none = {0};
    assert_int_equal(
        alert_rules_eval(NULL, &src, &interval, 1, NULL, 0, &PARAMS, since, since, &cond), 0);
    assert_int_equal(alert_step(&none, &cond, since, 0, 86400, 86400, NULL, 0, &next), 0);
    assert_int_equal(next.n, 0);
    alert_list_clear(&cond);

    /* Its first attempt fails (1 failure, no success yet): still held. */
    src.last_attempt = (double)(since + 5);
    src.consecutive_failures = 1;
    assert_int_equal(
        alert_rules_eval(NULL, &src, &interval, 1, NULL, 0, &PARAMS, since + 10, since, &cond), 0);
    assert_int_equal(alert_step(&st, &cond, since + 10, 0, 86400, 86400, NULL, 0, &next), 0);
    for (size_t i = 0; i < next.n; i++)
        assert_int_equal(next.v[i].notify, ALERT_NOTIFY_NONE);
    assert_int_equal(next.n, 2);
    alert_list_clear(&next);
    alert_list_clear(&cond);

    /* Then it succeeds: both resolve, once. */
    src.last_attempt = src.last_success = (double)(since + 300);
    src.consecutive_failures = 0;
    assert_int_equal(
        alert_rules_eval(NULL, &src, &interval, 1, NULL, 0, &PARAMS, since + 301, since, &cond), 0);
    assert_int_equal(cond.n, 0);
    assert_int_equal(alert_step(&st, &cond, since + 301, 0, 86400, 86400, NULL, 0, &next), 0);
    assert_int_equal(next.n, 2);
    for (size_t i = 0; i < next.n; i++) {
        assert_int_equal(next.v[i].state, ALERT_RESOLVED);
        assert_int_equal(next.v[i].notify, ALERT_NOTIFY_RESOLVED);
    }
    alert_list_clear(&next);
    alert_list_clear(&cond);
    alert_list_clear(&st);
}

/* ---- lifecycle ---- */

/* One step from *prev to cond at now; *prev becomes the result. */
static void step(struct alert_list *prev, const struct alert_list *cond, time_t now, long for_s,
                 long repeat_s)
{
    struct alert_list next = {0};
    assert_int_equal(alert_step(prev, cond, now, for_s, repeat_s, 86400, NULL, 0, &next), 0);
    alert_list_clear(prev);
    *prev = next;
}

static void test_lifecycle(void **state)
{
    struct alert_list st = {0}, cond = {0}, none = {0};
    const struct alert *a;

    add_cond(&cond, "X", "A1", "one");

    /* New: pending, nothing sent. */
    step(&st, &cond, 1000, 60, 3600);
    assert_int_equal(st.n, 1);
    a = &st.v[0];
    assert_int_equal(a->state, ALERT_PENDING);
    assert_int_equal(a->active_since, 1000);
    assert_int_equal(a->notify, ALERT_NOTIFY_NONE);
    assert_true(a->changed);
    assert_string_equal(a->fingerprint, cond.v[0].fingerprint);

    /* Still pending before `for`, unchanged. */
    step(&st, &cond, 1059, 60, 3600);
    assert_int_equal(st.v[0].state, ALERT_PENDING);
    assert_int_equal(st.v[0].notify, ALERT_NOTIFY_NONE);
    assert_false(st.v[0].changed);

    /* Fires after `for`: one notification. */
    step(&st, &cond, 1060, 60, 3600);
    a = &st.v[0];
    assert_int_equal(a->state, ALERT_FIRING);
    assert_int_equal(a->firing_since, 1060);
    assert_int_equal(a->active_since, 1000);
    assert_int_equal(a->notify, ALERT_NOTIFY_FIRING);
    assert_int_equal(a->last_notified, 1060);

    /* Firing: silent until repeat_interval, then once again. */
    step(&st, &cond, 2000, 60, 3600);
    assert_int_equal(st.v[0].notify, ALERT_NOTIFY_NONE);
    assert_false(st.v[0].changed);
    step(&st, &cond, 4660, 60, 3600);
    assert_int_equal(st.v[0].notify, ALERT_NOTIFY_FIRING);
    assert_int_equal(st.v[0].last_notified, 4660);
    step(&st, &cond, 4700, 60, 3600);
    assert_int_equal(st.v[0].notify, ALERT_NOTIFY_NONE);

    /* New figures: written back, not notified. */
    alert_list_clear(&cond);
    add_cond(&cond, "X", "A1", "two");
    step(&st, &cond, 4800, 60, 3600);
    assert_int_equal(st.v[0].notify, ALERT_NOTIFY_NONE);
    assert_true(st.v[0].changed);
    assert_string_equal(ann(&st.v[0], "summary"), "two");

    /* Cleared: resolved once. */
    step(&st, &none, 5000, 60, 3600);
    a = &st.v[0];
    assert_int_equal(a->state, ALERT_RESOLVED);
    assert_int_equal(a->resolved_at, 5000);
    assert_int_equal(a->notify, ALERT_NOTIFY_RESOLVED);
    assert_string_equal(ann(a, "summary"), "two"); /* the last known figures */
    step(&st, &none, 5100, 60, 3600);
    assert_int_equal(st.n, 1);
    assert_int_equal(st.v[0].notify, ALERT_NOTIFY_NONE);
    assert_false(st.v[0].changed);

    /* Back again: a new episode, pending from now. */
    step(&st, &cond, 5200, 60, 3600);
    assert_int_equal(st.v[0].state, ALERT_PENDING);
    assert_int_equal(st.v[0].active_since, 5200);
    assert_int_equal(st.v[0].firing_since, 0);
    assert_int_equal(st.v[0].resolved_at, 0);

    /* Pending that clears: forgotten without a word. */
    step(&st, &none, 5210, 60, 3600);
    assert_int_equal(st.n, 0);

    /* for = 0: fires on the first evaluation; repeat 0: never repeats. */
    step(&st, &cond, 6000, 0, 0);
    assert_int_equal(st.v[0].state, ALERT_FIRING);
    assert_int_equal(st.v[0].notify, ALERT_NOTIFY_FIRING);
    step(&st, &cond, 999999, 0, 0);
    assert_int_equal(st.v[0].notify, ALERT_NOTIFY_NONE);

    /* A resolved alert is dropped after the retention. */
    step(&st, &none, 1000000, 0, 0);
    assert_int_equal(st.v[0].state, ALERT_RESOLVED);
    step(&st, &none, 1000000 + 86400, 0, 0);
    assert_int_equal(st.n, 0);

    /* Two alerts move independently; a condition listed twice counts once. */
    add_cond(&cond, "X", "A2", "a2");
    add_cond(&cond, "X", "A2", "a2 again");
    step(&st, &cond, 2000000, 0, 0);
    assert_int_equal(st.n, 2);
    alert_list_clear(&cond);
    add_cond(&cond, "X", "A2", "a2");
    step(&st, &cond, 2000010, 0, 0);
    assert_int_equal(st.n, 2);
    for (size_t i = 0; i < st.n; i++)
        assert_int_equal(st.v[i].notify, strcmp(alert_label(&st.v[i], "agency"), "A1") == 0
                                             ? ALERT_NOTIFY_RESOLVED
                                             : ALERT_NOTIFY_NONE);

    alert_list_clear(&st);
    alert_list_clear(&cond);
    alert_list_clear(NULL);
}

/* At the month's (or year's) end the period label changes: the old period's alerts end
 * without a resolved notice. */
static void test_period_rollover(void **state)
{
    static const char *const periods[] = {"2023", "2023-Q1", "2023-01"};
    struct alert_list st = {0}, next = {0};
    const char *const labels[][2] = {{"2022-12", "A1"}, {"2022", "A1"}, {"2023-01", "A2"}};

    for (size_t i = 0; i < ARRAY_LEN(labels); i++) {
        struct alert *a = alert_list_add(&st,
                                         json_pack("{s:s, s:s, s:s, s:s}", "alertname",
                                                   "OnTimeRatioBelowTarget", "agency", labels[i][1],
                                                   "period", labels[i][0], "severity", "warning"),
                                         json_pack("{s:s}", "summary", "x"), json_object());
        assert_non_null(a);
        a->state = ALERT_FIRING;
        a->active_since = a->firing_since = a->last_notified = 1000;
    }
    add_cond(&st, "OverdueWithoutApology", "A1", "no period");
    st.v[3].state = ALERT_FIRING;
    st.v[3].active_since = st.v[3].firing_since = st.v[3].last_notified = 1000;

    /* No condition holds any more (the new periods have none yet). */
    struct alert_list none = {0};
    assert_int_equal(alert_step(&st, &none, 5000, 0, 86400, 86400, periods, 3, &next), 0);
    assert_int_equal(next.n, 4);
    for (size_t i = 0; i < next.n; i++) {
        const struct alert *a = &next.v[i];
        const char *period = alert_label(a, "period");
        assert_int_equal(a->state, ALERT_RESOLVED);
        assert_int_equal(a->resolved_at, 5000);
        assert_true(a->changed);
        if (strcmp(period, "2022-12") == 0 || strcmp(period, "2022") == 0) {
            /* ended silently: no resolved notice (Alertmanager still learns, see alerts.c) */
            assert_int_equal(a->notify, ALERT_NOTIFY_NONE);
            assert_int_equal(a->last_notified, 1000);
        } else {
            /* a current period, or no period: a real recovery */
            assert_int_equal(a->notify, ALERT_NOTIFY_RESOLVED);
        }
    }
    alert_list_clear(&next);

    /* Without the list of periods, every one is a recovery. */
    assert_int_equal(alert_step(&st, &none, 5000, 0, 86400, 86400, NULL, 0, &next), 0);
    for (size_t i = 0; i < next.n; i++)
        assert_int_equal(next.v[i].notify, ALERT_NOTIFY_RESOLVED);
    alert_list_clear(&next);
    alert_list_clear(&st);
}

/* ---- payloads ---- */

static struct alert *one_alert(struct alert_list *l)
{
    struct alert *a = alert_list_add(
        l,
        json_pack("{s:s, s:s, s:s, s:s}", "alertname", "OnTimeRatioBelowTarget", "agency",
                  "000.00.12.H12", "period", "2022-12", "severity", "warning"),
        json_pack("{s:s, s:s}", "summary", "Tóm tắt", "description", "Mô tả \"trích\""),
        json_pack("{s:f}", "ratio", 0.912));
    assert_non_null(a);
    a->state = ALERT_FIRING;
    a->active_since = 1671500000;
    a->firing_since = 1671500060; /* 2022-12-20T01:34:20Z */
    return a;
}

static void test_webhook_body(void **state)
{
    struct alert_list l = {0};
    struct alert *a = one_alert(&l);
    char *s = ntf_webhook_body(a, "onestopd", "http://127.0.0.1:9787");
    json_error_t e;
    json_t *doc = json_loads(s, 0, &e), *al;

    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "version")), "4");
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "firing");
    assert_string_equal(json_string_value(json_object_get(doc, "receiver")), "onestopd");
    assert_string_equal(json_string_value(json_object_get(doc, "externalURL")),
                        "http://127.0.0.1:9787");
    assert_string_equal(json_string_value(json_object_get(doc, "groupKey")),
                        "{}:{agency=\"000.00.12.H12\", alertname=\"OnTimeRatioBelowTarget\", "
                        "period=\"2022-12\", severity=\"warning\"}");
    assert_true(json_equal(json_object_get(doc, "groupLabels"), a->labels));
    assert_true(json_equal(json_object_get(doc, "commonLabels"), a->labels));
    assert_true(json_equal(json_object_get(doc, "commonAnnotations"), a->annotations));
    assert_int_equal(json_integer_value(json_object_get(doc, "truncatedAlerts")), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "alerts")), 1);
    al = json_array_get(json_object_get(doc, "alerts"), 0);
    assert_string_equal(json_string_value(json_object_get(al, "status")), "firing");
    /* startsAt: when it became pending, as Prometheus has it */
    assert_string_equal(json_string_value(json_object_get(al, "startsAt")), "2022-12-20T01:33:20Z");
    assert_string_equal(json_string_value(json_object_get(al, "endsAt")), "0001-01-01T00:00:00Z");
    assert_string_equal(json_string_value(json_object_get(al, "generatorURL")),
                        "http://127.0.0.1:9787/api/v1/alerts");
    assert_string_equal(json_string_value(json_object_get(al, "fingerprint")), a->fingerprint);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(al, "annotations"), "description")),
        "Mô tả \"trích\"");
    json_decref(doc);
    free(s);

    /* Resolved. */
    a->state = ALERT_RESOLVED;
    a->resolved_at = 1671503600;
    s = ntf_webhook_body(a, "onestopd", "http://x");
    doc = json_loads(s, 0, &e);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "resolved");
    al = json_array_get(json_object_get(doc, "alerts"), 0);
    assert_string_equal(json_string_value(json_object_get(al, "status")), "resolved");
    assert_string_equal(json_string_value(json_object_get(al, "endsAt")), "2022-12-20T02:33:20Z");
    json_decref(doc);
    free(s);
    alert_list_clear(&l);
}

static void test_alertmanager_body(void **state)
{
    struct alert_list l = {0};
    struct alert *a = one_alert(&l);
    struct alert *b = alert_list_add(&l, json_pack("{s:s}", "alertname", "SourceDown"),
                                     json_pack("{}"), json_pack("{}"));
    const struct alert *v[2];
    json_error_t e;
    char *s;
    json_t *doc;

    assert_non_null(b);
    b->state = ALERT_RESOLVED;
    b->active_since = b->firing_since = 1671400000;
    b->resolved_at = 1671500000;
    v[0] = &l.v[0];
    v[1] = b;
    (void)a;
    s = ntf_alertmanager_body(v, 2, 1671500000, 240, "http://h:1");
    doc = json_loads(s, 0, &e);
    assert_non_null(doc);
    assert_true(json_is_array(doc));
    assert_int_equal(json_array_size(doc), 2);
    json_t *f = json_array_get(doc, 0), *r = json_array_get(doc, 1);
    assert_int_equal(json_object_size(f), 5);
    assert_true(json_equal(json_object_get(f, "labels"), l.v[0].labels));
    assert_true(json_is_object(json_object_get(f, "annotations")));
    assert_string_equal(json_string_value(json_object_get(f, "startsAt")), "2022-12-20T01:33:20Z");
    /* now + 240 s */
    assert_string_equal(json_string_value(json_object_get(f, "endsAt")), "2022-12-20T01:37:20Z");
    assert_string_equal(json_string_value(json_object_get(f, "generatorURL")),
                        "http://h:1/api/v1/alerts");
    assert_string_equal(json_string_value(json_object_get(r, "endsAt")), "2022-12-20T01:33:20Z");
    json_decref(doc);
    free(s);

    s = ntf_alertmanager_body(NULL, 0, 0, 0, NULL);
    assert_string_equal(s, "[]");
    free(s);
    alert_list_clear(&l);

    char t[32];
    ntf_rfc3339(0, t);
    assert_string_equal(t, "0001-01-01T00:00:00Z");
    ntf_rfc3339(86400, t);
    assert_string_equal(t, "1970-01-02T00:00:00Z");
}

static void test_api_json(void **state)
{
    struct alert_list l = {0};
    struct alert *a = one_alert(&l);
    json_error_t e;
    char *s;
    json_t *doc;

    add_cond(&l, "X", "A1", "pending one");
    l.v[1].state = ALERT_PENDING;
    l.v[1].active_since = 1671500000;
    add_cond(&l, "X", "A2", "resolved one");
    l.v[2].state = ALERT_RESOLVED;
    s = alert_api_json(&l, 1, 1671500100);
    doc = json_loads(s, 0, &e);
    assert_non_null(doc);
    assert_true(json_is_true(json_object_get(doc, "leader")));
    assert_string_equal(json_string_value(json_object_get(doc, "evaluatedAt")),
                        "2022-12-20T01:35:00Z");
    json_t *arr = json_object_get(doc, "alerts");
    assert_int_equal(json_array_size(arr), 2); /* the resolved one is not listed */
    json_t *x = json_array_get(arr, 0), *y = json_array_get(arr, 1);
    assert_string_equal(json_string_value(json_object_get(x, "state")), "firing");
    assert_string_equal(json_string_value(json_object_get(x, "fingerprint")), a->fingerprint);
    assert_string_equal(json_string_value(json_object_get(x, "activeSince")),
                        "2022-12-20T01:33:20Z");
    assert_float_equal(json_number_value(json_object_get(json_object_get(x, "values"), "ratio")),
                       0.912, 1e-12);
    assert_string_equal(json_string_value(json_object_get(y, "state")), "pending");
    assert_true(json_is_null(json_object_get(y, "firingSince")));
    json_decref(doc);
    free(s);

    s = alert_api_json(NULL, 0, 0);
    assert_string_equal(s, "{\"leader\":false,\"evaluatedAt\":null,\"alerts\":[]}");
    free(s);
    alert_list_clear(&l);
}

/* ---- [alert] configuration ---- */

static char dir[64];

static int load(const char *text, struct config **cfg, char *err, size_t errlen)
{
    char path[128];
    snprintf(path, sizeof path, "%s/c.conf", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return cfg_load(path, NULL, cfg, err, errlen); /* no sources: no adapters needed */
}

static struct config *load_ok(const char *text)
{
    struct config *cfg = NULL;
    char err[1024] = "";
    if (load(text, &cfg, err, sizeof err) != 0)
        fail_msg("unexpected error: %s", err);
    return cfg;
}

static void expect_error(const char *text, const char *what)
{
    struct config *cfg = NULL;
    char err[1024] = "";
    assert_int_equal(load(text, &cfg, err, sizeof err), -1);
    assert_null(cfg);
    if (!strstr(err, what))
        fail_msg("error \"%s\" lacks \"%s\"", err, what);
}

static void test_config(void **state)
{
    struct config *cfg = load_ok("");
    char path[160];

    /* defaults */
    assert_null(cfg->alert_webhook_urls);
    assert_null(cfg->alert_alertmanager_urls);
    assert_null(cfg->alert_bearer_token);
    assert_int_equal(cfg->alert_for_s, 900);
    assert_int_equal(cfg->alert_repeat_interval_s, 86400);
    assert_float_equal(cfg->alert_drop_points, 2.0, 1e-12);
    assert_int_equal(cfg->alert_drop_window_s, 7 * 86400);
    assert_int_equal(cfg->alert_stale_after_s, 0);
    assert_int_equal(cfg->alert_down_after, 3);
    assert_int_equal(cfg->alert_timeout_s, 10);
    assert_int_equal(cfg->alert_max_retries, 3);
    cfg_free(cfg);

    snprintf(path, sizeof path, "%s/alert.token", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("tok-123\n", f);
    fclose(f);
    cfg = load_ok("[alert]\n"
                  "webhook_url = http://127.0.0.1:9095/hook   https://h.example/x?a=1 ; two\n"
                  "bearer_token_file = alert.token\n"
                  "alertmanager_url = http://127.0.0.1:9093\n"
                  "external_url = https://onestop.example/\n"
                  "for = 0s\n"
                  "repeat_interval = 4h\n"
                  "drop_points = 1.5\n"
                  "drop_window = 14d\n"
                  "stale_after = 2h\n"
                  "down_after = 5\n"
                  "timeout = 3s\n"
                  "max_retries = 0\n");
    assert_string_equal(cfg->alert_webhook_urls,
                        "http://127.0.0.1:9095/hook   https://h.example/x?a=1");
    assert_string_equal(cfg->alert_bearer_token, "tok-123");
    assert_string_equal(cfg->alert_alertmanager_urls, "http://127.0.0.1:9093");
    assert_string_equal(cfg->alert_external_url, "https://onestop.example");
    assert_int_equal(cfg->alert_for_s, 0);
    assert_int_equal(cfg->alert_repeat_interval_s, 4 * 3600);
    assert_float_equal(cfg->alert_drop_points, 1.5, 1e-12);
    assert_int_equal(cfg->alert_drop_window_s, 14 * 86400);
    assert_int_equal(cfg->alert_stale_after_s, 7200);
    assert_int_equal(cfg->alert_down_after, 5);
    assert_int_equal(cfg->alert_timeout_s, 3);
    assert_int_equal(cfg->alert_max_retries, 0);

    /* The printed configuration reads back the same, the token masked. */
    char *out = NULL;
    size_t outlen = 0;
    FILE *mf = open_memstream(&out, &outlen);
    assert_non_null(mf);
    cfg_print(cfg, mf);
    fclose(mf);
    assert_null(strstr(out, "tok-123"));
    assert_non_null(strstr(out, "\n[alert]\n"));
    assert_non_null(strstr(out, "for = 0s\n"));
    assert_non_null(strstr(out, "drop_points = 1.5\n"));
    struct config *again = load_ok(out);
    assert_int_equal(again->alert_for_s, 0);
    assert_string_equal(again->alert_bearer_token, "tok-123");
    /* Webhook paths may hold secrets (Slack, Teams): printed masked, so they do not read
     * back as the original (cfgopt.c, format_url). */
    assert_null(strstr(out, "/hook"));
    assert_string_equal(again->alert_webhook_urls,
                        "http://127.0.0.1:9095/... https://h.example/...");
    assert_string_equal(again->alert_alertmanager_urls, cfg->alert_alertmanager_urls);
    cfg_free(again);
    free(out);
    cfg_free(cfg);

    /* Unset optional duration prints as unset and reads back. */
    cfg = load_ok("[alert]\nfor = 0\n");
    assert_int_equal(cfg->alert_for_s, 0);
    mf = open_memstream(&out, &outlen);
    cfg_print(cfg, mf);
    fclose(mf);
    assert_non_null(strstr(out, "; stale_after = (unset)\n"));
    again = load_ok(out);
    assert_int_equal(again->alert_stale_after_s, 0);
    cfg_free(again);
    free(out);
    cfg_free(cfg);

    expect_error("[alert]\nfor = -1s\n", "for: expected a duration");
    expect_error("[alert]\nfor = 0x\n", "for: expected a duration");
    expect_error("[alert]\nrepeat_interval = 0s\n", "repeat_interval: expected a duration");
    expect_error("[alert]\nwebhook_url = ftp://x\n", "webhook_url: expected one or more URLs");
    expect_error("[alert]\nwebhook_url = http://ok http//bad\n", "webhook_url:");
    expect_error("[alert]\ndrop_points = 0\n", "drop_points: expected percentage points");
    expect_error("[alert]\ndrop_points = 100.5\n", "drop_points:");
    expect_error("[alert]\ndrop_points = 1e1\n", "drop_points:");
    expect_error("[alert]\ndrop_window = 36h\n", ":2: drop_window: expected whole days");
    expect_error("[alert]\ndown_after = 0\n", "down_after: expected an integer from 1");
    expect_error("[alert]\nnope = 1\n", "unknown key \"nope\" in section [alert]");
    expect_error("[alerts]\n", "alert or source.NAME");
}

/* ---- /metrics and the snapshot ---- */

static void test_metrics_and_snapshot(void **state)
{
    struct model m;
    struct buf b;
    struct snapshot *snap = snapshot_new();
    char *json;
    size_t len;

    build_model(&m);
    m.alerts = calloc(2, sizeof *m.alerts);
    assert_non_null(m.alerts);
    m.nalerts = 2;
    m.alerts[0] = (struct model_alert){xdup("OnTimeRatioBelowTarget"), xdup("A1"), xdup("2022-12"),
                                       xdup(""), xdup("warning")};
    m.alerts[1] = (struct model_alert){xdup("SourceDown"), xdup("ALL"), xdup(""), xdup("igate"),
                                       xdup("warning")};
    m.alert_notifications[ALERT_RCV_WEBHOOK][ALERT_RES_RETRY] = 7;
    buf_init(&b);
    assert_int_equal(met_render(&m, NULL, 0, &b), 0);
    assert_non_null(strstr(b.data, "# TYPE onestop_alert_active gauge\n"));
    assert_non_null(strstr(b.data, "onestop_alert_active{alertname=\"OnTimeRatioBelowTarget\","
                                   "agency=\"A1\",period=\"2022-12\",source=\"\","
                                   "severity=\"warning\"} 1\n"));
    assert_non_null(strstr(b.data, "onestop_alert_active{alertname=\"SourceDown\",agency=\"ALL\","
                                   "period=\"\",source=\"igate\",severity=\"warning\"} 1\n"));
    assert_non_null(strstr(b.data, "# TYPE onestop_alert_notifications_total counter\n"));
    assert_non_null(strstr(b.data, "onestop_alert_notifications_total{receiver=\"webhook\","
                                   "result=\"retry\"} 7\n"));
    assert_non_null(strstr(b.data, "onestop_alert_notifications_total{receiver=\"alertmanager\","
                                   "result=\"success\"} 0\n"));
    buf_free(&b);
    model_clear(&m); /* frees the alerts too (checked by ASan) */

    /* A zeroed model: the families, no alert. */
    buf_init(&b);
    assert_int_equal(met_render(&m, NULL, 0, &b), 0);
    assert_non_null(strstr(b.data, "# TYPE onestop_alert_active gauge\n# HELP"));
    buf_free(&b);

    assert_non_null(snap);
    assert_int_equal(snapshot_get_alerts(snap, &json, &len), 0);
    assert_null(json);
    snapshot_set_alerts(snap, xdup("{\"alerts\":[]}"), 13);
    assert_int_equal(snapshot_get_alerts(snap, &json, &len), 1);
    assert_int_equal(len, 13);
    assert_string_equal(json, "{\"alerts\":[]}");
    free(json);
    snapshot_set_alerts(snap, xdup("[1]"), 3); /* replaces, frees the old one */
    snapshot_free(snap);
    snapshot_set_alerts(NULL, xdup("x"), 1); /* consumed */
}

/* ---- delivery: pure parts ---- */

static void test_plan_retry(void **state)
{
    struct ntf_retry_plan p;

    /* max_retries 2: rounds of 3 attempts, 1 s then 2 s apart, then put off 30 s, 60 s... */
    ntf_plan_retry(0, 2, 1, 10, &p);
    assert_int_equal(p.attempts, 1);
    assert_int_equal(p.delay_ms, 1000);
    assert_int_equal(p.result, ALERT_RES_RETRY);
    assert_false(p.abandon);
    ntf_plan_retry(1, 2, 1, 10, &p);
    assert_int_equal(p.attempts, 2);
    assert_int_equal(p.delay_ms, 2000);
    assert_int_equal(p.result, ALERT_RES_RETRY);
    ntf_plan_retry(2, 2, 1, 10, &p);
    assert_int_equal(p.attempts, 3);
    assert_int_equal(p.delay_ms, 30000);
    assert_int_equal(p.result, ALERT_RES_FAILURE);
    ntf_plan_retry(3, 2, 1, 10, &p); /* the next round starts quick again */
    assert_int_equal(p.attempts, 4);
    assert_int_equal(p.delay_ms, 1000);
    assert_int_equal(p.result, ALERT_RES_RETRY);
    ntf_plan_retry(5, 2, 1, 10, &p);
    assert_int_equal(p.attempts, 6);
    assert_int_equal(p.delay_ms, 60000);
    assert_int_equal(p.result, ALERT_RES_FAILURE);
    ntf_plan_retry(299, 2, 1, 10, &p); /* at most an hour */
    assert_int_equal(p.delay_ms, 3600000);
    /* A 4xx ends the round at once; the count moves to the round's end. */
    ntf_plan_retry(0, 2, 0, 10, &p);
    assert_int_equal(p.attempts, 3);
    assert_int_equal(p.delay_ms, 30000);
    assert_int_equal(p.result, ALERT_RES_FAILURE);
    ntf_plan_retry(4, 2, 0, 10, &p);
    assert_int_equal(p.attempts, 6);
    assert_int_equal(p.delay_ms, 60000);
    /* No quick retries at all. */
    ntf_plan_retry(0, 0, 1, 10, &p);
    assert_int_equal(p.attempts, 1);
    assert_int_equal(p.delay_ms, 30000);
    assert_int_equal(p.result, ALERT_RES_FAILURE);
    /* Older than the limit: abandoned (counted as a failure). */
    ntf_plan_retry(7, 2, 1, NTF_ABANDON_AGE_S - 1, &p);
    assert_false(p.abandon);
    ntf_plan_retry(7, 2, 1, NTF_ABANDON_AGE_S, &p);
    assert_true(p.abandon);
    assert_int_equal(p.result, ALERT_RES_FAILURE);
    assert_int_equal(p.attempts, 8);
}

/* ---- the delivery threads ---- */

#define NREQ 16

static struct {
    pthread_mutex_t mu;
    int statuses[NREQ]; /* answer of request i; 0 after the script: 200 */
    int nreq;
    char paths[NREQ][64];
    char auth[NREQ][128];
    struct buf bodies[NREQ];
} hs = {.mu = PTHREAD_MUTEX_INITIALIZER};

static enum MHD_Result on_req(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    int idx;

    if (*con_cls == NULL) {
        pthread_mutex_lock(&hs.mu);
        idx = hs.nreq++;
        if (idx < NREQ) {
            const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
            snprintf(hs.paths[idx], sizeof hs.paths[idx], "%s", url);
            snprintf(hs.auth[idx], sizeof hs.auth[idx], "%s", a ? a : "");
        }
        pthread_mutex_unlock(&hs.mu);
        *con_cls = (void *)(intptr_t)(idx + 1);
        return MHD_YES;
    }
    idx = (int)(intptr_t)*con_cls - 1;
    if (*upload_size) {
        pthread_mutex_lock(&hs.mu);
        if (idx < NREQ)
            buf_append(&hs.bodies[idx], upload, *upload_size);
        pthread_mutex_unlock(&hs.mu);
        *upload_size = 0;
        return MHD_YES;
    }
    int status = idx < NREQ && hs.statuses[idx] ? hs.statuses[idx] : 200;
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static int requests(void)
{
    pthread_mutex_lock(&hs.mu);
    int n = hs.nreq;
    pthread_mutex_unlock(&hs.mu);
    return n;
}

static void wait_counts(struct ntf *n, int rcv, int res, unsigned long long want)
{
    unsigned long long c[ALERT_RCV_COUNT][ALERT_RES_COUNT];
    for (int i = 0; i < 500; i++) {
        ntf_counts(n, c);
        if (c[rcv][res] >= want)
            return;
        usleep(20000);
    }
    fail_msg("counter [%d][%d] = %llu, want %llu", rcv, res, c[rcv][res], want);
}

/* endsAt of the first alert of the Alertmanager body of request i. */
static void ends_at(int i, char out[32])
{
    pthread_mutex_lock(&hs.mu);
    json_t *doc = json_loads(hs.bodies[i].data ? hs.bodies[i].data : "", 0, NULL);
    pthread_mutex_unlock(&hs.mu);
    assert_non_null(doc);
    snprintf(out, 32, "%s", json_string_value(json_object_get(json_array_get(doc, 0), "endsAt")));
    json_decref(doc);
}

static void test_delivery(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    char base[64], am[80], hook[128], e1[32], e2[32];
    unsigned long long c[ALERT_RCV_COUNT][ALERT_RES_COUNT];
    struct alert_list l = {0};
    struct alert *a = one_alert(&l);
    const struct alert *v[1] = {a};

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                         NULL, on_req, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_END);
    assert_non_null(d);
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", info->port);
    snprintf(am, sizeof am, "%s/", base); /* a trailing slash is the same Alertmanager */
    snprintf(hook, sizeof hook, "%s/hook?x=1", base);
    hs.statuses[0] = 500; /* the first attempt fails, the quick retry succeeds */
    hs.statuses[4] = 404; /* a 4xx is not retried: the next re-post is */

    struct ntf *n = ntf_new();
    assert_non_null(n);
    /* No database there: a webhook row can never be claimed, so it is never sent. */
    struct ntf_options o = {.timeout_s = 5,
                            .max_retries = 2,
                            .bearer_token = "sekrit",
                            .conninfo = "host=127.0.0.1 port=1",
                            .password = NULL,
                            .webhook_urls = hook,
                            .alertmanager_urls = am,
                            .external_url = "http://h:1",
                            .am_resend_s = 1};
    assert_int_equal(ntf_configure(n, &o), 0);
    /* Not the leader: nothing is posted. */
    assert_int_equal(ntf_set_alertmanager_alerts(n, v, 1), 0);
    usleep(300000);
    assert_int_equal(requests(), 0);

    ntf_set_leader(n, 1);
    assert_int_equal(ntf_set_alertmanager_alerts(n, v, 1), 0);
    ntf_kick(n);
    wait_counts(n, ALERT_RCV_ALERTMANAGER, ALERT_RES_SUCCESS, 1);
    ntf_counts(n, c);
    assert_int_equal(c[ALERT_RCV_ALERTMANAGER][ALERT_RES_RETRY], 1);
    assert_int_equal(c[ALERT_RCV_ALERTMANAGER][ALERT_RES_FAILURE], 0);
    pthread_mutex_lock(&hs.mu);
    assert_string_equal(hs.paths[1], "/api/v2/alerts");
    assert_string_equal(hs.auth[1], ""); /* the token is for webhooks */
    json_t *doc = json_loads(hs.bodies[1].data, 0, NULL);
    pthread_mutex_unlock(&hs.mu);
    assert_non_null(doc);
    assert_int_equal(json_array_size(doc), 1);
    assert_true(json_equal(json_object_get(json_array_get(doc, 0), "labels"), a->labels));
    assert_string_equal(json_string_value(json_object_get(json_array_get(doc, 0), "generatorURL")),
                        "http://h:1/api/v1/alerts");
    json_decref(doc);

    /* The thread re-posts on its own timer, endsAt moving on each time; the 404 counts as
     * a failure and is not retried before the next re-post. */
    wait_counts(n, ALERT_RCV_ALERTMANAGER, ALERT_RES_SUCCESS, 4);
    wait_counts(n, ALERT_RCV_ALERTMANAGER, ALERT_RES_FAILURE, 1);
    ntf_counts(n, c);
    assert_int_equal(c[ALERT_RCV_ALERTMANAGER][ALERT_RES_RETRY], 1);
    ends_at(1, e1);
    ends_at(3, e2);
    assert_true(strcmp(e1, e2) < 0);

    /* The webhook was never posted: no claim without the database. */
    pthread_mutex_lock(&hs.mu);
    for (int i = 0; i < hs.nreq && i < NREQ; i++)
        assert_string_equal(hs.paths[i], "/api/v2/alerts");
    pthread_mutex_unlock(&hs.mu);
    ntf_counts(n, c);
    assert_int_equal(c[ALERT_RCV_WEBHOOK][ALERT_RES_SUCCESS] +
                         c[ALERT_RCV_WEBHOOK][ALERT_RES_RETRY] +
                         c[ALERT_RCV_WEBHOOK][ALERT_RES_FAILURE],
                     0);

    /* Leadership lost: the set is dropped, posts stop. */
    ntf_set_leader(n, 0);
    usleep(200000);
    int before = requests();
    usleep(1500000);
    assert_int_equal(requests(), before);
    /* Leader again: nothing to post until a set comes. */
    ntf_set_leader(n, 1);
    usleep(1200000);
    assert_int_equal(requests(), before);

    ntf_free(n);
    ntf_free(NULL);
    MHD_stop_daemon(d);
    for (int i = 0; i < NREQ; i++)
        buf_free(&hs.bodies[i]);
    alert_list_clear(&l);
}

/* A receiver that accepts the connection but never answers: ntf_free aborts the request
 * in flight at once instead of waiting for its timeout. */
static void test_shutdown_hanging(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t salen = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char am[64];
    struct alert_list l = {0};
    const struct alert *v[1] = {one_alert(&l)};

    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 8), 0); /* never accepted: the kernel completes connects */
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
    snprintf(am, sizeof am, "http://127.0.0.1:%u", ntohs(sa.sin_port));

    struct ntf *n = ntf_new();
    assert_non_null(n);
    struct ntf_options o = {.timeout_s = 600, /* clamped to NTF_TIMEOUT_MAX_S */
                            .max_retries = 3,
                            .conninfo = "host=127.0.0.1 port=1",
                            .alertmanager_urls = am,
                            .external_url = "http://h:1"};
    assert_int_equal(ntf_configure(n, &o), 0);
    ntf_set_leader(n, 1);
    assert_int_equal(ntf_set_alertmanager_alerts(n, v, 1), 0);
    usleep(500000); /* the POST is in flight */
    int64_t t0 = util_now_ms();
    ntf_free(n);
    int64_t took = util_now_ms() - t0;
    if (took > 2500)
        fail_msg("ntf_free took %lld ms", (long long)took);
    close(fd);
    alert_list_clear(&l);
}

/* onestopd --once: alert_run moves nothing and shows nothing. */
static void test_oneshot(void **state)
{
    struct alerts *a = alert_new(1);
    struct config *cfg = load_ok("[alert]\nwebhook_url = http://127.0.0.1:1/x\n");
    struct snapshot *snap = snapshot_new();
    struct model m;
    char *json;
    size_t len;

    assert_non_null(a);
    assert_non_null(snap);
    build_model(&m);
    alert_run(a, NULL, 1, cfg, &m, NULL, 0, snap);
    assert_null(m.alerts);
    assert_int_equal(m.nalerts, 0);
    assert_int_equal(snapshot_get_alerts(snap, &json, &len), 0);
    model_clear(&m);
    snapshot_free(snap);
    cfg_free(cfg);
    alert_free(a);
    alert_free(NULL);
}

static int setup_dir(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/onestop-alerts-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown_dir(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    int rc;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_rules_ratio),
        cmocka_unit_test(test_rules_drop),
        cmocka_unit_test(test_rules_drop_latest_row),
        cmocka_unit_test(test_rules_sources_overdue),
        cmocka_unit_test(test_source_alerts_across_restart),
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_period_rollover),
        cmocka_unit_test(test_webhook_body),
        cmocka_unit_test(test_alertmanager_body),
        cmocka_unit_test(test_api_json),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_metrics_and_snapshot),
        cmocka_unit_test(test_plan_retry),
        cmocka_unit_test(test_delivery),
        cmocka_unit_test(test_shutdown_hanging),
        cmocka_unit_test(test_oneshot),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, setup_dir, teardown_dir);
    curl_global_cleanup();
    return rc;
}
