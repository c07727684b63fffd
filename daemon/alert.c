/* SPDX-License-Identifier: Apache-2.0 */
/* alert: the alert value type and lists of it (see alert.h). */
#include "alert.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Label sets are built by the rules: a handful of labels, far below this. */
#define MAX_LABELS 32

void alert_list_clear(struct alert_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        json_decref(l->v[i].labels);
        json_decref(l->v[i].annotations);
        json_decref(l->v[i].values);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

struct alert *alert_list_add(struct alert_list *l, json_t *labels, json_t *annotations,
                             json_t *values)
{
    struct alert *a;

    if (!labels || !annotations || !values || !json_is_object(labels))
        goto fail;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct alert *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            goto fail;
        l->v = v;
        l->cap = cap;
    }
    a = &l->v[l->n++];
    memset(a, 0, sizeof *a);
    a->labels = labels;
    a->annotations = annotations;
    a->values = values;
    alert_fingerprint(labels, a->fingerprint);
    return a;
fail:
    json_decref(labels);
    json_decref(annotations);
    json_decref(values);
    return NULL;
}

const struct alert *alert_list_find(const struct alert_list *l, const char *fingerprint)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].fingerprint, fingerprint) == 0)
            return &l->v[i];
    return NULL;
}

void alert_copy_lifecycle(struct alert *to, const struct alert *from)
{
    to->state = from->state;
    to->active_since = from->active_since;
    to->firing_since = from->firing_since;
    to->last_notified = from->last_notified;
    to->resolved_at = from->resolved_at;
}

const char *alert_label(const struct alert *a, const char *name)
{
    const char *v = json_string_value(json_object_get(a->labels, name));
    return v ? v : "";
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t alert_label_names(const json_t *labels, const char **names, size_t max)
{
    size_t n = 0;
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)labels, k, v)
    {
        if (n < max)
            names[n++] = k;
    }
    qsort(names, n, sizeof *names, key_cmp);
    return n;
}

void alert_fingerprint(const json_t *labels, char out[17])
{
    const char *keys[MAX_LABELS];
    size_t n = alert_label_names(labels, keys, ARRAY_LEN(keys));
    uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 offset basis */

    for (size_t i = 0; i < n; i++) {
        const char *parts[2] = {keys[i], json_string_value(json_object_get(labels, keys[i]))};
        for (int p = 0; p < 2; p++) {
            for (const unsigned char *s = (const unsigned char *)(parts[p] ? parts[p] : ""); *s;
                 s++) {
                h ^= *s;
                h *= 1099511628211ULL;
            }
            h ^= 0xffu; /* the separator byte */
            h *= 1099511628211ULL;
        }
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

const char *alert_state_name(enum alert_state s)
{
    return s == ALERT_PENDING ? "pending" : s == ALERT_FIRING ? "firing" : "resolved";
}

enum alert_state alert_state_parse(const char *name)
{
    return strcmp(name, "pending") == 0  ? ALERT_PENDING
           : strcmp(name, "firing") == 0 ? ALERT_FIRING
                                         : ALERT_RESOLVED;
}
