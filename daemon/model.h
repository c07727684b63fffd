/* SPDX-License-Identifier: Apache-2.0 */
/* model: everything /metrics shows, computed on the computation thread from the database and
 * the sync state, then rendered (metrics.c) into the snapshot the HTTP thread serves. */
#ifndef ONESTOP_MODEL_H
#define ONESTOP_MODEL_H

#include <libpq-fe.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "period.h"
#include "rates.h"
#include "record.h"

/* Sync state of one configured source, kept by the main loop across cycles. */
struct source_status {
    char name[64];
    char adapter[16];
    int up;                           /* last sync attempt succeeded */
    int synced;                       /* at least one full sync succeeded since start */
    double last_success;              /* unix time of the last successful sync, 0 = never */
    double last_attempt;              /* unix time the last ended attempt began, 0 = never */
    double last_duration;             /* wall seconds the last attempt that ended took */
    int consecutive_failures;         /* failed attempts since the last success */
    unsigned long long records_total; /* items fetched (good and bad) */
    unsigned long long errors_total;  /* failed sync attempts */
    unsigned long long rejected[REASON_COUNT]; /* every rejection since start, by reason */
    char last_error[256];
};

/* Catalogue counts of one agency (or ALL). */
struct proc_counts {
    char *agency; /* owned */
    long total, online, full_online, postal;
};

struct quarantine_count {
    char *source; /* owned */
    char *reason; /* owned */
    long count;
};

/* VNPost status buckets of onestop_postal_shipments. */
enum ship_status { SHIP_COLLECTED, SHIP_IN_TRANSIT, SHIP_DELIVERED, SHIP_FAILED, SHIP_CANCELLED };
#define SHIP_STATUS_COUNT 5
extern const char *const model_ship_status_names[SHIP_STATUS_COUNT];
/* Indexed by direction - 1: "to_agency", "to_applicant". */
extern const char *const model_ship_direction_names[2];

enum target_indicator {
    TGT_ONLINE_DOSSIER,
    TGT_ONLINE_PROCEDURE,
    TGT_POSTAL_PROCEDURE,
    TGT_ON_TIME
};
#define TGT_COUNT 4
extern const char *const model_target_names[TGT_COUNT];

/* Alert notification counters (onestop_alert_notifications_total). */
enum alert_receiver { ALERT_RCV_WEBHOOK, ALERT_RCV_ALERTMANAGER };
#define ALERT_RCV_COUNT 2
enum alert_result { ALERT_RES_SUCCESS, ALERT_RES_FAILURE, ALERT_RES_RETRY };
#define ALERT_RES_COUNT 3
extern const char *const model_alert_receiver_names[ALERT_RCV_COUNT];
extern const char *const model_alert_result_names[ALERT_RES_COUNT];

/* One firing alert as onestop_alert_active shows it. Every field is owned; "" where the
 * label does not apply (period of a non-ratio rule, source of a non-source rule). */
struct model_alert {
    char *alertname, *agency, *period, *source, *severity;
};

struct overdue_count {
    char *agency; /* owned; "ALL" for the province */
    long count;
};

struct model {
    time_t computed_at;     /* 0 = never computed */
    double compute_seconds; /* wall time model_compute took */
    struct ldate today;
    enum period_mode mode;
    struct period periods[PK_COUNT];
    struct b06_table tables[PK_COUNT]; /* same agencies, same order, in each */

    struct proc_counts *procs; /* per agency known to the catalogue, sorted */
    size_t nprocs;
    struct proc_counts proc_all;

    struct overdue_count *overdue; /* pending now, overdue, not in {5,6,8}, no apology;
                                      one per known agency (sorted) then ALL last */
    size_t noverdue;

    long shipments[2][SHIP_STATUS_COUNT];
    long unmatched_shipments;

    long stored[FEED_KIND_COUNT];
    struct quarantine_count *quarantine;
    size_t nquarantine;

    double targets[TGT_COUNT]; /* NaN when unknown (no on-time baseline) */

    int leader;      /* this instance is the writer */
    int database_up; /* the main connection answered when this page was rendered */

    /* Filled by the alert module after the computation (alerts.h), not by model_compute. */
    struct model_alert *alerts; /* firing alerts, sorted */
    size_t nalerts;
    unsigned long long alert_notifications[ALERT_RCV_COUNT][ALERT_RES_COUNT];
};

/* Frees the contents. Safe on a zeroed model. */
void model_clear(struct model *m);

/* Computes every database-derived part of m for "today" (the pinned as_of or the real
 * local date). 0 or -1 with err; m is cleared on failure. */
int model_compute(PGconn *conn, const struct config *cfg, const struct ldate *today,
                  struct model *m, char *err, size_t errlen);

/* num / den, NaN when den is 0 (the series is then absent). */
double model_ratio(long num, long den);

#endif
