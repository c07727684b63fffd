/* SPDX-License-Identifier: Apache-2.0 */
/* source: one [source.NAME] section as the config loader fills it and an adapter reads it. */
#ifndef ONESTOP_SOURCE_H
#define ONESTOP_SOURCE_H

struct cfgopt_table;

/* One [source.NAME] section. Strings and opts are owned by the config. */
struct source_cfg {
    char *name;         /* NAME of [source.NAME] */
    int line;           /* line of the section header, for messages */
    char *adapter;      /* "igate" | "vnpost" */
    char *base_url;     /* required */
    long interval_s;    /* default 300 */
    long page_size;     /* default 500, 1..1000 */
    long timeout_s;     /* per HTTP request, default 30 */
    long max_retries;   /* attempts after the first, default 5 */
    long backoff_max_s; /* cap of the exponential backoff, default 60 */
    long overlap_s;     /* keyset feeds re-read this much before the cursor, default 0 */
    long max_body;      /* bytes: a larger page is an error, never an out-of-memory */
    /* The adapter's own keys: their table (from its adapter_ops) and their values, a
     * struct the adapter defines (struct igate_cfg, ...) of keys->size bytes. */
    const struct cfgopt_table *keys;
    void *opts;
};

#endif
