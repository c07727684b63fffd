/* SPDX-License-Identifier: Apache-2.0 */
/* outbox: alert_outbox, the queue of webhook notifications; every statement on it. */
#ifndef ONESTOP_OUTBOX_H
#define ONESTOP_OUTBOX_H

#include <libpq-fe.h>
#include <stddef.h>

/*
 * The rows are written by the leader's main thread (queued in the transaction that moves
 * the alert lifecycle, retired, pruned) and worked off by the webhook thread (claimed,
 * then marked sent, failed or released), possibly of another instance. The connection is
 * the caller's: each function runs its statements through an outbox_db, so the webhook
 * thread keeps its own non-blocking execution with the shutdown's deadline.
 *
 * A list of URLs (urls) is blank-separated (spaces or tabs), as [alert] webhook_url has it.
 */

/* Runs one parameterised statement. Returns its result, whose status must be want (the
 * caller PQclears it), or NULL with err ("what: reason"). */
typedef PGresult *outbox_exec_fn(void *ctx, const char *sql, int nparams, const char *const *params,
                                 ExecStatusType want, const char *what, char *err, size_t errlen);

struct outbox_db {
    outbox_exec_fn *exec;
    void *ctx;
};

/* Runs the statements on conn with PQexecParams, blocking (the main thread's way). */
struct outbox_db outbox_db_blocking(PGconn *conn);

/* ---- the main thread ---- */

/* Queues a notification (status "firing" or "resolved", body the JSON payload) of the
 * alert with this fingerprint for every URL of urls; an unsent older one of the same alert
 * to the same URL is superseded. 0, or -1 with err (some rows may be written: call it in
 * a transaction). */
int outbox_queue(const struct outbox_db *db, const char *fingerprint, const char *urls,
                 const char *status, const char *body, char *err, size_t errlen);
/* Supersedes the unsent rows to a URL not in urls (it left the configuration: nobody to
 * send them to). 0, or -1 with err. */
int outbox_retire(const struct outbox_db *db, const char *urls, char *err, size_t errlen);
/* Deletes the rows sent, superseded or abandoned more than 30 days ago. 0, or -1 with
 * err. */
int outbox_prune(const struct outbox_db *db, char *err, size_t errlen);

/* ---- the webhook thread ---- */

/* A claimed row. */
struct outbox_row {
    long long id;
    const char *url, *body; /* point into res */
    long attempts;          /* failed attempts so far */
    long age_s;             /* since the row was queued */
    PGresult *res;
};
/* Frees what the row holds and zeroes it. NULL-safe. */
void outbox_row_clear(struct outbox_row *r);

/* Claims the oldest due row for one of urls for claim_s seconds in the name of claimer,
 * so that no other instance sends it meanwhile. 1 claimed (*row filled; clear it), 0
 * nothing due, -1 with err. */
int outbox_claim(const struct outbox_db *db, const char *urls, long claim_s, const char *claimer,
                 struct outbox_row *row, char *err, size_t errlen);
/* *ms: milliseconds until a row for one of urls may be claimed (0 when one may now), -1
 * when none is waiting. 0, or -1 with err. */
int outbox_next_due_ms(const struct outbox_db *db, const char *urls, long *ms, char *err,
                       size_t errlen);

/* What came of a claimed row. */
enum outbox_outcome_kind {
    OUTBOX_SENT,    /* delivered */
    OUTBOX_FAILED,  /* not delivered: the next attempt's time, or abandoned */
    OUTBOX_RELEASE, /* not tried (shutdown, leadership lost): claimable again at once */
};

struct outbox_outcome {
    enum outbox_outcome_kind kind;
    long long id;
    long attempts, delay_ms; /* OUTBOX_FAILED: the new count, until the next attempt */
    int abandon;             /* OUTBOX_FAILED: never to be tried again */
    char err[256];           /* OUTBOX_FAILED: why (stored as printable ASCII) */
};

/* Records an outcome. FAILED and RELEASE apply only while claimer still holds the claim
 * (a claim that ran out and was taken by another instance is that one's to record). 0, or
 * -1 with err. */
int outbox_record(const struct outbox_db *db, const struct outbox_outcome *o, const char *claimer,
                  char *err, size_t errlen);

#endif
