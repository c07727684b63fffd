/* SPDX-License-Identifier: Apache-2.0 */
/* page: the HTML status page (page.h). Every figure comes from the same model /metrics is
 * rendered from, through the same functions (met_format_value, met_indicator_ratio,
 * met_target_met), so the page and /metrics cannot disagree. */
#include "page.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "version.h"

/* ---- text ---- */

/* Length of the valid UTF-8 sequence at p (1..4), 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    size_t n;
    unsigned cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void page_escape(struct buf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (!s)
        return;
    while (*p) {
        const char *rep = NULL;
        size_t n = utf8_len(p);
        switch (*p) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            break;
        }
        if (rep) {
            buf_puts(out, rep);
            p++;
        } else if (n == 0) {
            buf_puts(out, "\xEF\xBF\xBD"); /* U+FFFD for a byte that is not UTF-8 */
            p++;
        } else if (n == 1 && (*p < 0x20 || *p == 0x7F) && *p != '\t' && *p != '\n') {
            p++;
        } else {
            buf_append(out, (const char *)p, n);
            p += n;
        }
    }
}

void page_url_encode(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    if (!s)
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            buf_append(out, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            buf_append(out, e, 3);
        }
    }
}

/* ---- numbers and dates ---- */

/*
 * Tenths of a percent of ratio, from the decimal text /metrics prints for it (the
 * shortest text that reads back as the same double), rounded half up. Rounding the double
 * itself could differ: 0.8785 is stored as 0.87849999..., yet /metrics shows 0.8785 and a
 * reader rounds that to 87,9%.
 */
static long tenths_of_percent(double ratio)
{
    struct buf b;
    char dig[48];
    int nd = 0, point = -1, exp10 = 0;
    long n = 0;

    buf_init(&b);
    met_format_value(&b, ratio);
    if (b.oom || !b.data) {
        buf_free(&b);
        return lround(ratio * 1000.0);
    }
    for (const char *p = b.data; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (nd < (int)sizeof dig)
                dig[nd++] = (char)(*p - '0');
        } else if (*p == '.') {
            point = nd;
        } else if (*p == 'e' || *p == 'E') {
            exp10 = atoi(p + 1);
            break;
        }
    }
    buf_free(&b);
    if (point < 0)
        point = nd;
    /* The value is 0.d1d2... shifted: digits before the point = point + exp10; times 1000
     * moves the point 3 further right. */
    int ip = point + exp10 + 3;
    for (int i = 0; i < ip; i++)
        n = n * 10 + (i < nd ? dig[i] : 0);
    if (ip >= 0 && ip < nd && dig[ip] >= 5)
        n++;
    return n;
}

void page_format_percent(double ratio, char *out, size_t outlen)
{
    if (isnan(ratio) || isinf(ratio) || ratio < 0) {
        snprintf(out, outlen, "—");
        return;
    }
    long t = tenths_of_percent(ratio);
    snprintf(out, outlen, "%ld,%ld%%", t / 10, t % 10);
}

void page_format_count(long v, char *out, size_t outlen)
{
    char digits[32];
    size_t n, o = 0;
    int neg = v < 0;

    snprintf(digits, sizeof digits, "%lu", neg ? 0UL - (unsigned long)v : (unsigned long)v);
    n = strlen(digits);
    if (outlen == 0)
        return;
    if (neg && o + 1 < outlen)
        out[o++] = '-';
    for (size_t i = 0; i < n && o + 1 < outlen; i++) {
        out[o++] = digits[i];
        if ((n - i - 1) % 3 == 0 && i + 1 < n && o + 1 < outlen)
            out[o++] = '.';
    }
    out[o] = '\0';
}

void page_format_date(const struct ldate *d, char *out, size_t outlen)
{
    /* Dates come from ldate (valid, years 1..9999); the casts tell the compiler so. */
    snprintf(out, outlen, "%02u/%02u/%04u", (unsigned)d->d % 100u, (unsigned)d->m % 100u,
             (unsigned)d->y % 10000u);
}

/* Vietnam local clock time of t: "14:05", and its date. */
static void local_time(time_t t, char hm[6], struct ldate *day)
{
    struct tm tm;
    time_t local = t + VN_UTC_OFFSET_S;

    gmtime_r(&local, &tm);
    snprintf(hm, 6, "%02u:%02u", (unsigned)tm.tm_hour % 24u, (unsigned)tm.tm_min % 60u);
    day->y = tm.tm_year + 1900;
    day->m = tm.tm_mon + 1;
    day->d = tm.tm_mday;
}

static const char *const ROMAN_QUARTER[5] = {"", "I", "II", "III", "IV"};

void page_period_name(const char *label, char *out, size_t outlen)
{
    const char *l = label;
    int report = strncmp(l, "report:", 7) == 0;
    int y, q, m;
    char tail;

    if (report)
        l += 7;
    if (sscanf(l, "%4d-Q%1d%c", &y, &q, &tail) == 2 && q >= 1 && q <= 4)
        snprintf(out, outlen, "Quý %s/%04d%s", ROMAN_QUARTER[q], y, report ? " (kỳ báo cáo)" : "");
    else if (sscanf(l, "%4d-%2d%c", &y, &m, &tail) == 2 && m >= 1 && m <= 12)
        snprintf(out, outlen, "Tháng %d/%04d%s", m, y, report ? " (kỳ báo cáo)" : "");
    else if (sscanf(l, "%4d%c", &y, &tail) == 1)
        snprintf(out, outlen, "Năm %04d%s", y, report ? " (kỳ báo cáo)" : "");
    else
        snprintf(out, outlen, "%s", label);
}

/* ---- frame ---- */

static const char STYLE[] =
    ":root{--blue:#0b3d91;--red:#b42318;--green:#11703a;--amber:#8a5a00;--grey:#5b6573;"
    "--line:#d6dce4;--bg:#f3f5f8}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.45 system-ui,\"Segoe UI\",Roboto,\"Noto Sans\",\"DejaVu Sans\","
    "Arial,sans-serif;color:#1b2430;background:var(--bg)}"
    "a{color:var(--blue)}"
    ".wrap{max-width:1200px;margin:0 auto;padding:0 16px}"
    "header.top{background:var(--blue);color:#fff;border-bottom:4px solid #c8102e}"
    "header.top .wrap{padding:14px 16px 12px}"
    "header.top a{color:#fff}"
    ".org{margin:0;font-size:13px;font-weight:600;letter-spacing:.05em;text-transform:uppercase;"
    "opacity:.92}"
    "h1{margin:2px 0 4px;font-size:23px;line-height:1.25}"
    ".meta{margin:0;font-size:14px}"
    ".crumb{margin:0 0 2px;font-size:13px}"
    "ul.src{list-style:none;margin:8px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:6px}"
    "ul.src li{font-size:13px;padding:2px 10px;border-radius:12px;background:rgba(255,255,255,.15)}"
    "ul.src li.down{background:#fde8e6;color:var(--red);font-weight:700}"
    "ul.src li.wait{background:#fff4d6;color:var(--amber)}"
    "nav.periods{background:#fff;border-bottom:1px solid var(--line)}"
    "nav.periods ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap}"
    "nav.periods a{display:block;padding:9px 16px 7px;text-decoration:none;color:#1b2430;"
    "border-bottom:3px solid transparent}"
    "nav.periods a[aria-current]{border-bottom-color:var(--blue);font-weight:700;"
    "color:var(--blue)}"
    "nav.periods small{display:block;font-size:11px;color:var(--grey)}"
    "main{padding-bottom:24px}"
    "section{margin-top:20px}"
    "h2{font-size:18px;margin:0 0 4px;color:#13294b}"
    ".note{margin:0 0 8px;color:var(--grey);font-size:13px}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(250px,1fr));gap:12px}"
    ".card{background:#fff;border:1px solid var(--line);border-left:6px solid var(--grey);"
    "border-radius:6px;padding:10px 14px}"
    ".card.ok{border-left-color:var(--green)}.card.no{border-left-color:var(--red)}"
    ".card h3{margin:0;font-size:14px;font-weight:600}"
    ".card .val{font-size:30px;font-weight:700;margin:2px 0;font-variant-numeric:tabular-nums}"
    ".card .tgt{font-size:13px;color:var(--grey);margin:0}"
    ".badge{display:inline-block;font-size:13px;font-weight:700;padding:1px 9px;"
    "border-radius:10px;margin-top:6px;background:#e9edf2;color:var(--grey)}"
    ".ok .badge{background:#e3f4e9;color:var(--green)}.no .badge{background:#fde8e6;"
    "color:var(--red)}"
    ".scroll{overflow-x:auto;background:#fff;border:1px solid var(--line);border-radius:6px}"
    "table.data{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;"
    "font-size:14px}"
    "table.data th,table.data td{padding:6px 9px;border-bottom:1px solid var(--line);"
    "text-align:left;vertical-align:top}"
    "table.data thead th{background:#e9eef5;font-size:12.5px;font-weight:600;"
    "vertical-align:bottom}"
    "table.data .n{text-align:right;white-space:nowrap}"
    "table.data thead th.n{white-space:normal;min-width:5.5em}"
    "#agencies tbody th{min-width:15em}"
    "#agencies td:first-child,#overdue td:first-child{width:2.5em}"
    "table.data tbody tr:nth-child(even){background:#f8fafc}"
    "table.data tr.total{background:#edf3fc!important;font-weight:700}"
    "table.data tbody th{font-weight:600}"
    "table.data .code{display:block;font-size:12px;color:var(--grey);font-weight:400}"
    "table.data tr.sel{background:#fff8e1!important}"
    ".bar{display:block;height:4px;background:#e6eaf0;border-radius:2px;margin-top:3px;"
    "min-width:60px}"
    ".bar i{display:block;height:4px;background:var(--blue);border-radius:2px}"
    ".yes{color:var(--green);font-weight:600}.noap{color:var(--red);font-weight:600}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:12px}"
    "figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:6px;"
    "padding:8px 10px}"
    "figcaption{font-size:14px;font-weight:600;margin-bottom:2px}"
    "svg{display:block;width:100%;height:auto}"
    "svg text{font-size:11px;fill:#5b6573}"
    "details{margin-top:10px}summary{cursor:pointer;color:var(--blue)}"
    "ul.dl{margin:0;padding-left:20px}"
    "footer{border-top:1px solid var(--line);background:#fff;color:var(--grey);font-size:13px}"
    "footer .wrap{padding:10px 16px}"
    "@media (max-width:640px){h1{font-size:19px}.card .val{font-size:26px}"
    ".charts{grid-template-columns:1fr}table.data{font-size:13px}"
    "table.data th,table.data td{padding:5px 6px}#agencies tbody th{min-width:9.5em}}"
    "@media print{@page{size:A4 portrait;margin:12mm 10mm}"
    "body{background:#fff;font-size:10pt;color:#000}"
    "header.top{background:none;color:#000;border-bottom:2px solid #000}"
    "header.top a,a{color:#000;text-decoration:none}"
    "ul.src li{background:none;border:1px solid #999}"
    "nav.periods,.dl,footer .links,details summary{display:none}"
    ".wrap{max-width:none;padding:0}"
    ".card,figure,tr{break-inside:avoid}"
    ".scroll{overflow:visible;border:0}"
    "table.data{font-size:8.5pt}table.data th,table.data td{padding:3px 4px}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

void page_open(struct buf *out, const char *title, const char *province, const char *heading,
               const char *meta_html)
{
    buf_puts(out, "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<meta name=\"generator\" content=\"onestopd " ONESTOP_VERSION "\">\n"
                  /* An empty icon: no request for /favicon.ico. */
                  "<link rel=\"icon\" href=\"data:,\">\n<title>");
    page_escape(out, title);
    buf_puts(out, "</title>\n<style>");
    buf_puts(out, STYLE);
    buf_puts(out, "</style>\n</head>\n<body>\n<header class=\"top\"><div class=\"wrap\">\n");
    if (province && *province) {
        buf_puts(out, "<p class=\"org\">");
        page_escape(out, province);
        buf_puts(out, "</p>\n");
    }
    buf_puts(out, "<h1>");
    page_escape(out, heading);
    buf_puts(out, "</h1>\n");
    if (meta_html)
        buf_puts(out, meta_html);
    buf_puts(out, "</div></header>\n");
}

void page_close(struct buf *out)
{
    buf_puts(out, "<footer><div class=\"wrap\">onestopd " ONESTOP_VERSION
                  " · Số liệu theo Biểu 06/VPCP/KSTT và Quyết định 766/QĐ-TTg"
                  "<span class=\"links\"> · <a href=\"/metrics\">/metrics</a>"
                  " · <a href=\"/api/v1/alerts\">cảnh báo</a>"
                  " · <a href=\"/healthz\">/healthz</a> · <a href=\"/readyz\">/readyz</a>"
                  "</span></div></footer>\n</body>\n</html>\n");
}

/* ---- pieces of the status page ---- */

static const struct b06_row *find_row(const struct b06_table *t, const char *agency)
{
    if (!agency)
        return &t->total;
    for (size_t i = 0; i < t->nrows; i++)
        if (strcmp(t->rows[i].agency, agency) == 0)
            return &t->rows[i];
    return NULL;
}

static void put_percent(struct buf *out, double v)
{
    char s[24];
    page_format_percent(v, s, sizeof s);
    buf_puts(out, s);
}

static void put_count(struct buf *out, long v)
{
    char s[32];
    page_format_count(v, s, sizeof s);
    buf_puts(out, s);
}

static void put_date(struct buf *out, const struct ldate *d)
{
    char s[16];
    page_format_date(d, s, sizeof s);
    buf_puts(out, s);
}

/* href="/?agency=A&period=P" (agency NULL: the province page). */
static void put_page_href(struct buf *out, const char *agency, const char *period)
{
    buf_puts(out, "href=\"/");
    if (agency) {
        buf_puts(out, "?agency=");
        page_url_encode(out, agency);
    }
    if (period) {
        buf_puts(out, agency ? "&amp;period=" : "?period=");
        page_url_encode(out, period);
    }
    buf_puts(out, "\"");
}

static const char *source_label(const struct source_status *s, char *tmp, size_t n)
{
    const char *pretty = strcmp(s->adapter, "igate") == 0    ? "iGate"
                         : strcmp(s->adapter, "vnpost") == 0 ? "VNPost"
                                                             : s->adapter;
    if (strcmp(s->name, s->adapter) == 0)
        snprintf(tmp, n, "%s", pretty);
    else
        snprintf(tmp, n, "%s (%s)", pretty, s->name);
    return tmp;
}

/* "lúc 14:05", with the date when it is not the day of now. */
static void put_when(struct buf *out, double t, time_t now)
{
    char hm[6], nhm[6];
    struct ldate d, nd;

    local_time((time_t)t, hm, &d);
    local_time(now, nhm, &nd);
    buf_printf(out, "lúc %s", hm);
    if (ldate_cmp(&d, &nd) != 0) {
        buf_puts(out, " ngày ");
        put_date(out, &d);
    }
}

static void render_sources(struct buf *out, const struct page_input *in)
{
    const struct model *m = in->m;
    time_t now = m->computed_at ? m->computed_at : time(NULL);
    char name[160];

    buf_puts(out, "<ul class=\"src\" aria-label=\"Tình trạng nguồn dữ liệu\">\n");
    if (!m->leader) {
        /* A standby does not sync: its sources have no state of their own to show. */
        buf_puts(out, "<li>Máy dự phòng: số liệu đọc từ cơ sở dữ liệu do máy chính đồng bộ</li>\n");
    }
    for (size_t i = 0; m->leader && i < in->nsrc; i++) {
        const struct source_status *s = &in->src[i];
        source_label(s, name, sizeof name);
        if (s->up && s->last_success > 0) {
            buf_puts(out, "<li class=\"ok\">");
            page_escape(out, name);
            buf_puts(out, ": đồng bộ ");
            put_when(out, s->last_success, now);
        } else if (s->last_attempt > 0 && !s->up) {
            buf_puts(out, "<li class=\"down\">✗ ");
            page_escape(out, name);
            buf_printf(out, ": mất kết nối, %d lần đồng bộ lỗi liên tiếp", s->consecutive_failures);
            if (s->last_success > 0) {
                buf_puts(out, "; thành công lần cuối ");
                put_when(out, s->last_success, now);
            } else {
                buf_puts(out, "; chưa đồng bộ được lần nào");
            }
        } else {
            buf_puts(out, "<li class=\"wait\">");
            page_escape(out, name);
            buf_puts(out, ": đang đồng bộ lần đầu");
        }
        buf_puts(out, "</li>\n");
    }
    buf_puts(out, "</ul>\n");
}

/* The lines under the heading: the date the figures run to, when they were computed, and
 * the sources. Built apart because page_open takes them as one piece of markup. */
static int render_meta(const struct page_input *in, const char *agency, char **meta)
{
    const struct model *m = in->m;
    struct buf b;
    char hm[6];
    struct ldate d;

    buf_init(&b);
    if (agency)
        buf_puts(&b, "<p class=\"crumb\"><a href=\"/\">← Toàn tỉnh</a></p>\n");
    buf_puts(&b, "<p class=\"meta\">");
    if (agency) {
        buf_puts(&b, "Mã đơn vị <b>");
        page_escape(&b, agency);
        buf_puts(&b, "</b> · ");
    }
    if (m->computed_at) {
        buf_puts(&b, "Số liệu đến ngày <b>");
        put_date(&b, &m->today);
        local_time(m->computed_at, hm, &d);
        buf_printf(&b, "</b> · Tính lúc %s ngày ", hm);
        put_date(&b, &d);
    } else {
        buf_puts(&b, "Chưa có số liệu: đang kết nối cơ sở dữ liệu");
    }
    buf_puts(&b, "</p>\n");
    render_sources(&b, in);
    *meta = buf_steal(&b, NULL);
    return *meta ? 0 : -1;
}

static void render_periods(struct buf *out, const struct model *m, const char *agency,
                           enum period_kind sel)
{
    char name[64];

    buf_puts(out, "<nav class=\"periods\" aria-label=\"Kỳ báo cáo\"><div class=\"wrap\"><ul>\n");
    for (int k = 0; k < PK_COUNT; k++) {
        const struct period *p = &m->periods[k];
        page_period_name(p->label, name, sizeof name);
        buf_puts(out, "<li><a ");
        put_page_href(out, agency, p->label);
        if (k == (int)sel)
            buf_puts(out, " aria-current=\"page\"");
        buf_puts(out, ">");
        page_escape(out, name);
        buf_puts(out, "<small>");
        page_escape(out, p->label);
        buf_puts(out, "</small></a></li>\n");
    }
    buf_puts(out, "</ul></div></nav>\n");
}

/* The four plan targets for one row, as text and colour: "Đạt" / "Chưa đạt". */
static void render_targets(struct buf *out, const struct page_input *in, const struct b06_row *r,
                           const char *agency, enum period_kind k)
{
    static const struct {
        enum target_indicator ind;
        const char *title, *what;
    } cards[] = {
        {TGT_ONLINE_DOSSIER, "Hồ sơ trực tuyến",
         "hồ sơ tiếp nhận trực tuyến / hồ sơ tiếp nhận mới"},
        {TGT_ONLINE_PROCEDURE, "TTHC trực tuyến mức độ 3, 4",
         "thủ tục cung cấp trực tuyến / thủ tục trong danh mục"},
        {TGT_POSTAL_PROCEDURE, "TTHC qua bưu chính công ích",
         "thủ tục tiếp nhận, trả kết quả qua BCCI / thủ tục trong danh mục"},
        {TGT_ON_TIME, "Giải quyết đúng hạn (chỉ số 2.1, QĐ 766)",
         "hồ sơ trước hạn, đúng hạn và đang trong hạn / hồ sơ đã và đang giải quyết"},
    };
    const struct model *m = in->m;
    char name[64];
    struct period prev;

    page_period_name(m->periods[k].label, name, sizeof name);
    buf_puts(out, "<section aria-labelledby=\"h-targets\">\n<h2 id=\"h-targets\">Chỉ tiêu kế "
                  "hoạch cải cách hành chính</h2>\n<p class=\"note\">");
    page_escape(out, name);
    buf_puts(out, "; tỷ lệ thủ tục tính theo danh mục hiện hành.</p>\n<div class=\"cards\">\n");
    for (size_t i = 0; i < ARRAY_LEN(cards); i++) {
        enum target_indicator ind = cards[i].ind;
        double v = met_indicator_ratio(m, ind, r, agency ? agency : "ALL");
        double target = m->targets[ind];
        int met = met_target_met(ind, v, target);
        buf_printf(out, "<div class=\"card %s\" data-indicator=\"%s\">\n<h3>%s</h3>\n",
                   met > 0    ? "ok"
                   : met == 0 ? "no"
                              : "na",
                   model_target_names[ind], cards[i].title);
        buf_puts(out, "<p class=\"val\">");
        put_percent(out, v);
        buf_printf(out, "</p>\n<p class=\"tgt\" title=\"%s\">Chỉ tiêu: ", cards[i].what);
        if (isnan(target)) {
            buf_puts(out, "chưa xác định (năm trước chưa có số liệu)");
        } else {
            buf_puts(out, ind == TGT_ON_TIME ? "cao hơn " : "từ ");
            put_percent(out, target);
            if (ind == TGT_ON_TIME && !in->baseline_configured) {
                period_previous_year(m->mode, &m->today, &prev);
                page_period_name(prev.label, name, sizeof name);
                buf_puts(out, " (toàn tỉnh, ");
                page_escape(out, name);
                buf_puts(out, ")");
            } else if (ind != TGT_ON_TIME) {
                buf_puts(out, " trở lên");
            }
        }
        buf_puts(out, "</p>\n<span class=\"badge\">");
        buf_puts(out, met > 0    ? "✓ Đạt"
                      : met == 0 ? "✗ Chưa đạt"
                      : isnan(v) ? "Chưa có số liệu"
                                 : "Chưa có chỉ tiêu");
        buf_puts(out, "</span>\n</div>\n");
    }
    buf_puts(out, "</div>\n</section>\n");
}

struct ranked {
    const struct b06_row *r;
};

static int rank_cmp(const void *a, const void *b)
{
    const struct b06_row *x = ((const struct ranked *)a)->r, *y = ((const struct ranked *)b)->r;
    double u = x->r.on_time, v = y->r.on_time;

    /* Best on-time ratio first; agencies without one last; then by code. */
    if (isnan(u) != isnan(v))
        return isnan(u) ? 1 : -1;
    if (!isnan(u) && u != v)
        return u > v ? -1 : 1;
    return strcmp(x->agency, y->agency);
}

static void count_cell(struct buf *out, const char *col, long v)
{
    buf_printf(out, "<td class=\"n\" data-col=\"%s\">", col);
    put_count(out, v);
    buf_puts(out, "</td>");
}

static void ratio_cell(struct buf *out, const char *col, double v, int bar)
{
    buf_printf(out, "<td class=\"n\" data-col=\"%s\">", col);
    put_percent(out, v);
    if (bar && !isnan(v))
        buf_printf(out, "<span class=\"bar\"><i style=\"width:%.1f%%\"></i></span>", v * 100.0);
    buf_puts(out, "</td>");
}

static void agency_row(struct buf *out, const struct b06_row *r, const char *agency, long rank,
                       const char *period)
{
    const struct b06_counts *c = &r->c;

    buf_puts(out, agency ? "<tr data-agency=\"" : "<tr class=\"total\" data-agency=\"ALL");
    page_escape(out, agency);
    buf_puts(out, "\">");
    if (agency)
        buf_printf(out, "<td class=\"n\">%ld</td><th scope=\"row\"><a ", rank);
    else
        buf_puts(out, "<td></td><th scope=\"row\">");
    if (agency) {
        put_page_href(out, agency, period);
        buf_puts(out, ">");
        page_escape(out, r->name && *r->name ? r->name : agency);
        buf_puts(out, "</a><span class=\"code\">");
        page_escape(out, agency);
        buf_puts(out, "</span></th>");
    } else {
        buf_puts(out, "Toàn tỉnh</th>");
    }
    count_cell(out, "carried_over", c->carried_over);
    count_cell(out, "received", rates_received(c));
    count_cell(out, "resolved", rates_resolved(c));
    count_cell(out, "pending", rates_pending(c));
    buf_puts(out, "<td class=\"n\" data-col=\"overdue\">");
    if (c->pending_overdue > 0) {
        buf_puts(out, "<a href=\"/qua-han");
        if (agency) {
            buf_puts(out, "?agency=");
            page_url_encode(out, agency);
        }
        buf_puts(out, "\" title=\"Danh sách hồ sơ quá hạn\">");
        put_count(out, c->pending_overdue);
        buf_puts(out, "</a>");
    } else {
        put_count(out, c->pending_overdue);
    }
    buf_puts(out, "</td>");
    ratio_cell(out, "on_time", r->r.on_time, 1);
    ratio_cell(out, "online", r->r.online_dossier, 0);
    ratio_cell(out, "postal", r->r.postal_receipt, 0);
    buf_puts(out, "</tr>\n");
}

static int render_agency_table(struct buf *out, const struct model *m, enum period_kind k)
{
    const struct b06_table *t = &m->tables[k];
    struct ranked *rk = calloc(t->nrows ? t->nrows : 1, sizeof *rk);
    char name[64];

    if (!rk)
        return -1;
    for (size_t i = 0; i < t->nrows; i++)
        rk[i].r = &t->rows[i];
    qsort(rk, t->nrows, sizeof *rk, rank_cmp);
    page_period_name(m->periods[k].label, name, sizeof name);
    buf_puts(out, "<section aria-labelledby=\"h-agencies\">\n<h2 id=\"h-agencies\">Kết quả "
                  "giải quyết theo đơn vị</h2>\n<p class=\"note\">");
    page_escape(out, name);
    buf_puts(out, ": từ ");
    put_date(out, &m->periods[k].from);
    buf_puts(out, " đến ");
    put_date(out, &m->periods[k].to);
    buf_puts(out, "; xếp theo tỷ lệ giải quyết đúng hạn. Đang giải quyết tính đến ngày ");
    put_date(out, &m->periods[k].to);
    buf_puts(out, ".</p>\n<div class=\"scroll\" role=\"region\" tabindex=\"0\" "
                  "aria-label=\"Bảng kết quả theo đơn vị\">\n"
                  "<table class=\"data\" id=\"agencies\">\n<thead><tr>"
                  "<th scope=\"col\" class=\"n\">#</th><th scope=\"col\">Đơn vị</th>"
                  "<th scope=\"col\" class=\"n\">Kỳ trước chuyển qua</th>"
                  "<th scope=\"col\" class=\"n\">Tiếp nhận mới</th>"
                  "<th scope=\"col\" class=\"n\">Đã giải quyết</th>"
                  "<th scope=\"col\" class=\"n\">Đang giải quyết</th>"
                  "<th scope=\"col\" class=\"n\">Đang quá hạn</th>"
                  "<th scope=\"col\" class=\"n\">Tỷ lệ đúng hạn</th>"
                  "<th scope=\"col\" class=\"n\">Hồ sơ trực tuyến</th>"
                  "<th scope=\"col\" class=\"n\">Tiếp nhận qua BCCI</th>"
                  "</tr></thead>\n<tbody>\n");
    agency_row(out, &t->total, NULL, 0, m->periods[k].label);
    for (size_t i = 0; i < t->nrows; i++)
        agency_row(out, rk[i].r, rk[i].r->agency, (long)i + 1, m->periods[k].label);
    buf_puts(out, "</tbody>\n</table>\n</div>\n</section>\n");
    free(rk);
    return 0;
}

/* Opens the row of agency in period k (<tr> and its <th>) and returns its counts; NULL,
 * writing nothing, when the agency has no row there. */
static const struct b06_row *period_row_open(struct buf *out, const struct model *m, int k,
                                             enum period_kind sel, const char *agency)
{
    const struct b06_row *r = find_row(&m->tables[k], agency);
    char name[64];

    if (!r)
        return NULL;
    page_period_name(m->periods[k].label, name, sizeof name);
    buf_printf(out, "<tr%s data-period=\"", k == (int)sel ? " class=\"sel\"" : "");
    page_escape(out, m->periods[k].label);
    buf_puts(out, "\"><th scope=\"row\">");
    page_escape(out, name);
    buf_puts(out, "</th>");
    return r;
}

/* A column of an agency's tables: its data key, its heading, where its value is. */
struct page_col {
    const char *key, *head;
    size_t off;
};

static const struct page_col B06_COUNTS[] = {
    {"carried_over", "Từ kỳ trước", offsetof(struct b06_counts, carried_over)},
    {"received_online", "Trực tuyến", offsetof(struct b06_counts, received_online)},
    {"received_direct", "Trực tiếp", offsetof(struct b06_counts, received_direct)},
    {"received_postal", "Bưu chính", offsetof(struct b06_counts, received_postal)},
    {"resolved_early", "Trước hạn", offsetof(struct b06_counts, resolved_early)},
    {"resolved_on_time", "Đúng hạn", offsetof(struct b06_counts, resolved_on_time)},
    {"resolved_late", "Quá hạn", offsetof(struct b06_counts, resolved_late)},
    {"pending_within", "Trong hạn", offsetof(struct b06_counts, pending_within)},
    {"pending_overdue", "Quá hạn", offsetof(struct b06_counts, pending_overdue)},
};

static const struct page_col B06_RATIOS[] = {
    {"on_time", "Tỷ lệ đúng hạn (766)", offsetof(struct b06_ratios, on_time)},
    {"resolved_on_time", "Tỷ lệ giải quyết đúng hạn",
     offsetof(struct b06_ratios, resolved_on_time)},
    {"online", "Hồ sơ trực tuyến", offsetof(struct b06_ratios, online_dossier)},
    {"postal", "Tiếp nhận qua BCCI", offsetof(struct b06_ratios, postal_receipt)},
    {"postal_return", "Trả kết quả qua BCCI", offsetof(struct b06_ratios, postal_return)},
};

/* The rest of an agency's table, from its last heading row: a row per current period of
 * the counts (ratios: 0) or the ratios (1) the columns name. */
static void col_rows(struct buf *out, const struct model *m, enum period_kind sel,
                     const char *agency, const struct page_col *cols, size_t n, int ratios)
{
    for (size_t i = 0; i < n; i++)
        buf_printf(out, "<th scope=\"col\" class=\"n\">%s</th>", cols[i].head);
    buf_puts(out, "</tr></thead>\n<tbody>\n");
    for (int k = 0; k < PK_COUNT; k++) {
        const struct b06_row *r = period_row_open(out, m, k, sel, agency);
        if (!r)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (ratios)
                ratio_cell(out, cols[i].key, *(const double *)((const char *)&r->r + cols[i].off),
                           0);
            else
                count_cell(out, cols[i].key, *(const long *)((const char *)&r->c + cols[i].off));
        }
        buf_puts(out, "</tr>\n");
    }
    buf_puts(out, "</tbody>\n</table>\n</div>\n");
}

/* An agency's Biểu 06 in the three current periods, the selected one highlighted. */
static void render_b06(struct buf *out, const struct model *m, const char *agency,
                       enum period_kind sel)
{
    buf_puts(out, "<section aria-labelledby=\"h-b06\">\n<h2 id=\"h-b06\">Biểu 06: tình hình, "
                  "kết quả giải quyết TTHC</h2>\n<p class=\"note\">Đơn vị tính: hồ sơ. Đang "
                  "giải quyết tính đến ngày ");
    put_date(out, &m->today);
    buf_puts(out, ".</p>\n<div class=\"scroll\" role=\"region\" tabindex=\"0\" "
                  "aria-label=\"Biểu 06 của đơn vị\">\n<table class=\"data\" id=\"b06\">\n"
                  "<thead><tr><th scope=\"col\" rowspan=\"2\">Kỳ</th>"
                  "<th scope=\"colgroup\" colspan=\"4\" class=\"n\">Số hồ sơ nhận giải quyết</th>"
                  "<th scope=\"colgroup\" colspan=\"3\" class=\"n\">Đã giải quyết</th>"
                  "<th scope=\"colgroup\" colspan=\"2\" class=\"n\">Đang giải quyết</th></tr>\n"
                  "<tr>");
    col_rows(out, m, sel, agency, B06_COUNTS, ARRAY_LEN(B06_COUNTS), 0);

    buf_puts(out, "<div class=\"scroll\" role=\"region\" tabindex=\"0\" aria-label=\"Các tỷ lệ "
                  "của đơn vị\" style=\"margin-top:10px\">\n<table class=\"data\" id=\"ratios\">\n"
                  "<thead><tr><th scope=\"col\">Kỳ</th>");
    col_rows(out, m, sel, agency, B06_RATIOS, ARRAY_LEN(B06_RATIOS), 1);
    buf_puts(out, "</section>\n");
}

/* ---- trend charts ---- */

#define SVG_W 640
#define SVG_H 220
#define PLOT_L 46
#define PLOT_R 14
#define PLOT_T 14
#define PLOT_B 30

struct axis {
    double lo, hi, step;
};

/* A y range with round ticks around the values and the target. */
static struct axis y_axis(const double *v, double target)
{
    static const double steps[] = {0.01, 0.02, 0.05, 0.1, 0.2, 0.25};
    double mn = INFINITY, mx = -INFINITY;
    struct axis a = {0, 1, 0.25};

    for (int d = 0; d < TREND_DAYS; d++)
        if (!isnan(v[d])) {
            mn = fmin(mn, v[d]);
            mx = fmax(mx, v[d]);
        }
    if (!isnan(target)) {
        mn = fmin(mn, target);
        mx = fmax(mx, target);
    }
    if (isinf(mn))
        return a;
    for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
        double s = steps[i];
        double lo = floor(mn / s + 1e-9) * s, hi = ceil(mx / s - 1e-9) * s;
        if (hi - lo < s)
            hi = lo + s;
        if ((hi - lo) / s <= 5.0 + 1e-9 || i + 1 == ARRAY_LEN(steps)) {
            a.lo = fmax(0, lo);
            a.hi = fmin(1, hi);
            if (a.hi <= a.lo)
                a.hi = a.lo + s;
            a.step = s;
            break;
        }
    }
    return a;
}

static double px(int day)
{
    return PLOT_L + (double)day * (SVG_W - PLOT_L - PLOT_R) / (TREND_DAYS - 1);
}

static double py(const struct axis *a, double v)
{
    return PLOT_T + (a->hi - v) / (a->hi - a->lo) * (SVG_H - PLOT_T - PLOT_B);
}

static void render_chart(struct buf *out, const char *id, const char *title, const char *colour,
                         const double *v, double target, const struct ldate *first, const char *who)
{
    struct axis a = y_axis(v, target);
    struct ldate last = ldate_add_days(first, TREND_DAYS - 1), d;
    int first_day = -1, last_day = -1, npts = 0;

    for (int i = 0; i < TREND_DAYS; i++)
        if (!isnan(v[i])) {
            if (first_day < 0)
                first_day = i;
            last_day = i;
            npts++;
        }
    buf_printf(out, "<figure>\n<figcaption id=\"%s-cap\">%s</figcaption>\n", id, title);
    buf_printf(out,
               "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-labelledby=\"%s-t %s-d\">\n<title "
               "id=\"%s-t\">%s, ",
               SVG_W, SVG_H, id, id, id, title);
    page_escape(out, who);
    buf_puts(out, ", 90 ngày đến ");
    put_date(out, &last);
    buf_printf(out, "</title>\n<desc id=\"%s-d\">", id);
    if (npts == 0) {
        buf_puts(out, "Chưa có số liệu.");
    } else {
        buf_printf(out, "%d ngày có số liệu; ngày ", npts);
        d = ldate_add_days(first, first_day);
        put_date(out, &d);
        buf_puts(out, ": ");
        put_percent(out, v[first_day]);
        buf_puts(out, "; ngày ");
        d = ldate_add_days(first, last_day);
        put_date(out, &d);
        buf_puts(out, ": ");
        put_percent(out, v[last_day]);
        buf_puts(out, ". Bảng số liệu ở dưới.");
    }
    buf_puts(out, "</desc>\n");
    /* Grid and y labels. */
    for (double t = a.lo; t <= a.hi + 1e-9; t += a.step) {
        double y = py(&a, t);
        buf_printf(out,
                   "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e8ee\"/>"
                   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%ld%%</text>\n",
                   PLOT_L, SVG_W - PLOT_R, y, y, PLOT_L - 6, y + 4, lround(t * 100));
    }
    /* x labels every 15 days, ending on today. */
    for (int i = (TREND_DAYS - 1) % 15; i < TREND_DAYS; i += 15) {
        d = ldate_add_days(first, i);
        buf_printf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">%02d/%02d</text>\n", px(i),
                   SVG_H - 10, i == TREND_DAYS - 1 ? "end" : "middle", d.d, d.m);
    }
    buf_printf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#9aa5b1\"/>\n", PLOT_L,
               SVG_W - PLOT_R, SVG_H - PLOT_B, SVG_H - PLOT_B);
    if (!isnan(target)) {
        double y = py(&a, target);
        char s[24];
        page_format_percent(target, s, sizeof s);
        buf_printf(out,
                   "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#c8102e\" "
                   "stroke-dasharray=\"5 4\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" "
                   "style=\"fill:#c8102e\">Chỉ tiêu %s</text>\n",
                   PLOT_L, SVG_W - PLOT_R, y, y, SVG_W - PLOT_R, y - 4, s);
    }
    /* The line, broken where a day has no value. */
    if (npts > 0) {
        buf_printf(out, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" d=\"", colour);
        for (int i = 0; i < TREND_DAYS; i++) {
            if (isnan(v[i]))
                continue;
            buf_printf(out, "%s%.1f %.1f", i > 0 && !isnan(v[i - 1]) ? "L" : "M", px(i),
                       py(&a, v[i]));
        }
        buf_puts(out, "\"/>\n");
        for (int i = 0; i < TREND_DAYS; i++) {
            int alone = !isnan(v[i]) && (i == 0 || isnan(v[i - 1])) &&
                        (i == TREND_DAYS - 1 || isnan(v[i + 1]));
            if (alone || (i == last_day))
                buf_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px(i),
                           py(&a, v[i]), colour);
        }
        char s[24];
        page_format_percent(v[last_day], s, sizeof s);
        buf_printf(out,
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" style=\"fill:%s;"
                   "font-weight:700\">%s</text>\n",
                   px(last_day) - 5, py(&a, v[last_day]) - 7, colour, s);
    } else {
        buf_printf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">Chưa có số liệu</text>\n",
                   (SVG_W + PLOT_L) / 2, SVG_H / 2);
    }
    buf_puts(out, "</svg>\n</figure>\n");
}

static void render_trend(struct buf *out, const struct page_input *in, const char *agency,
                         enum period_kind k, const char *who)
{
    const struct model *m = in->m;
    const struct trend_series *s =
        in->trend ? trend_find(in->trend, k, agency ? agency : "ALL") : NULL;
    double nan_days[TREND_DAYS];
    struct ldate first =
        in->trend ? in->trend->first : ldate_add_days(&m->today, -(TREND_DAYS - 1));
    const double *on_time = nan_days, *online = nan_days;
    struct period cur[PK_COUNT];
    char name[64];

    for (int i = 0; i < TREND_DAYS; i++)
        nan_days[i] = NAN;
    if (s) {
        on_time = s->on_time;
        online = s->online;
    }
    buf_puts(out, "<section aria-labelledby=\"h-trend\">\n<h2 id=\"h-trend\">Diễn biến 90 ngày "
                  "gần nhất</h2>\n<p class=\"note\">Mỗi ngày: tỷ lệ lũy kế của kỳ ");
    buf_puts(out, k == PK_YEAR ? "năm" : k == PK_QUARTER ? "quý" : "tháng");
    buf_puts(out, " đang diễn ra vào ngày đó, như máy chủ đã tính trong ngày.</p>\n"
                  "<div class=\"charts\">\n");
    render_chart(out, "c-on-time", "Tỷ lệ giải quyết đúng hạn", "#0b3d91", on_time,
                 m->targets[TGT_ON_TIME], &first, who);
    render_chart(out, "c-online", "Tỷ lệ hồ sơ trực tuyến", "#11703a", online,
                 m->targets[TGT_ONLINE_DOSSIER], &first, who);
    buf_puts(out, "</div>\n<details>\n<summary>Bảng số liệu của hai biểu đồ</summary>\n"
                  "<div class=\"scroll\" role=\"region\" tabindex=\"0\" aria-label=\"Số liệu "
                  "diễn biến\">\n<table class=\"data\" id=\"trend\">\n<thead><tr>"
                  "<th scope=\"col\">Ngày</th><th scope=\"col\">Kỳ</th>"
                  "<th scope=\"col\" class=\"n\">Tỷ lệ giải quyết đúng hạn</th>"
                  "<th scope=\"col\" class=\"n\">Tỷ lệ hồ sơ trực tuyến</th></tr></thead>\n"
                  "<tbody>\n");
    for (int i = 0; i < TREND_DAYS; i++) {
        if (isnan(on_time[i]) && isnan(online[i]))
            continue;
        struct ldate d = ldate_add_days(&first, i);
        char iso[11];
        ldate_format(&d, iso);
        period_current(m->mode, &d, cur);
        page_period_name(cur[k].label, name, sizeof name);
        buf_printf(out, "<tr data-day=\"%s\"><th scope=\"row\">", iso);
        put_date(out, &d);
        buf_puts(out, "</th><td>");
        page_escape(out, name);
        buf_puts(out, "</td>");
        ratio_cell(out, "on_time", on_time[i], 0);
        ratio_cell(out, "online", online[i], 0);
        buf_puts(out, "</tr>\n");
    }
    buf_puts(out, "</tbody>\n</table>\n</div>\n</details>\n</section>\n");
}

static void render_downloads(struct buf *out, const struct model *m, const char *agency,
                             enum period_kind k)
{
    const struct period *p = &m->periods[k];
    char from[11], to[11], name[64];

    ldate_format(&p->from, from);
    ldate_format(&p->to, to);
    page_period_name(p->label, name, sizeof name);
    buf_puts(out, "<section class=\"dl\" aria-labelledby=\"h-dl\">\n<h2 id=\"h-dl\">Tải số "
                  "liệu</h2>\n<ul class=\"dl\">\n");
    for (int csv = 1; csv >= 0; csv--) {
        buf_printf(out, "<li><a href=\"/api/v1/report?from=%s&amp;to=%s", from, to);
        if (agency) {
            buf_puts(out, "&amp;agency=");
            page_url_encode(out, agency);
        }
        buf_printf(out, "&amp;format=%s\">%s</a>: Biểu 06 ", csv ? "csv" : "json",
                   csv ? "Tải CSV (mở bằng Excel)" : "Tải JSON");
        page_escape(out, name);
        buf_puts(out, "</li>\n");
    }
    buf_puts(out, "<li><a href=\"/qua-han");
    if (agency) {
        buf_puts(out, "?agency=");
        page_url_encode(out, agency);
    }
    buf_puts(out, "\">Danh sách hồ sơ đang quá hạn</a>, có hay chưa có phiếu xin lỗi</li>\n"
                  "</ul>\n</section>\n");
}

/* ---- pages ---- */

static const char *agency_name(const struct model *m, const char *agency)
{
    const struct b06_row *r = find_row(&m->tables[PK_YEAR], agency);
    return r && r->name && *r->name ? r->name : agency;
}

int page_render(const struct page_input *in, const char *agency, enum period_kind k,
                struct buf *out)
{
    static const struct model empty;
    struct page_input copy = *in;
    const struct model *m = in->m ? in->m : &empty;
    char *meta = NULL;
    const char *who = agency ? agency_name(m, agency) : "Toàn tỉnh";
    struct buf title;
    char pname[64];

    copy.m = m;
    if ((int)k < 0 || k >= PK_COUNT)
        k = PK_YEAR;
    buf_init(&title);
    page_period_name(m->periods[k].label, pname, sizeof pname);
    buf_puts(&title, agency ? who : "Tình hình giải quyết thủ tục hành chính");
    if (m->computed_at)
        buf_printf(&title, " · %s", pname);
    if (in->province && *in->province && !agency)
        buf_printf(&title, " · %s", in->province);
    if (render_meta(&copy, agency, &meta) != 0 || title.oom) {
        buf_free(&title);
        free(meta);
        return -1;
    }
    page_open(out, title.data, in->province,
              agency ? who : "Tình hình giải quyết thủ tục hành chính", meta);
    free(meta);
    buf_free(&title);
    if (m->computed_at == 0) {
        buf_puts(out, "<main class=\"wrap\"><section><p>Máy chủ chưa tính xong số liệu lần đầu. "
                      "Trang này tự cập nhật sau mỗi lần tính; hãy tải lại sau ít phút.</p>"
                      "</section></main>\n");
        page_close(out);
        return out->oom ? -1 : 0;
    }
    render_periods(out, m, agency, k);
    buf_puts(out, "<main class=\"wrap\">\n");
    const struct b06_row *r = find_row(&m->tables[k], agency);
    if (r)
        render_targets(out, &copy, r, agency, k);
    if (agency) {
        render_b06(out, m, agency, k);
    } else if (render_agency_table(out, m, k) != 0) {
        return -1;
    }
    render_trend(out, &copy, agency, k, who);
    render_downloads(out, m, agency, k);
    buf_puts(out, "</main>\n");
    page_close(out);
    return out->oom ? -1 : 0;
}

int page_render_not_found(const struct page_input *in, struct buf *out)
{
    page_open(out, "Không tìm thấy", in->province, "Không tìm thấy trang", NULL);
    buf_puts(out, "<main class=\"wrap\"><section><p>Không có đơn vị hoặc kỳ báo cáo này. Trang "
                  "tình hình chỉ có các kỳ đang diễn ra (năm, quý, tháng); số liệu của kỳ khác "
                  "lấy qua <a href=\"/api/v1/report\">/api/v1/report</a>.</p>"
                  "<p><a href=\"/\">Về trang tình hình toàn tỉnh</a></p></section></main>\n");
    page_close(out);
    return out->oom ? -1 : 0;
}
