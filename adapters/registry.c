/* SPDX-License-Identifier: Apache-2.0 */
/* adp: the static table of adapters, and checking and creating one for a [source.NAME]. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "util.h"

static const struct adapter_ops *const adp_table[] = {
    &adapter_igate_ops,
    &adapter_vnpost_ops,
};

const struct adapter_ops *adp_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < ARRAY_LEN(adp_table); i++) {
        if (strcmp(adp_table[i]->name, name) == 0)
            return adp_table[i];
    }
    return NULL;
}

/* Built from the table so that a new adapter cannot be forgotten in messages. */
static char adp_names_buf[128];
static pthread_once_t adp_names_once = PTHREAD_ONCE_INIT;

static void adp_names_build(void)
{
    size_t off = 0;

    for (size_t i = 0; i < ARRAY_LEN(adp_table) && off < sizeof(adp_names_buf); i++) {
        int n = snprintf(adp_names_buf + off, sizeof(adp_names_buf) - off, "%s%s", i ? ", " : "",
                         adp_table[i]->name);
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

const char *adp_names(void)
{
    pthread_once(&adp_names_once, adp_names_build);
    return adp_names_buf;
}

const char *adp_keys(size_t i, const struct cfgopt_table **keys)
{
    if (i >= ARRAY_LEN(adp_table))
        return NULL;
    *keys = &adp_table[i]->keys;
    return adp_table[i]->name;
}

/* The adapter of cfg once cfg is checked, or NULL with err. */
static const struct adapter_ops *adp_checked(const struct source_cfg *cfg, char *err, size_t errlen)
{
    const char *name = cfg->name ? cfg->name : "?";
    const struct adapter_ops *ops;

    if (!cfg->adapter || !cfg->adapter[0]) {
        snprintf(err, errlen, "source.%s: adapter is required (one of: %s)", name, adp_names());
        return NULL;
    }
    ops = adp_find(cfg->adapter);
    if (!ops) {
        snprintf(err, errlen, "source.%s: unknown adapter \"%s\" (known: %s)", name, cfg->adapter,
                 adp_names());
        return NULL;
    }
    /* check() and the rest cast cfg->opts to the adapter's own struct. */
    if (cfg->keys != &ops->keys || !cfg->opts) {
        snprintf(err, errlen, "source.%s: the keys of adapter %s were not loaded", name, ops->name);
        return NULL;
    }
    if (ops->check(cfg, err, errlen) < 0)
        return NULL;
    return ops;
}

int adp_check(const struct source_cfg *cfg, char *err, size_t errlen)
{
    return adp_checked(cfg, err, errlen) ? 0 : -1;
}

struct adapter *adp_new(const struct source_cfg *cfg, char *err, size_t errlen)
{
    const struct adapter_ops *ops = adp_checked(cfg, err, errlen);
    struct adapter *ad;

    if (!ops)
        return NULL;
    ad = calloc(1, sizeof(*ad));
    if (!ad) {
        snprintf(err, errlen, "source.%s: out of memory", cfg->name ? cfg->name : "?");
        return NULL;
    }
    ad->ops = ops;
    ad->cfg = cfg;
    if (ops->init && ops->init(ad, err, errlen) < 0) {
        adp_free(ad);
        return NULL;
    }
    return ad;
}

void adp_free(struct adapter *ad)
{
    if (!ad)
        return;
    if (ad->ops && ad->ops->destroy)
        ad->ops->destroy(ad);
    free(ad);
}
