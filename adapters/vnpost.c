/* SPDX-License-Identifier: Apache-2.0 */
/* vnpost: VNPost public-postal (BCCI) shipments, behind a static API key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "cfgopt.h"
#include "util.h"
#include "vnpost.h"

/* Longest piece of the server's Message quoted in an error. */
#define VNPOST_MESSAGE_MAX 160

#define VCFG struct vnpost_cfg

/* The keys of a vnpost section besides the generic ones; the reference prefixes each help
 * text with "vnpost: ". */
static const struct cfgopt vnpost_keys[] = {
    CFGOPT_SECRET_FILE("api_key_file", VCFG, api_key_file, api_key, 0,
                       "file holding the API key (looked up like password_file)."),
    CFGOPT_URLPATH("shipment_path", VCFG, shipment_path, "/bcci/shipments", 0,
                   "path of the shipment search."),
};

#undef VCFG

static const char *const vnpost_items_path[] = {"Data", "Items"};
static const struct jsplit_spec vnpost_shipment_items = {vnpost_items_path, 2, "ItemCode",
                                                         "NgayCapNhat"};

static const struct feed_desc vnpost_feeds[] = {
    {"shipment", FEED_SHIPMENT, FEED_KEYSET, &vnpost_shipment_items},
};

static int vnpost_check(const struct source_cfg *cfg, char *err, size_t errlen)
{
    const struct vnpost_cfg *vc = cfg->opts;
    const char *name = cfg->name ? cfg->name : "?";
    const char *missing = NULL;

    if (!cfg->base_url || !cfg->base_url[0])
        missing = "base_url";
    else if (!vc->api_key || !vc->api_key[0])
        missing = "api_key_file";
    if (missing) {
        snprintf(err, errlen, "source.%s: %s is required for adapter vnpost", name, missing);
        return -1;
    }
    /* The key goes into a header line, where a CR or LF would start another header. */
    for (const char *k = vc->api_key; *k; k++) {
        if ((unsigned char)*k < 0x20 || (unsigned char)*k == 0x7f) {
            snprintf(err, errlen,
                     "source.%s: the API key (api_key_file) contains control characters", name);
            return -1;
        }
    }
    return 0;
}

static size_t vnpost_feeds_fn(const struct adapter *ad, const struct feed_desc **out, size_t max)
{
    if (max < 1)
        return 0;
    out[0] = &vnpost_feeds[0];
    return 1;
}

static int vnpost_authorize(void *ctx, struct fetcher *f, struct curl_slist **hdrs, int force,
                            char *err, size_t errlen)
{
    const struct adapter *ad = ctx;
    const struct vnpost_cfg *vc = ad->cfg->opts;
    struct curl_slist *h;
    char *line = xasprintf("access_token: %s", vc->api_key);

    if (!line) {
        snprintf(err, errlen, "authorization: out of memory");
        return -1;
    }
    h = curl_slist_append(*hdrs, line);
    explicit_bzero(line, strlen(line)); /* the key is a long-lived secret */
    free(line);
    if (!h) {
        snprintf(err, errlen, "authorization: out of memory");
        return -1;
    }
    *hdrs = h;
    return 0;
}

static char *vnpost_page_url(const struct adapter *ad, const struct feed_desc *fd,
                             const struct feed_cursor *cur, long page)
{
    const struct source_cfg *cfg = ad->cfg;
    const struct vnpost_cfg *vc = cfg->opts;
    struct buf b;

    if (fd->kind != FEED_SHIPMENT)
        return NULL;
    buf_init(&b);
    adp_url_start(&b, cfg->base_url, vc->shipment_path);
    if (cur && cur->time[0] && adp_url_param(&b, "from", cur->time) < 0)
        goto fail;
    if (cur && cur->key && cur->key[0] && adp_url_param(&b, "after", cur->key) < 0)
        goto fail;
    /* Always the first page (1-based here): the keyset cursor walks the feed. */
    adp_url_param_long(&b, "page", 1);
    adp_url_param_long(&b, "pageSize", cfg->page_size);
    return adp_url_end(&b);

fail:
    buf_free(&b);
    return NULL;
}

/* Quotes the server's Message, cut on a UTF-8 boundary. */
static void vnpost_message(const json_t *msg, char *out, size_t outlen)
{
    const char *s = json_string_value(msg);
    size_t n;

    if (!s) {
        snprintf(out, outlen, "(no message)");
        return;
    }
    n = strlen(s);
    if (n > VNPOST_MESSAGE_MAX) {
        n = VNPOST_MESSAGE_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    snprintf(out, outlen, "\"%.*s\"", (int)n, s);
}

static int vnpost_status_ok(const json_t *st)
{
    if (json_is_string(st))
        return strcmp(json_string_value(st), "100") == 0;
    return json_is_integer(st) && json_integer_value(st) == 100;
}

static int vnpost_parse(const struct feed_desc *fd, const json_t *root, struct record_batch *out,
                        int *more, char *err, size_t errlen)
{
    struct record_batch page;
    const json_t *items, *item, *data;
    size_t i;
    char msg[VNPOST_MESSAGE_MAX + 8];
    int rc = -1;

    rec_batch_init(&page, FEED_SHIPMENT);
    if (more)
        *more = 0;
    if (fd->kind != FEED_SHIPMENT) {
        snprintf(err, errlen, "vnpost has no %s feed", rec_kind_name(fd->kind));
        goto cleanup;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "shipment page: the body is not a JSON object");
        goto cleanup;
    }
    /* VNPost reports its errors inside a 200 response. */
    const json_t *st = json_object_get(root, "Status");
    if (!vnpost_status_ok(st)) {
        char *sv = st ? json_dumps(st, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        vnpost_message(json_object_get(root, "Message"), msg, sizeof(msg));
        snprintf(err, errlen, "shipment page: Status %.40s: %s", sv ? sv : "(absent)", msg);
        free(sv);
        goto cleanup;
    }
    data = json_object_get(root, "Data");
    items = json_object_get(data, "Items");
    /* "Items": null is an empty result; json_array_* treat a null as size 0. */
    if (!json_is_array(items) && !(json_is_object(data) && json_is_null(items))) {
        snprintf(err, errlen, "shipment page: no \"Data.Items\" array");
        goto cleanup;
    }

    json_array_foreach(items, i, item)
    {
        if (adp_parse_shipment(item, &page) < 0) {
            snprintf(err, errlen, "shipment page: out of memory");
            goto cleanup;
        }
    }
    page.nitems = json_array_size(items);
    const json_t *pg = json_object_get(data, "Page");
    const json_t *total = json_object_get(data, "TotalPages");
    page.server_last = json_is_integer(pg) && json_is_integer(total) &&
                       json_integer_value(pg) >= json_integer_value(total);

    size_t nitems = page.nitems;
    if (rec_batch_move(out, &page) < 0) {
        snprintf(err, errlen, "shipment page: out of memory");
        goto cleanup;
    }
    out->nitems += nitems;
    rc = 0;

cleanup:
    rec_batch_clear(&page);
    return rc;
}

const struct adapter_ops adapter_vnpost_ops = {
    .name = "vnpost",
    .description = "VNPost public-postal (BCCI) shipments",
    .keys = CFGOPT_TABLE(vnpost_keys, struct vnpost_cfg),
    .check = vnpost_check,
    /* No init or destroy: no state, the API key stays in the config, which owns it. */
    .feeds = vnpost_feeds_fn,
    .authorize = vnpost_authorize,
    .page_url = vnpost_page_url,
    .parse = vnpost_parse,
};
