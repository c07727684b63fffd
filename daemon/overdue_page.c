/* SPDX-License-Identifier: Apache-2.0 */
/* overdue_page: /qua-han, the overdue list as HTML (overdue_page.h). */
#include "overdue_page.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page.h"

static const char *str_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* "2022-11-15T17:00:00+07:00" as "17:00 15/11/2022"; other text as it is. */
static void put_due(struct buf *out, const char *due)
{
    int y, mo, d, h, mi;

    if (sscanf(due, "%4d-%2d-%2dT%2d:%2d", &y, &mo, &d, &h, &mi) == 5)
        buf_printf(out, "%02d:%02d %02d/%02d/%04d", h, mi, d, mo, y);
    else
        page_escape(out, due);
}

int overdue_page_render(const char *json, size_t len, const char *agency, struct buf *out)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    json_t *items = root ? json_object_get(root, "dossiers") : NULL;
    const char *as_of = root ? json_string_value(json_object_get(root, "as_of")) : NULL;
    struct ldate today;
    struct buf meta, title;
    size_t n, without = 0;
    char s[32];
    int rc = -1;

    buf_init(&meta);
    buf_init(&title);
    if (!json_is_array(items) || !as_of || ldate_parse(as_of, &today) != 0)
        goto cleanup;
    n = json_array_size(items);
    for (size_t i = 0; i < n; i++)
        if (!json_is_true(json_object_get(json_array_get(items, i), "apology")))
            without++;
    /* The agency's name is on its dossiers; with none listed the code has to do. */
    const char *who = "Toàn tỉnh";
    if (agency) {
        who = agency;
        if (n > 0 && *str_of(json_array_get(items, 0), "agency_name"))
            who = str_of(json_array_get(items, 0), "agency_name");
    }
    buf_puts(&title, "Hồ sơ đang quá hạn · ");
    buf_puts(&title, who);

    buf_puts(&meta, "<p class=\"crumb\"><a href=\"/");
    if (agency) {
        buf_puts(&meta, "?agency=");
        page_url_encode(&meta, agency);
    }
    buf_puts(&meta, "\">← Trang tình hình</a></p>\n<p class=\"meta\">");
    if (agency) {
        buf_puts(&meta, "Mã đơn vị <b>");
        page_escape(&meta, agency);
        buf_puts(&meta, "</b> · ");
    }
    buf_puts(&meta, "Tính đến ngày <b>");
    page_format_date(&today, s, sizeof s);
    buf_puts(&meta, s);
    buf_puts(&meta, "</b> · <span id=\"count\">");
    page_format_count((long)n, s, sizeof s);
    buf_puts(&meta, s);
    buf_puts(&meta, "</span> hồ sơ, trong đó <span id=\"without\">");
    page_format_count((long)without, s, sizeof s);
    buf_puts(&meta, s);
    buf_puts(&meta, "</span> chưa có phiếu xin lỗi</p>\n");
    if (meta.oom || title.oom)
        goto cleanup;

    page_open(out, title.data, NULL, title.data, meta.data);
    buf_puts(out, "<main class=\"wrap\">\n<section>\n<p class=\"note\">Hồ sơ đang giải quyết đã "
                  "quá hạn trả kết quả (trừ hồ sơ đang chờ bổ sung, chờ thực hiện nghĩa vụ tài "
                  "chính hoặc tạm dừng), quá hạn lâu nhất trước. Theo Nghị định 61/2018/NĐ-CP, "
                  "mỗi hồ sơ quá hạn cần có phiếu xin lỗi và hẹn lại ngày trả kết quả.");
    if (n >= OVERDUE_PAGE_LIMIT)
        buf_printf(out,
                   " Chỉ liệt kê %d hồ sơ quá hạn lâu nhất; danh sách đầy đủ theo từng đơn "
                   "vị.",
                   OVERDUE_PAGE_LIMIT);
    buf_puts(out, "</p>\n");
    if (n == 0) {
        buf_puts(out, "<p>Không có hồ sơ nào đang quá hạn.</p>\n");
    } else {
        buf_puts(out, "<div class=\"scroll\" role=\"region\" tabindex=\"0\" aria-label=\"Danh "
                      "sách hồ sơ quá hạn\">\n<table class=\"data\" id=\"overdue\">\n<thead><tr>"
                      "<th scope=\"col\" class=\"n\">#</th><th scope=\"col\">Mã hồ sơ</th>"
                      "<th scope=\"col\">Thủ tục</th>");
        if (!agency)
            buf_puts(out, "<th scope=\"col\">Đơn vị</th>");
        buf_puts(out, "<th scope=\"col\" class=\"n\">Hạn trả kết quả</th>"
                      "<th scope=\"col\" class=\"n\">Quá hạn</th>"
                      "<th scope=\"col\">Phiếu xin lỗi</th></tr></thead>\n<tbody>\n");
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_array_get(items, i);
            int apology = json_is_true(json_object_get(o, "apology"));
            buf_puts(out, "<tr data-code=\"");
            page_escape(out, str_of(o, "code"));
            buf_printf(out, "\"><td class=\"n\">%zu</td><td data-col=\"code\">", i + 1);
            page_escape(out, str_of(o, "code"));
            buf_puts(out, "</td><td data-col=\"procedure\">");
            page_escape(out, *str_of(o, "procedure_name") ? str_of(o, "procedure_name")
                                                          : str_of(o, "procedure"));
            buf_puts(out, "<span class=\"code\">");
            page_escape(out, str_of(o, "procedure"));
            buf_puts(out, "</span></td>");
            if (!agency) {
                buf_puts(out, "<td data-col=\"agency\">");
                page_escape(out, *str_of(o, "agency_name") ? str_of(o, "agency_name")
                                                           : str_of(o, "agency"));
                buf_puts(out, "<span class=\"code\">");
                page_escape(out, str_of(o, "agency"));
                buf_puts(out, "</span></td>");
            }
            buf_puts(out, "<td class=\"n\" data-col=\"due\">");
            put_due(out, str_of(o, "due"));
            buf_printf(out, "</td><td class=\"n\" data-col=\"days\">%lld ngày</td>",
                       (long long)json_integer_value(json_object_get(o, "days_overdue")));
            buf_printf(out, "<td data-col=\"apology\" class=\"%s\">%s</td></tr>\n",
                       apology ? "yes" : "noap", apology ? "✓ Đã có" : "✗ Chưa có");
        }
        buf_puts(out, "</tbody>\n</table>\n</div>\n");
    }
    buf_puts(out, "</section>\n</main>\n");
    page_close(out);
    rc = out->oom ? -1 : 0;
cleanup:
    buf_free(&meta);
    buf_free(&title);
    json_decref(root);
    return rc;
}

/* ---- the request ---- */

/* The API request's parameters: the page's agency (an empty one means the province, as
 * "/qua-han?agency=" reads) and the API's largest limit. */
static const char *sub_arg(void *conn, const char *name)
{
    const struct http_request *req = conn;

    if (strcmp(name, "limit") == 0)
        return STR(OVERDUE_PAGE_LIMIT);
    if (strcmp(name, "agency") == 0) {
        const char *a = req->arg(req->conn, "agency");
        return a && *a ? a : NULL;
    }
    return NULL;
}

static void error_page(struct http_reply *out, unsigned status, const char *heading,
                       const char *text)
{
    struct buf b;

    buf_init(&b);
    page_open(&b, heading, NULL, heading, NULL);
    buf_puts(&b, "<main class=\"wrap\"><section><p>");
    page_escape(&b, text);
    buf_puts(&b, "</p><p><a href=\"/\">Về trang tình hình toàn tỉnh</a></p></section></main>\n");
    page_close(&b);
    out->status = status;
    out->body = buf_steal(&b, &out->len);
    if (!out->body)
        out->status = 500;
}

void overdue_page_handle(http_api_fn api, void *ctx, const struct http_request *req,
                         struct http_reply *out)
{
    struct http_request sub = {.path = "/api/v1/overdue", .arg = sub_arg, .conn = (void *)req};
    struct http_reply json = {0};
    const char *agency = sub_arg((void *)req, "agency");
    struct buf b;

    memset(out, 0, sizeof *out);
    out->content_type = PAGE_CONTENT_TYPE;
    api(ctx, &sub, &json);
    if (json.status == 200) {
        buf_init(&b);
        if (overdue_page_render(json.body, json.len, agency, &b) == 0) {
            out->status = 200;
            out->body = buf_steal(&b, &out->len);
        } else {
            buf_free(&b);
            error_page(out, 500, "Lỗi máy chủ", "Không hiển thị được danh sách.");
        }
    } else if (json.status == 400) {
        /* The API checked the agency: unknown, or not UTF-8. */
        error_page(out, 404, "Không tìm thấy đơn vị", "Không có đơn vị với mã này.");
    } else if (json.status == 503) {
        error_page(out, 503, "Máy chủ đang bận",
                   "Cơ sở dữ liệu đang bận hoặc chưa kết nối được; hãy tải lại sau ít giây.");
        out->retry_after_s = json.retry_after_s > 0 ? json.retry_after_s : 1;
    } else {
        error_page(out, 500, "Lỗi máy chủ", "Không tính được danh sách hồ sơ quá hạn.");
    }
    free(json.body);
    if (!out->body)
        out->len = 0;
}
