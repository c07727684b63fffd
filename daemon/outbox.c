/* SPDX-License-Identifier: Apache-2.0 */
/* outbox: the statements on alert_outbox (see outbox.h). */
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"
#include "util.h"

/* Sent, superseded and abandoned rows are kept this long (what was sent, for a while). */
#define KEEP_DAYS "30"
/* A longer URL is no webhook of ours (config.c refuses it): not queued. */
#define MAX_URL 2048

/* The state of a row is in four columns: a row is live (sendable) until one is set. */
#define LIVE "sent_at IS NULL AND superseded_at IS NULL AND abandoned_at IS NULL"

static PGresult *exec_blocking(void *ctx, const char *sql, int nparams, const char *const *params,
                               ExecStatusType want, const char *what, char *err, size_t errlen)
{
    PGconn *conn = ctx;
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) == want)
        return res;
    pg_errf(err, errlen, res, conn, what);
    PQclear(res);
    return NULL;
}

struct outbox_db outbox_db_blocking(PGconn *conn)
{
    return (struct outbox_db){.exec = exec_blocking, .ctx = conn};
}

/* Runs a statement that returns no rows. 0, or -1 with err. */
static int run(const struct outbox_db *db, const char *sql, int nparams, const char *const *params,
               const char *what, char *err, size_t errlen)
{
    PGresult *res = db->exec(db->ctx, sql, nparams, params, PGRES_COMMAND_OK, what, err, errlen);

    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

/* The URLs of urls single-space-separated, as string_to_array($n, ' ') splits them in the
 * statements below (new string, "" for NULL); NULL with err when out of memory. */
static char *url_words(const char *urls, char *err, size_t errlen)
{
    struct buf b;
    char *s;

    buf_init(&b);
    for (const char *p = urls; p && *p;) {
        size_t len = strcspn(p, " \t");
        if (len)
            buf_printf(&b, "%s%.*s", b.len ? " " : "", (int)len, p);
        p += len;
        p += strspn(p, " \t");
    }
    if (!(s = buf_steal(&b, NULL)))
        snprintf(err, errlen, "out of memory");
    return s;
}

/* ---- the main thread ---- */

int outbox_queue(const struct outbox_db *db, const char *fingerprint, const char *urls,
                 const char *status, const char *body, char *err, size_t errlen)
{
    /* A newer notification of the alert to the same URL makes an unsent older one moot. */
    static const char SQL[] = "WITH old AS (UPDATE alert_outbox SET superseded_at = now()"
                              " WHERE fingerprint = $1 AND url = $2 AND " LIVE ")"
                              " INSERT INTO alert_outbox (fingerprint, url, status, body)"
                              " VALUES ($1, $2, $3, $4)";
    char url[MAX_URL];
    int rc = 0;

    for (const char *p = urls; p && *p && rc == 0;) {
        size_t len = strcspn(p, " \t");
        if (len > 0 && len < sizeof url) {
            memcpy(url, p, len);
            url[len] = '\0';
            const char *params[4] = {fingerprint, url, status, body};
            rc = run(db, SQL, 4, params, "queueing a notification", err, errlen);
        }
        p += len;
        p += strspn(p, " \t");
    }
    return rc;
}

int outbox_retire(const struct outbox_db *db, const char *urls, char *err, size_t errlen)
{
    static const char SQL[] = "UPDATE alert_outbox SET superseded_at = now()"
                              " WHERE " LIVE " AND NOT (url = ANY (string_to_array($1, ' ')))";
    char *words = url_words(urls, err, errlen);
    int rc = -1;

    if (!words)
        return -1;
    const char *params[1] = {words};
    rc = run(db, SQL, 1, params, "updating alert_outbox", err, errlen);
    free(words);
    return rc;
}

int outbox_prune(const struct outbox_db *db, char *err, size_t errlen)
{
    static const char SQL[] = "DELETE FROM alert_outbox"
                              " WHERE coalesce(sent_at, superseded_at, abandoned_at)"
                              " < now() - make_interval(days => $1::integer)";
    const char *params[1] = {KEEP_DAYS};

    return run(db, SQL, 1, params, "pruning alert_outbox", err, errlen);
}

/* ---- the webhook thread ---- */

void outbox_row_clear(struct outbox_row *r)
{
    if (!r)
        return;
    PQclear(r->res);
    memset(r, 0, sizeof *r);
}

int outbox_claim(const struct outbox_db *db, const char *urls, long claim_s, const char *claimer,
                 struct outbox_row *row, char *err, size_t errlen)
{
    /* SKIP LOCKED: two instances claiming at once take different rows; the outer
     * conditions repeat the inner ones for a row changed in between. */
    static const char SQL[] =
        "UPDATE alert_outbox SET claimed_until = now() + make_interval(secs => $2::integer),"
        " claimed_by = $3"
        " WHERE id = (SELECT id FROM alert_outbox"
        "   WHERE " LIVE
        "   AND next_attempt_at <= now() AND (claimed_until IS NULL OR claimed_until < now())"
        "   AND url = ANY (string_to_array($1, ' '))"
        "   ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " AND " LIVE " AND (claimed_until IS NULL OR claimed_until < now())"
        " RETURNING id, url, body, attempts, extract(epoch FROM now() - created_at)::bigint";
    char secs[24], *words;
    PGresult *res;

    memset(row, 0, sizeof *row);
    if (!(words = url_words(urls, err, errlen)))
        return -1;
    snprintf(secs, sizeof secs, "%ld", claim_s);
    const char *params[3] = {words, secs, claimer};
    res =
        db->exec(db->ctx, SQL, 3, params, PGRES_TUPLES_OK, "claiming a notification", err, errlen);
    free(words);
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;
    }
    row->res = res;
    row->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    row->url = PQgetvalue(res, 0, 1);
    row->body = PQgetvalue(res, 0, 2);
    row->attempts = pg_long(res, 0, 3, 0);
    row->age_s = pg_long(res, 0, 4, 0);
    return 1;
}

int outbox_next_due_ms(const struct outbox_db *db, const char *urls, long *ms, char *err,
                       size_t errlen)
{
    /* A claimed row is due again when its claim runs out (its claimer died). */
    static const char SQL[] =
        "SELECT ceil(1000 * extract(epoch FROM min(greatest(next_attempt_at,"
        " coalesce(claimed_until, next_attempt_at))) - now()))::bigint FROM alert_outbox"
        " WHERE " LIVE " AND url = ANY (string_to_array($1, ' '))";
    char *words = url_words(urls, err, errlen);
    PGresult *res;

    *ms = -1;
    if (!words)
        return -1;
    const char *params[1] = {words};
    res = db->exec(db->ctx, SQL, 1, params, PGRES_TUPLES_OK, "reading alert_outbox", err, errlen);
    free(words);
    if (!res)
        return -1;
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        *ms = pg_long(res, 0, 0, 0);
        if (*ms < 0)
            *ms = 0;
    }
    PQclear(res);
    return 0;
}

int outbox_record(const struct outbox_db *db, const struct outbox_outcome *o, const char *claimer,
                  char *err, size_t errlen)
{
    static const char SENT_SQL[] =
        "UPDATE alert_outbox SET sent_at = coalesce(sent_at, now()), claimed_until = NULL,"
        " claimed_by = NULL, last_error = NULL WHERE id = $1";
    /* Only while the claim is still ours: if it ran out and another instance took the row,
     * that one records its own outcome. */
    static const char FAILED_SQL[] =
        "UPDATE alert_outbox SET attempts = $2::integer,"
        " next_attempt_at = now() + make_interval(secs => $3::float8),"
        " abandoned_at = CASE WHEN $4::boolean THEN now() END, last_error = $5,"
        " claimed_until = NULL, claimed_by = NULL"
        " WHERE id = $1 AND sent_at IS NULL AND claimed_by = $6";
    static const char RELEASE_SQL[] =
        "UPDATE alert_outbox SET claimed_until = NULL, claimed_by = NULL"
        " WHERE id = $1 AND sent_at IS NULL AND claimed_by = $2";
    char id[24], attempts[24], delay[32], msg[sizeof o->err];

    snprintf(id, sizeof id, "%lld", o->id);
    if (o->kind == OUTBOX_SENT) {
        const char *params[1] = {id};
        return run(db, SENT_SQL, 1, params, "recording a notification", err, errlen);
    }
    if (o->kind == OUTBOX_RELEASE) {
        const char *params[2] = {id, claimer};
        return run(db, RELEASE_SQL, 2, params, "releasing a notification", err, errlen);
    }
    /* Printable ASCII only: the column is text in the database's encoding. */
    memset(msg, 0, sizeof msg);
    for (size_t i = 0; i + 1 < sizeof msg && o->err[i]; i++)
        msg[i] = o->err[i] >= 0x20 && o->err[i] < 0x7f ? o->err[i] : '?';
    snprintf(attempts, sizeof attempts, "%ld", o->attempts);
    snprintf(delay, sizeof delay, "%.3f", (double)o->delay_ms / 1000.0);
    const char *params[6] = {id, attempts, delay, o->abandon ? "true" : "false", msg, claimer};
    return run(db, FAILED_SQL, 6, params, "recording a notification", err, errlen);
}
