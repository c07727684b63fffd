/* SPDX-License-Identifier: Apache-2.0 */
/* adp: the interface every feed adapter implements (one adapters/<name>.c each). */
#ifndef ONESTOP_ADAPTER_H
#define ONESTOP_ADAPTER_H

#include <jansson.h>
#include <stddef.h>

#include "cfgopt.h"
#include "fetch.h"
#include "record.h"
#include "source.h"

enum feed_mode {
    FEED_KEYSET = 0, /* paged by the (NgayCapNhat, key) cursor, upserted page by page */
    FEED_WHOLE = 1,  /* fetched whole every cycle and replaced in one transaction */
};

struct feed_desc {
    const char *name; /* "dossier", "procedure", "shipment": the cursor's feed name */
    enum feed_kind kind;
    enum feed_mode mode;
    /* Where a page's items are, so a page that does not decode whole can be split and
     * only its undecodable items quarantined. NULL: such a page is a failed attempt. */
    const struct jsplit_spec *items;
};

/* Keyset position: both empty strings at the very start. */
struct feed_cursor {
    char time[15]; /* "yyyyMMddHHmmss" or "" */
    char *key;     /* borrowed, may be NULL or "" */
};

struct adapter;

struct adapter_ops {
    const char *name;
    const char *description;
    /* The keys its [source.NAME] sections take besides the generic ones, with defaults and
     * help: the config loader fills a struct of keys.size bytes from them (cfg->opts). */
    struct cfgopt_table keys;
    /* Pure: 0, or -1 with err ("source.NAME: why") when the finished section lacks what
     * the adapter needs. Run by the config loader (through adp_check) and by adp_new. */
    int (*check)(const struct source_cfg *cfg, char *err, size_t errlen);
    /* Sets up ad->priv once check() passed; NULL when the adapter keeps no state. 0, or -1
     * with err. */
    int (*init)(struct adapter *ad, char *err, size_t errlen);
    /* The feeds this source provides for its config (catalogue may be disabled).
     * Writes up to max descriptors into out, returns the count. */
    size_t (*feeds)(const struct adapter *ad, const struct feed_desc **out, size_t max);
    /* fetch_auth_fn: adds the auth headers; may fetch a token. */
    int (*authorize)(void *ad, struct fetcher *f, struct curl_slist **hdrs, int force, char *err,
                     size_t errlen);
    /* URL of one page. For FEED_KEYSET cur is the position to start strictly after and
     * page is ignored by adapters that keyset (always the first page); for FEED_WHOLE cur
     * is NULL and page counts from 0. New string, caller frees; NULL on no memory. */
    char *(*page_url)(const struct adapter *ad, const struct feed_desc *fd,
                      const struct feed_cursor *cur, long page);
    /* Pure: the decoded page in, records and rejects appended to out. Returns 0, or -1
     * with err when the envelope itself is wrong (not the expected shape, an error
     * status): the page then counts as failed and is retried, nothing is stored.
     * *more (for FEED_WHOLE) is set to 1 when further pages follow. */
    int (*parse)(const struct feed_desc *fd, const json_t *root, struct record_batch *out,
                 int *more, char *err, size_t errlen);
    /* Frees ad->priv; NULL when init is. */
    void (*destroy)(struct adapter *ad);
};

struct adapter {
    const struct adapter_ops *ops;
    const struct source_cfg *cfg; /* borrowed from the live config */
    void *priv;                   /* adapter state (token cache, ...) */
};

/* registry.c: the static table of adapters. NULL when unknown. */
const struct adapter_ops *adp_find(const char *name);
/* Comma-separated list of the known names, for messages. */
const char *adp_names(void);

/* The i-th adapter's name, NULL past the last; *keys gets its keys (cfg_hooks.adapter). */
const char *adp_keys(size_t i, const struct cfgopt_table **keys);
/* Checks cfg as adp_new would, without creating anything (cfg_hooks.check): the adapter is
 * known, cfg->opts holds its keys, and its check() passes. 0, or -1 with err. */
int adp_check(const struct source_cfg *cfg, char *err, size_t errlen);

/* Creates and initialises an adapter for cfg. NULL with err on failure. */
struct adapter *adp_new(const struct source_cfg *cfg, char *err, size_t errlen);
void adp_free(struct adapter *ad);

/* url.c: base_url + path, then "?" (or "&" when the path has a query already). */
void adp_url_start(struct buf *b, const char *base, const char *path);
/* Appends name=value (percent-encoded) after the right separator; 0, or -1 on no memory. */
int adp_url_param(struct buf *b, const char *name, const char *value);
void adp_url_param_long(struct buf *b, const char *name, long value);
/* The finished URL (new string, caller frees), or NULL when an append ran out of memory;
 * b is left empty either way. */
char *adp_url_end(struct buf *b);

extern const struct adapter_ops adapter_igate_ops;
extern const struct adapter_ops adapter_vnpost_ops;

/* Shared by the adapters (parse.c): parse one DVCQG item and append a record or a reject
 * to out. 0, or -1 only when out of memory (the page must then be failed and retried). */
int adp_parse_dossier(const json_t *item, struct record_batch *out);
int adp_parse_procedure(const json_t *item, struct record_batch *out);
int adp_parse_shipment(const json_t *item, struct record_batch *out);

#endif
