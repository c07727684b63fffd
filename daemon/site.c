/* SPDX-License-Identifier: Apache-2.0 */
/* site: renders and serves the status pages (site.h). */
#include "site.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "page.h"
#include "sitepages.h"
#include "trend.h"
#include "util.h"

struct site {
    struct trend_cache *cache;
    struct log_complaint trend_complaint;
};

struct site *site_new(void)
{
    struct site *s = calloc(1, sizeof *s);

    if (s && !(s->cache = trend_cache_new()))
        sfree(s);
    return s;
}

void site_free(struct site *s)
{
    if (!s)
        return;
    trend_cache_free(s->cache);
    free(s);
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
    site_pages_sort(p);
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
