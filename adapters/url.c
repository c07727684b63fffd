/* SPDX-License-Identifier: Apache-2.0 */
/* adp: URL building shared by the adapters. */
#include <stdlib.h>
#include <string.h>

#include "adapter.h"

void adp_url_start(struct buf *b, const char *base, const char *path)
{
    size_t n = strlen(base);
    /* base_url "https://x/" + path "/pa/..." must not give "//". */
    if (n > 0 && base[n - 1] == '/' && path[0] == '/')
        n--;
    buf_append(b, base, n);
    buf_puts(b, path);
    buf_puts(b, strchr(path, '?') ? "&" : "?");
}

/* The separator a new parameter needs after what b already holds. */
static void adp_url_sep(struct buf *b)
{
    char last = b->len > 0 ? b->data[b->len - 1] : '?';
    if (last != '?' && last != '&')
        buf_append(b, "&", 1);
}

int adp_url_param(struct buf *b, const char *name, const char *value)
{
    char *e = fetch_escape(value);
    if (!e)
        return -1;
    adp_url_sep(b);
    buf_printf(b, "%s=%s", name, e);
    free(e);
    return 0;
}

void adp_url_param_long(struct buf *b, const char *name, long value)
{
    adp_url_sep(b);
    buf_printf(b, "%s=%ld", name, value);
}

char *adp_url_end(struct buf *b)
{
    if (b->oom) {
        buf_free(b);
        return NULL;
    }
    return buf_steal(b, NULL);
}
