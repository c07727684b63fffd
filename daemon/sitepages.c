/* SPDX-License-Identifier: Apache-2.0 */
/* sitepages: a set of rendered status pages (sitepages.h). */
#include "sitepages.h"

#include <stdlib.h>
#include <string.h>

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

void site_pages_sort(struct site_pages *p)
{
    qsort(p->v, p->n, sizeof *p->v, page_cmp);
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
