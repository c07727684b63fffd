/* SPDX-License-Identifier: Apache-2.0 */
/* alerts: the built-in alerts as the computation thread drives them. The leader evaluates them on
 * the computation thread after each indicator computation: the rules and the lifecycle
 * (alert_rules.h), their state in PostgreSQL (alert_store.h, outbox.h); notify.c delivers
 * the notifications on threads of its own. The alert value type is in alert.h. */
#ifndef ONESTOP_ALERTS_H
#define ONESTOP_ALERTS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <time.h>

#include "alert.h"
#include "config.h"
#include "model.h"
#include "snapshot.h"

/* The GET /api/v1/alerts document: pending and firing alerts of l. New string. */
char *alert_api_json(const struct alert_list *l, int leader, time_t evaluated_at);

/* ---- the module the computation thread drives ---- */

struct alerts;

/* Starts the delivery threads (curl_global_init must have run). oneshot (onestopd --once):
 * no thread, and alert_run does nothing at all, so a one-off run never moves the alert
 * lifecycle it could not follow through. NULL when out of memory. */
struct alerts *alert_new(int oneshot);
/* Stops delivery (an unsent notification stays queued in the database). NULL-safe. */
void alert_free(struct alerts *a);

/*
 * After each computation. On the leader (leader and conn set, m computed): stores today's
 * indicators (indicator_daily), evaluates the rules, moves the lifecycle in one
 * transaction, writes the webhook notifications to alert_outbox and wakes the delivery
 * thread, and hands the alerts for Alertmanager to the thread that re-posts them. A
 * standby (leader 0) evaluates and sends nothing and shows no alert. In every case
 * (except a oneshot module, which does nothing) fills m->alerts (firing alerts) and
 * m->alert_notifications, and stores the /api/v1/alerts document in snap.
 */
void alert_run(struct alerts *a, PGconn *conn, int leader, const struct config *cfg,
               struct model *m, const struct source_status *src, size_t nsrc,
               struct snapshot *snap);

#endif
