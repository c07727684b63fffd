/* SPDX-License-Identifier: Apache-2.0 */
/* page: number and date formats, escaping, and the status and overdue pages rendered from
 * hand-built data (the integration test checks them against /metrics in a real browser). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overdue_page.h"
#include "page.h"
#include "rates.h"

/* Quote, ampersand, angle brackets: every HTML escape at once. */
#define A1_NAME "Sở \"Khoa học\" & <Công nghệ>"

static char *xdup(const char *s)
{
    char *p = strdup(s);
    assert_non_null(p);
    return p;
}

static void fmt_pct(double v, const char *want)
{
    char s[24];
    page_format_percent(v, s, sizeof s);
    assert_string_equal(s, want);
}

static void test_percent(void **state)
{
    (void)state;
    fmt_pct(0.878, "87,8%");
    fmt_pct(0.8785, "87,9%"); /* /metrics prints 0.8785: half up, though the double is below */
    fmt_pct(0.87849, "87,8%");
    fmt_pct(0.0625, "6,3%"); /* an exact binary tie still rounds up, as the text reads */
    fmt_pct(1.0, "100,0%");
    fmt_pct(0.0, "0,0%");
    fmt_pct(1e-05, "0,0%");
    fmt_pct(0.00095, "0,1%");
    fmt_pct(0.9995, "100,0%");
    fmt_pct(2.0 / 3.0, "66,7%");
    fmt_pct(NAN, "—");
}

static void fmt_count(long v, const char *want)
{
    char s[32];
    page_format_count(v, s, sizeof s);
    assert_string_equal(s, want);
}

static void test_count_date_period(void **state)
{
    char s[64];
    struct ldate d = {2022, 3, 5};

    (void)state;
    fmt_count(0, "0");
    fmt_count(999, "999");
    fmt_count(1000, "1.000");
    fmt_count(12345, "12.345");
    fmt_count(1234567, "1.234.567");
    fmt_count(-1234, "-1.234");
    page_format_date(&d, s, sizeof s);
    assert_string_equal(s, "05/03/2022");
    page_period_name("2022", s, sizeof s);
    assert_string_equal(s, "Năm 2022");
    page_period_name("2022-Q4", s, sizeof s);
    assert_string_equal(s, "Quý IV/2022");
    page_period_name("2022-12", s, sizeof s);
    assert_string_equal(s, "Tháng 12/2022");
    page_period_name("report:2023-01", s, sizeof s);
    assert_string_equal(s, "Tháng 1/2023 (kỳ báo cáo)");
    page_period_name("odd", s, sizeof s);
    assert_string_equal(s, "odd");
}

static void escaped(const char *in, const char *want, int url)
{
    struct buf b;
    buf_init(&b);
    if (url)
        page_url_encode(&b, in);
    else
        page_escape(&b, in);
    assert_string_equal(b.data ? b.data : "", want);
    buf_free(&b);
}

static void test_escape(void **state)
{
    (void)state;
    escaped("<a href=\"x\">&'</a>", "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;", 0);
    escaped("Sở\xff\x01 ok\n", "Sở\xEF\xBF\xBD ok\n", 0); /* bad byte U+FFFD, control gone */
    escaped("\xE0\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 0); /* overlong */
    escaped("000.00.12.H12", "000.00.12.H12", 1);
    escaped("a b&c=Đ", "a%20b%26c%3D%C4%90", 1);
}

static void set_counts(struct b06_row *r, long carried, long on, long di, long po, long early,
                       long ontime, long late, long within, long overdue)
{
    r->c = (struct b06_counts){.carried_over = carried,
                               .received_online = on,
                               .received_direct = di,
                               .received_postal = po,
                               .resolved_early = early,
                               .resolved_on_time = ontime,
                               .resolved_late = late,
                               .pending_within = within,
                               .pending_overdue = overdue,
                               .resolved_returned = early + ontime + late};
    rates_ratios(&r->c, &r->r);
}

/* A1: on time 0.8 (8/10); A3: 0.9 (9/10) with 1.000+ counts; A2 catalogue only (NaN). */
static void build_model(struct model *m)
{
    static const char *const labels[PK_COUNT] = {"2022", "2022-Q4", "2022-12"};

    memset(m, 0, sizeof *m);
    m->computed_at = 1671500000; /* 2022-12-20 08:33:20 +07:00 */
    m->today = (struct ldate){2022, 12, 20};
    m->leader = 1;
    period_current(PERIOD_CALENDAR, &m->today, m->periods);
    for (int k = 0; k < PK_COUNT; k++) {
        struct b06_table *t = &m->tables[k];
        assert_string_equal(m->periods[k].label, labels[k]);
        t->rows = calloc(3, sizeof *t->rows);
        assert_non_null(t->rows);
        t->nrows = 3;
        t->rows[0].agency = xdup("A1");
        t->rows[0].name = xdup(A1_NAME);
        t->rows[1].agency = xdup("A2");
        t->rows[2].agency = xdup("A3");
        t->rows[2].name = xdup("Sở Tư pháp");
        t->total.agency = xdup("ALL");
        set_counts(&t->rows[0], 2, 3, 4, 1, 4, 2, 1, 2, 1);
        rates_ratios(&t->rows[1].c, &t->rows[1].r);
        set_counts(&t->rows[2], 100, 900, 300, 0, 1000, 800, 200, 0, 0);
        t->rows[2].c.pending_within = 250;
        t->rows[2].c.resolved_late = 300 - 250 + 200; /* on time (1800+250)/(2300+250) */
        rates_ratios(&t->rows[2].c, &t->rows[2].r);
        struct b06_counts tc = {0};
        for (int i = 0; i < 3; i++) {
            const struct b06_counts *c = &t->rows[i].c;
            tc.carried_over += c->carried_over;
            tc.received_online += c->received_online;
            tc.received_direct += c->received_direct;
            tc.received_postal += c->received_postal;
            tc.resolved_early += c->resolved_early;
            tc.resolved_on_time += c->resolved_on_time;
            tc.resolved_late += c->resolved_late;
            tc.pending_within += c->pending_within;
            tc.pending_overdue += c->pending_overdue;
        }
        t->total.c = tc;
        rates_ratios(&t->total.c, &t->total.r);
    }
    m->procs = calloc(1, sizeof *m->procs);
    assert_non_null(m->procs);
    m->nprocs = 1;
    m->procs[0] = (struct proc_counts){
        .agency = xdup("A2"), .total = 4, .online = 3, .full_online = 1, .postal = 2};
    m->proc_all = m->procs[0];
    m->proc_all.agency = xdup("ALL");
    m->targets[TGT_ONLINE_DOSSIER] = 0.25;
    m->targets[TGT_ONLINE_PROCEDURE] = 0.75; /* ALL has 0.75: met */
    m->targets[TGT_POSTAL_PROCEDURE] = 0.6;  /* ALL has 0.5: not met */
    m->targets[TGT_ON_TIME] = NAN;           /* unknown: no verdict */
}

static const char *must_find(const char *hay, const char *needle)
{
    const char *p = strstr(hay, needle);
    if (!p)
        fail_msg("not found: %s", needle);
    return p;
}

static void test_status_page(void **state)
{
    struct model m;
    struct source_status src[2];
    struct trend tr = {0};
    struct buf b;
    char pct[24];

    (void)state;
    build_model(&m);
    memset(src, 0, sizeof src);
    snprintf(src[0].name, sizeof src[0].name, "igate");
    snprintf(src[0].adapter, sizeof src[0].adapter, "igate");
    src[0].up = 1;
    src[0].last_success = 1671500000 - 60; /* 08:32 local */
    src[0].last_attempt = src[0].last_success;
    snprintf(src[1].name, sizeof src[1].name, "bcci");
    snprintf(src[1].adapter, sizeof src[1].adapter, "vnpost");
    src[1].last_attempt = 1671500000;
    src[1].consecutive_failures = 3;
    const struct trend_point pts[] = {{"ALL", PK_YEAR, 0, 0.5, 0.2},
                                      {"ALL", PK_YEAR, 89, m.tables[0].total.r.on_time, 0.3}};
    assert_int_equal(trend_build(&m.today, pts, 2, &tr), 0);
    struct page_input in = {.m = &m, .src = src, .nsrc = 2, .trend = &tr, .province = "Tỉnh <Thử>"};

    buf_init(&b);
    assert_int_equal(page_render(&in, NULL, PK_YEAR, &b), 0);
    const char *h = b.data;
    must_find(h, "<html lang=\"vi\">");
    must_find(h, "name=\"viewport\"");
    must_find(h, "Tỉnh &lt;Thử&gt;");
    must_find(h, "@media print");
    must_find(h, "Số liệu đến ngày <b>20/12/2022</b> · Tính lúc 08:33 ngày 20/12/2022");
    must_find(h, "iGate: đồng bộ lúc 08:32");
    must_find(h, "<li class=\"down\">✗ VNPost (bcci): mất kết nối, 3 lần đồng bộ lỗi liên tiếp");
    must_find(h, "aria-current=\"page\">Năm 2022<small>2022</small>");
    must_find(h, "href=\"/?period=2022-12\"");
    /* Rows: the province first, then by on-time ratio, the one without a ratio last. */
    const char *all = must_find(h, "<tr class=\"total\" data-agency=\"ALL\">");
    const char *a3 = must_find(h, "<tr data-agency=\"A3\">");
    const char *a1 = must_find(h, "<tr data-agency=\"A1\">");
    const char *a2 = must_find(h, "<tr data-agency=\"A2\">");
    assert_true(all < a3 && a3 < a1 && a1 < a2);
    must_find(h, "Toàn tỉnh</th>");
    must_find(h, "href=\"/?agency=A1&amp;period=2022\">Sở &quot;Khoa học&quot; &amp; "
                 "&lt;Công nghệ&gt;</a>");
    must_find(a1, "<td class=\"n\" data-col=\"on_time\">80,0%");
    must_find(a3, "<td class=\"n\" data-col=\"received\">1.200</td>");
    must_find(a2, "<td class=\"n\" data-col=\"on_time\">—</td>");
    must_find(a1, "<a href=\"/qua-han?agency=A1\"");
    page_format_percent(m.tables[0].total.r.on_time, pct, sizeof pct);
    must_find(all, pct);
    /* Targets: text and colour class agree with met_target_met. */
    must_find(h, "<div class=\"card ok\" data-indicator=\"online_procedure\">");
    must_find(h, "<div class=\"card no\" data-indicator=\"postal_procedure\">");
    must_find(h, "<div class=\"card na\" data-indicator=\"on_time\">");
    must_find(h, "✓ Đạt");
    must_find(h, "✗ Chưa đạt");
    /* Trend: two charts with role, title, and the same figures in a table. */
    must_find(h, "role=\"img\" aria-labelledby=\"c-on-time-t c-on-time-d\"");
    must_find(h, "<title id=\"c-on-time-t\">Tỷ lệ giải quyết đúng hạn, Toàn tỉnh, 90 ngày đến "
                 "20/12/2022</title>");
    must_find(h, "<tr data-day=\"2022-09-22\"><th scope=\"row\">22/09/2022</th><td>Năm 2022</td>"
                 "<td class=\"n\" data-col=\"on_time\">50,0%</td>");
    must_find(h, "/api/v1/report?from=2022-01-01&amp;to=2022-12-20&amp;format=csv");
    assert_null(strstr(h, "<script"));
    assert_null(strstr(h, "http://"));
    assert_null(strstr(h, "https://"));
    buf_free(&b);

    /* An agency's own page: its Biểu 06 in the three periods. */
    buf_init(&b);
    assert_int_equal(page_render(&in, "A1", PK_MONTH, &b), 0);
    h = b.data;
    must_find(h, "<h1>Sở &quot;Khoa học&quot; &amp; &lt;Công nghệ&gt;</h1>");
    must_find(h, "href=\"/?agency=A1&amp;period=2022-Q4\"");
    must_find(h, "<tr class=\"sel\" data-period=\"2022-12\">");
    must_find(h, "/api/v1/report?from=2022-12-01&amp;to=2022-12-20&amp;agency=A1&amp;format=json");
    must_find(h, "href=\"/qua-han?agency=A1\"");
    buf_free(&b);

    buf_init(&b);
    assert_int_equal(page_render_not_found(&in, &b), 0);
    must_find(b.data, "Không tìm thấy");
    buf_free(&b);

    trend_clear(&tr);
    model_clear(&m);
}

static void test_overdue_page(void **state)
{
    static const char json[] =
        "{\"as_of\":\"2022-12-20\",\"limit\":1000,\"dossiers\":["
        "{\"code\":\"X-1\",\"procedure\":\"1.1\",\"procedure_name\":\"Cấp <phép>\","
        "\"agency\":\"A1\",\"agency_name\":\"Sở A\",\"due\":\"2022-11-15T17:00:00+07:00\","
        "\"days_overdue\":35,\"apology\":false,\"status\":4},"
        "{\"code\":\"X-2\",\"procedure\":\"1.2\",\"procedure_name\":null,"
        "\"agency\":\"A1\",\"agency_name\":null,\"due\":\"2022-12-01T08:00:00+07:00\","
        "\"days_overdue\":19,\"apology\":true,\"status\":2}]}";
    struct buf b;

    (void)state;
    buf_init(&b);
    assert_int_equal(overdue_page_render(json, strlen(json), "A1", &b), 0);
    must_find(b.data, "<h1>Hồ sơ đang quá hạn · Sở A</h1>");
    must_find(b.data, "<span id=\"count\">2</span> hồ sơ, trong đó <span id=\"without\">1</span>");
    must_find(b.data, "<td data-col=\"code\">X-1</td><td data-col=\"procedure\">Cấp &lt;phép&gt;");
    must_find(b.data, "<td class=\"n\" data-col=\"due\">17:00 15/11/2022</td>");
    must_find(b.data, "<td data-col=\"apology\" class=\"noap\">✗ Chưa có</td>");
    must_find(b.data, "<td data-col=\"apology\" class=\"yes\">✓ Đã có</td>");
    must_find(b.data, "<td data-col=\"procedure\">1.2<span"); /* no name: the code */
    buf_free(&b);

    buf_init(&b);
    assert_int_equal(overdue_page_render("{}", 2, NULL, &b), -1);
    assert_int_equal(overdue_page_render("nope", 4, NULL, &b), -1);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percent),      cmocka_unit_test(test_count_date_period),
        cmocka_unit_test(test_escape),       cmocka_unit_test(test_status_page),
        cmocka_unit_test(test_overdue_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
