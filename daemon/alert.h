/* SPDX-License-Identifier: Apache-2.0 */
/* alert: the alert value type (a label set, what it says, its lifecycle) and lists of it. */
#ifndef ONESTOP_ALERT_H
#define ONESTOP_ALERT_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

enum alert_state { ALERT_PENDING = 1, ALERT_FIRING, ALERT_RESOLVED };
enum alert_notify { ALERT_NOTIFY_NONE, ALERT_NOTIFY_FIRING, ALERT_NOTIFY_RESOLVED };

/* One alert: a label set (identity), what it says and its lifecycle times (unix seconds,
 * 0 = none). */
struct alert {
    char fingerprint[17];
    json_t *labels;      /* object of strings; owned reference */
    json_t *annotations; /* object of strings (summary, description); owned */
    json_t *values;      /* object: the figures (ratio, target, count, ...); owned */
    enum alert_state state;
    time_t active_since, firing_since, last_notified, resolved_at;
    /* Set by alert_rules_eval: not a condition but "carry the stored state over unchanged"
     * (alert_step neither creates, moves, notifies nor resolves it). */
    int hold;
    /* Set by alert_step: */
    enum alert_notify notify; /* a notification to send now */
    int changed;              /* the row must be written back */
};

struct alert_list {
    struct alert *v;
    size_t n, cap;
};

/* Frees every alert and the array; leaves an empty list. NULL-safe. */
void alert_list_clear(struct alert_list *l);
/* Appends an alert made of labels, annotations and values (references stolen, even on
 * failure) and computes its fingerprint. Returns the new entry or NULL (out of memory). */
struct alert *alert_list_add(struct alert_list *l, json_t *labels, json_t *annotations,
                             json_t *values);
/* Entry with this fingerprint, or NULL. */
const struct alert *alert_list_find(const struct alert_list *l, const char *fingerprint);

/* Copies the lifecycle of from (state and the four times) into to; labels, texts and the
 * hold, notify and changed flags are left alone. */
void alert_copy_lifecycle(struct alert *to, const struct alert *from);

/* The value of label name, "" when absent. */
const char *alert_label(const struct alert *a, const char *name);
/* The names of the labels, sorted, into names (at most max; a label set has a handful).
 * Returns the count. The pointers are labels' own keys. */
size_t alert_label_names(const json_t *labels, const char **names, size_t max);

/* FNV-1a 64 over the labels sorted by name (name, 0xff, value, 0xff), as Prometheus and
 * Alertmanager compute an alert's fingerprint; 16 lowercase hex digits. */
void alert_fingerprint(const json_t *labels, char out[17]);

/* "pending", "firing" or "resolved": the spelling of alert_state.state and the API. */
const char *alert_state_name(enum alert_state s);
/* The reverse; anything but "pending" and "firing" reads as resolved. */
enum alert_state alert_state_parse(const char *name);

#endif
