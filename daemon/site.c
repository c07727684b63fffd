/* SPDX-License-Identifier: Apache-2.0 */
/* site: renders and serves the status pages (site.h). */
#include "site.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "page.h"
#include "trend.h"
#include "util.h"

struct site {
    struct trend_cache *cache;
    struct log_complaint trend_complaint;
};

struct site_page {
    char *agency; /* "" for the province */
    char *period; /* a /metrics label */
    char *html;
    size_t len;
};

struct site_pages {
    int computed;        /* 0: the one page is "nothing computed yet" */
    struct site_page *v; /* sorted by (agency, period), bytes */
    size_t n;
    char *default_period; /* the year's label */
    char *not_found;
    size_t not_found_len;
};

struct site *site_new(void)
{
    struct site *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->cache = trend_cache_new();
    if (!s->cache) {
        free(s);
        return NULL;
    }
    return s;
}

void site_free(struct site *s)
{
    if (!s)
        return;
    trend_cache_free(s->cache);
    free(s);
}

void site_pages_free(struct site_pages *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].agency);
        free(p->v[i].period);
        free(p->v[i].html);
    }
    free(p->v);
    free(p->default_period);
    free(p->not_found);
    free(p);
}

static int page_cmp(const void *a, const void *b)
{
    const struct site_page *x = a, *y = b;
    int c = strcmp(x->agency, y->agency);
    return c ? c : strcmp(x->period, y->period);
}

/* Renders one page into slot v[*n]. 0 or -1. */
static int add_page(struct site_pages *p, const struct page_input *in, const char *agency,
                    enum period_kind k)
{
    struct site_page *pg = &p->v[p->n];
    struct buf b;

    buf_init(&b);
    if (page_render(in, agency, k, &b) != 0) {
        buf_free(&b);
        return -1;
    }
    pg->agency = xstrdup(agency ? agency : "");
    pg->period = xstrdup(in->m->periods[k].label);
    pg->html = buf_steal(&b, &pg->len);
    p->n++; /* counted before the checks: site_pages_free frees what was allocated */
    return pg->agency && pg->period && pg->html ? 0 : -1;
}

/* Every page of m. NULL when out of memory. */
static struct site_pages *render_all(const struct page_input *in)
{
    const struct model *m = in->m;
    const struct b06_table *year = &m->tables[PK_YEAR];
    struct site_pages *p = calloc(1, sizeof *p);
    struct buf nf;
    size_t cap;

    if (!p)
        return NULL;
    p->computed = m->computed_at != 0;
    /* Every table lists the same agencies in the same order (model.h). */
    cap = p->computed ? (year->nrows + 1) * PK_COUNT : 1;
    p->v = calloc(cap, sizeof *p->v);
    if (!p->v)
        goto fail;
    if (!p->computed) {
        if (add_page(p, in, NULL, PK_YEAR) != 0)
            goto fail;
    } else {
        for (int k = 0; k < PK_COUNT; k++) {
            if (add_page(p, in, NULL, (enum period_kind)k) != 0)
                goto fail;
            for (size_t i = 0; i < m->tables[k].nrows; i++)
                if (add_page(p, in, m->tables[k].rows[i].agency, (enum period_kind)k) != 0)
                    goto fail;
        }
    }
    qsort(p->v, p->n, sizeof *p->v, page_cmp);
    p->default_period = xstrdup(m->periods[PK_YEAR].label);
    buf_init(&nf);
    if (page_render_not_found(in, &nf) != 0) {
        buf_free(&nf);
        goto fail;
    }
    p->not_found = buf_steal(&nf, &p->not_found_len);
    if (!p->default_period || !p->not_found)
        goto fail;
    return p;
fail:
    site_pages_free(p);
    return NULL;
}

int site_publish(struct site *s, PGconn *conn, const struct config *cfg, const struct model *m,
                 const struct source_status *src, size_t nsrc, struct snapshot *snap)
{
    struct trend trend = {0};
    struct site_pages *p;
    char err[512];

    if (!s || !m)
        return -1;
    if (trend_refresh(s->cache, conn, m, &trend, err, sizeof err) != 0)
        log_complain(&s->trend_complaint, LOG_LVL_WARN, "page", "trend: %s", err);
    else if (s->trend_complaint.active)
        log_release(&s->trend_complaint, "page", "trend: read again");
    struct page_input in = {
        .m = m,
        .src = src,
        .nsrc = nsrc,
        .trend = &trend,
        .province = cfg ? cfg->province : NULL,
        .baseline_configured = cfg && !isnan(cfg->on_time_baseline),
    };
    int64_t t0 = util_now_ms();
    p = render_all(&in);
    trend_clear(&trend);
    if (!p)
        return -1;
    size_t bytes = 0;
    for (size_t i = 0; i < p->n; i++)
        bytes += p->v[i].len;
    /* The cost grows with agencies x periods: worth seeing on a large province. */
    log_debug("page", "rendered %zu status page(s), %zu KiB, in %lld ms", p->n, bytes / 1024,
              (long long)(util_now_ms() - t0));
    snapshot_set_pages(snap, p);
    return 0;
}

int site_pages_copy(const struct site_pages *p, const char *agency, const char *period, char **html,
                    size_t *len, unsigned *status)
{
    const char *body;
    size_t n;

    *html = NULL;
    *len = 0;
    if (!p->computed) {
        body = p->v[0].html;
        n = p->v[0].len;
        *status = 503;
    } else {
        struct site_page key = {
            .agency = (char *)(agency ? agency : ""),
            .period = (char *)(period && *period ? period : p->default_period),
        };
        const struct site_page *hit = bsearch(&key, p->v, p->n, sizeof *p->v, page_cmp);
        body = hit ? hit->html : p->not_found;
        n = hit ? hit->len : p->not_found_len;
        *status = hit ? 200 : 404;
    }
    *html = malloc(n + 1);
    if (!*html)
        return -1;
    memcpy(*html, body, n);
    (*html)[n] = '\0';
    *len = n;
    return 0;
}

void site_reply(struct snapshot *snap, const char *agency, const char *period,
                struct http_reply *out)
{
    static const char STARTING[] =
        "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>onestopd</title></head><body><p>Máy chủ đang khởi động; hãy tải lại sau ít "
        "giây.</p></body></html>\n";
    unsigned status = 503;
    int rc = snapshot_get_page(snap, agency, period, &out->body, &out->len, &status);

    out->content_type = PAGE_CONTENT_TYPE;
    out->status = status;
    if (rc < 0) {
        out->status = 500;
        out->body = xstrdup("<!DOCTYPE html>\n<html lang=\"vi\"><title>onestopd</title>"
                            "<p>Hết bộ nhớ.</p></html>\n");
    } else if (rc == 0) {
        /* Before the main loop's first publication. */
        out->body = xstrdup(STARTING);
    }
    if (rc <= 0)
        out->len = out->body ? strlen(out->body) : 0;
    if (out->status == 503)
        out->retry_after_s = 5;
}
