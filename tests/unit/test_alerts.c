/* alert + ntf: the rules and the lifecycle as pure functions, the Vietnamese formats, the
 * payload builders, the [alert] configuration, the /metrics families and the delivery
 * thread against a local HTTP server. */
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

#include "alerts.h"
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
    .drop_points = 2, .drop_days = 7, .stale_after_s = 0, .down_after = 3};

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

static size_t count_named(const struct alert_list *l, const char *alertname)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += strcmp(alert_label(&l->v[i], "alertname"), alertname) == 0;
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

/* ---- formats ---- */

static void test_formats(void **state)
{
    char s[64];

    alert_format_percent(0.912, s, sizeof s);
    assert_string_equal(s, "91,2%");
    alert_format_percent(0.95, s, sizeof s);
    assert_string_equal(s, "95,0%");
    alert_format_percent(1.0, s, sizeof s);
    assert_string_equal(s, "100,0%");
    alert_format_percent(0.0, s, sizeof s);
    assert_string_equal(s, "0,0%");
    alert_format_percent(0.12345, s, sizeof s);
    assert_string_equal(s, "12,3%");
    alert_format_decimal(2.5, 1, s, sizeof s);
    assert_string_equal(s, "2,5");
    alert_format_decimal(-0.04, 1, s, sizeof s);
    assert_string_equal(s, "0,0"); /* no "-0,0" */
    alert_format_decimal(-1.25, 2, s, sizeof s);
    assert_string_equal(s, "-1,25");
    alert_format_decimal(3, 0, s, sizeof s);
    assert_string_equal(s, "3");
    alert_format_percent(0.5, s, 3); /* truncated, still terminated */
    assert_true(strlen(s) <= 2);

    alert_format_duration(900, s, sizeof s);
    assert_string_equal(s, "15 phút");
    alert_format_duration(7 * 86400, s, sizeof s);
    assert_string_equal(s, "7 ngày");
    alert_format_duration(86400 + 2 * 3600 + 3 * 60 + 4, s, sizeof s);
    assert_string_equal(s, "1 ngày 2 giờ");
    alert_format_duration(3660, s, sizeof s);
    assert_string_equal(s, "1 giờ 1 phút");
    alert_format_duration(45, s, sizeof s);
    assert_string_equal(s, "45 giây");
    alert_format_duration(0, s, sizeof s);
    assert_string_equal(s, "0 giây");
}

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
        {"2022-12", "A1", 0.932}, {"2022", "A1", 0.979}, {"2022-12", "ALL", 0.95},
        {"2022-11", "A2", 1.0},   {"2022", "A2", NAN},
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

static void test_rules_sources_overdue(void **state)
{
    struct model m;
    struct alert_list out = {0};
    struct source_status src[3];
    const long intervals[3] = {300, 300, 60};
    const struct alert *a;
    time_t now = 1671500000;

    build_model(&m);
    m.targets[TGT_ON_TIME] = NAN;
    memset(src, 0, sizeof src);
    /* igate: last success 16 min ago (stale after 15 min), 3 failures in a row. */
    snprintf(src[0].name, sizeof src[0].name, "igate");
    src[0].last_success = (double)(now - 960);
    src[0].consecutive_failures = 3;
    snprintf(src[0].last_error, sizeof src[0].last_error, "timeout \xE1\xBB"); /* cut UTF-8 */
    /* vnpost: fresh, 2 failures. */
    snprintf(src[1].name, sizeof src[1].name, "vnpost");
    src[1].last_success = (double)(now - 10);
    src[1].consecutive_failures = 2;
    /* cat: never synced; counts from `since` (170 s ago < 180 s). */
    snprintf(src[2].name, sizeof src[2].name, "cat");

    assert_int_equal(
        alert_rules_eval(&m, src, intervals, 3, NULL, 0, &PARAMS, now, now - 170, &out), 0);
    assert_int_equal(count_named(&out, "SourceStale"), 1);
    assert_int_equal(count_named(&out, "SourceDown"), 1);
    for (size_t i = 0; i < out.n; i++) {
        a = &out.v[i];
        if (strncmp(alert_label(a, "alertname"), "Source", 6) != 0)
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

    /* cat goes stale once `since` is 180 s old; an explicit stale_after overrides; 2
     * failures are enough with down_after 2. */
    struct alert_rule_params p = PARAMS;
    p.stale_after_s = 3600;
    p.down_after = 2;
    assert_int_equal(alert_rules_eval(&m, src, intervals, 3, NULL, 0, &p, now, now - 3600, &out),
                     0);
    assert_int_equal(count_named(&out, "SourceStale"), 1); /* cat only: igate is 16 min old */
    assert_int_equal(count_named(&out, "SourceDown"), 2);
    alert_list_clear(&out);
    model_clear(&m);
}

/* ---- lifecycle ---- */

/* One step from *prev to cond at now; *prev becomes the result. */
static void step(struct alert_list *prev, const struct alert_list *cond, time_t now, long for_s,
                 long repeat_s)
{
    struct alert_list next = {0};
    assert_int_equal(alert_step(prev, cond, now, for_s, repeat_s, 86400, &next), 0);
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
    assert_string_equal(json_string_value(json_object_get(al, "startsAt")), "2022-12-20T01:34:20Z");
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
    assert_string_equal(json_string_value(json_object_get(f, "startsAt")), "2022-12-20T01:34:20Z");
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
    return cfg_load(path, cfg, err, errlen);
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
    assert_string_equal(again->alert_webhook_urls, cfg->alert_webhook_urls);
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

/* ---- the delivery thread ---- */

static struct {
    pthread_mutex_t mu;
    int statuses[8]; /* answer of request i; 0 after the script: 200 */
    int nreq;
    char paths[8][64];
    char auth[8][128];
    struct buf bodies[8];
} hs = {.mu = PTHREAD_MUTEX_INITIALIZER};

static enum MHD_Result on_req(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    int idx;

    if (*con_cls == NULL) {
        pthread_mutex_lock(&hs.mu);
        idx = hs.nreq++;
        if (idx < 8) {
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
        if (idx < 8)
            buf_append(&hs.bodies[idx], upload, *upload_size);
        pthread_mutex_unlock(&hs.mu);
        *upload_size = 0;
        return MHD_YES;
    }
    int status = idx < 8 && hs.statuses[idx] ? hs.statuses[idx] : 200;
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
    for (int i = 0; i < 300; i++) {
        ntf_counts(n, c);
        if (c[rcv][res] >= want)
            return;
        usleep(20000);
    }
    fail_msg("counter [%d][%d] = %llu, want %llu", rcv, res, c[rcv][res], want);
}

static void test_delivery(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    char base[64];
    unsigned long long c[ALERT_RCV_COUNT][ALERT_RES_COUNT];

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                         NULL, on_req, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_END);
    assert_non_null(d);
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", info->port);
    hs.statuses[0] = 500; /* the first attempt fails, the retry succeeds */

    struct ntf *n = ntf_new();
    assert_non_null(n);
    /* No database there: outcomes cannot be recorded, so a webhook row stays busy. */
    struct ntf_options o = {.timeout_s = 5,
                            .max_retries = 2,
                            .bearer_token = "sekrit",
                            .conninfo = "host=127.0.0.1 port=1 connect_timeout=1",
                            .password = NULL};
    assert_int_equal(ntf_configure(n, &o), 0);
    char am[80];
    snprintf(am, sizeof am, "%s/", base); /* a trailing slash is the same Alertmanager */
    assert_int_equal(ntf_enqueue_alertmanager(n, am, "[]"), 0);
    wait_counts(n, ALERT_RCV_ALERTMANAGER, ALERT_RES_SUCCESS, 1);
    ntf_counts(n, c);
    assert_int_equal(c[ALERT_RCV_ALERTMANAGER][ALERT_RES_RETRY], 1);
    assert_int_equal(c[ALERT_RCV_ALERTMANAGER][ALERT_RES_FAILURE], 0);
    assert_int_equal(requests(), 2);
    pthread_mutex_lock(&hs.mu);
    assert_string_equal(hs.paths[1], "/api/v2/alerts");
    assert_string_equal(hs.auth[1], ""); /* the token is for webhooks */
    assert_string_equal(hs.bodies[1].data, "[]");
    pthread_mutex_unlock(&hs.mu);

    /* A webhook: its path as given, the bearer token, the body. */
    char url[128];
    snprintf(url, sizeof url, "%s/hook?x=1", base);
    assert_int_equal(ntf_enqueue_webhook(n, 42, url, "{\"a\":1}"), 0);
    /* The same row again while it is busy: skipped. */
    assert_int_equal(ntf_enqueue_webhook(n, 42, url, "{\"a\":1}"), 1);
    wait_counts(n, ALERT_RCV_WEBHOOK, ALERT_RES_SUCCESS, 1);
    pthread_mutex_lock(&hs.mu);
    assert_string_equal(hs.paths[2], "/hook");
    assert_string_equal(hs.auth[2], "Bearer sekrit");
    assert_string_equal(hs.bodies[2].data, "{\"a\":1}");
    pthread_mutex_unlock(&hs.mu);
    ntf_cycle_begin(n);
    /* Delivered but not recorded (no database): still busy, never sent twice. */
    assert_int_equal(ntf_enqueue_webhook(n, 42, url, "{\"a\":1}"), 1);

    /* A 4xx is not retried now. */
    hs.statuses[3] = 404;
    assert_int_equal(ntf_enqueue_alertmanager(n, base, "[1]"), 0);
    wait_counts(n, ALERT_RCV_ALERTMANAGER, ALERT_RES_FAILURE, 1);
    ntf_counts(n, c);
    assert_int_equal(c[ALERT_RCV_ALERTMANAGER][ALERT_RES_RETRY], 1);

    /* The queue is bounded. */
    int full = 0;
    for (int i = 0; i < NTF_QUEUE_MAX + 8; i++)
        full |= ntf_enqueue_alertmanager(n, "http://127.0.0.1:1", "[]") != 0;
    assert_true(full);
    ntf_free(n); /* drops the queue, joins the thread */
    ntf_free(NULL);
    MHD_stop_daemon(d);
    for (int i = 0; i < 8; i++)
        buf_free(&hs.bodies[i]);
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
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_rules_ratio),
        cmocka_unit_test(test_rules_drop),
        cmocka_unit_test(test_rules_sources_overdue),
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_webhook_body),
        cmocka_unit_test(test_alertmanager_body),
        cmocka_unit_test(test_api_json),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_metrics_and_snapshot),
        cmocka_unit_test(test_delivery),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, setup_dir, teardown_dir);
    curl_global_cleanup();
    return rc;
}
