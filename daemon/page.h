/* SPDX-License-Identifier: Apache-2.0 */
/* page: the status page (GET /) rendered as HTML from the model, the sources' state and
 * the trend. Pure: data in, bytes out; the main loop renders every page when it publishes
 * a snapshot (site.c), so a request only copies bytes. Vietnamese text, no script, no
 * resource from another origin; see docs/api.md. */
#ifndef ONESTOP_PAGE_H
#define ONESTOP_PAGE_H

#include <stddef.h>

#include "model.h"
#include "trend.h"
#include "util.h"

#define PAGE_CONTENT_TYPE "text/html; charset=utf-8"

struct page_input {
    const struct model *m; /* computed_at == 0: nothing computed yet */
    const struct source_status *src;
    size_t nsrc;
    const struct trend *trend; /* may be NULL */
    const char *province;      /* [metrics] province; NULL = none */
    int baseline_configured;   /* [targets] on_time_baseline is set */
};

/* Renders the page of one agency (NULL: the province) for the current period of kind k.
 * 0, or -1 when out of memory. */
int page_render(const struct page_input *in, const char *agency, enum period_kind k,
                struct buf *out);
/* The 404 page for an unknown agency or period. 0 or -1. */
int page_render_not_found(const struct page_input *in, struct buf *out);

/* The common frame of every HTML page (also /qua-han): doctype, head with the inline
 * style, and the top bar with the province (may be NULL), the heading and meta_html
 * (trusted markup, may be NULL) under it; page_close ends the document. */
void page_open(struct buf *out, const char *title, const char *province, const char *heading,
               const char *meta_html);
void page_close(struct buf *out);

/* Text for HTML (element content and quoted attributes): & < > " ' escaped, bytes that are
 * not UTF-8 replaced by U+FFFD, control characters other than tab and newline dropped. */
void page_escape(struct buf *out, const char *s);
/* Percent-encodes a query value (everything but A-Z a-z 0-9 - . _ ~). */
void page_url_encode(struct buf *out, const char *s);

/* A ratio as Vietnamese percent with one decimal, "87,8%": the decimal text /metrics
 * prints for it, times 100, rounded half up. NaN gives "—". out: at least 16 bytes. */
void page_format_percent(double ratio, char *out, size_t outlen);
/* A count with '.' between thousands, "12.345". out: at least 32 bytes. */
void page_format_count(long v, char *out, size_t outlen);
/* A date as "20/12/2022". out: at least 11 bytes. */
void page_format_date(const struct ldate *d, char *out, size_t outlen);
/* The Vietnamese name of a /metrics period label: "2022" "Năm 2022", "2022-Q4" "Quý IV/2022",
 * "2022-12" "Tháng 12/2022", report labels with "(kỳ báo cáo)". Unknown labels as they are. */
void page_period_name(const char *label, char *out, size_t outlen);

#endif
