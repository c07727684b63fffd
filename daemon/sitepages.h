/* SPDX-License-Identifier: Apache-2.0 */
/* sitepages: a set of rendered status pages, immutable once built. site.c builds it, the
 * snapshot owns the current one, and an HTTP thread copies one page out of it. Kept apart
 * from site.c so the snapshot depends on the pages, not on how they are rendered. */
#ifndef ONESTOP_SITEPAGES_H
#define ONESTOP_SITEPAGES_H

#include <stddef.h>

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

void site_pages_free(struct site_pages *p);
/* Sorts the pages for site_pages_copy's lookup; once, after the last one is added. */
void site_pages_sort(struct site_pages *p);
/*
 * Copies the page of agency (NULL or "": the province) in period (a /metrics period label;
 * NULL or "": the year) into *html (caller frees). *status is 200, 404 (unknown agency or
 * period: the not-found page) or 503 (nothing computed yet). 0, or -1 when out of memory.
 */
int site_pages_copy(const struct site_pages *p, const char *agency, const char *period, char **html,
                    size_t *len, unsigned *status);

#endif
