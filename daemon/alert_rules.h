/* SPDX-License-Identifier: Apache-2.0 */
/* alert_rules: the built-in alert rules and the alert lifecycle, pure functions (no I/O). */
#ifndef ONESTOP_ALERT_RULES_H
#define ONESTOP_ALERT_RULES_H

#include <stddef.h>
#include <time.h>

#include "alert.h"
#include "model.h"
#include "util.h"

/* Rule settings, from [alert]. */
struct alert_rule_params {
    double drop_points;   /* OnTimeRatioDropped threshold, percentage points */
    long drop_days;       /* ... compared with the latest row on or before this many days ago */
    long drop_slack_days; /* ... and no more than this many days before that */
    long stale_after_s;   /* SourceStale; 0 = 3 x the source's interval */
    long down_after;      /* SourceDown: failed attempts in a row */
};

/* An on-time ratio stored for an earlier day (indicator_daily). */
struct alert_prev_ratio {
    const char *period, *agency;
    struct ldate day;
    double on_time;
};

/* How many days before today - drop_days OnTimeRatioDropped looks for a row at most (a
 * day without a computation, the daemon down, must not disable the rule). */
#define ALERT_DROP_SLACK_DAYS 7

/*
 * The rules (pure): appends to out one alert per condition that holds now, with labels,
 * Vietnamese annotations and values:
 *   OnTimeRatioBelowTarget  per agency and ALL, month and year: ratio <= target
 *                           (severity warning; critical for ALL); skipped when the target
 *                           or the ratio is unknown
 *   OnTimeRatioDropped      same scope: fell by >= drop_points since the ratio of the
 *                           latest prev row of the same period and agency dated from
 *                           today - drop_days - drop_slack_days to today - drop_days
 *                           (warning)
 *   SourceStale             no successful sync for stale_after (critical)
 *   SourceDown              the last down_after attempts failed (warning)
 *   OverdueWithoutApology   per agency (not ALL): overdue dossiers with no apology slip
 *                           (warning)
 * interval_s[i] is src[i]'s sync interval; `since` is when this instance started to lead.
 * The source status lives in memory, so what a new leader knows starts at `since`. Where
 * that is not enough to decide, a source rule yields a hold entry (hold = 1: the stored
 * state, whatever it is, is carried over) rather than a condition, so a restart or a
 * failover neither resolves nor fires it falsely:
 *   not attempted since `since`                  both rules held
 *   SourceStale, no success since `since`        fires once `since` is stale_after old,
 *                                                held before that
 *   SourceDown, 0 < failures < down_after and    held (the failures before `since` are
 *               no success since `since`         unknown)
 * 0, or -1 when out of memory.
 */
int alert_rules_eval(const struct model *m, const struct source_status *src, const long *interval_s,
                     size_t nsrc, const struct alert_prev_ratio *prev, size_t nprev,
                     const struct alert_rule_params *p, time_t now, time_t since,
                     struct alert_list *out);

/*
 * The lifecycle (pure): from the previous states and the conditions holding now, writes
 * the next states into next (which must be empty), each with notify and changed set.
 *   new condition           -> pending (active_since = now)
 *   pending for >= for_s    -> firing, notify firing (for_s 0: at once)
 *   firing                  -> notify firing again every repeat_s (0: never)
 *   condition gone: pending -> dropped; firing -> resolved, notify resolved
 *   resolved                -> kept keep_resolved_s, then dropped; a condition that comes
 *                              back starts a new pending episode
 *   hold entry (cond)       -> the previous state copied unchanged (none: nothing)
 * A firing alert whose `period` label is set but is none of the current periods (the
 * month or year rolled over) is resolved silently: no resolved notification (notify
 * stays none), since its period simply ended. periods == NULL disables that check.
 * Annotations and values follow the current condition. A previous state absent from next
 * is to be deleted. 0, or -1 when out of memory (next is then cleared).
 */
int alert_step(const struct alert_list *prev, const struct alert_list *cond, time_t now, long for_s,
               long repeat_s, long keep_resolved_s, const char *const *periods, size_t nperiods,
               struct alert_list *next);

#endif
