/* SPDX-License-Identifier: Apache-2.0 */
/* alert_store: the alert tables in PostgreSQL (see alert_store.h). */
#include "alert_store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pgutil.h"
#include "rates.h"

/* A double as a query parameter; NULL (SQL NULL) when NaN. */
static const char *dparam(double v, char *buf, size_t len)
{
    if (isnan(v))
        return NULL;
    snprintf(buf, len, "%.17g", v);
    return buf;
}

/* A unix time as a query parameter; NULL (SQL NULL) for none. */
static const char *tparam(time_t t, char *buf, size_t len)
{
    if (t <= 0)
        return NULL;
    snprintf(buf, len, "%lld", (long long)t);
    return buf;
}

int alert_store_save_daily(PGconn *conn, const struct model *m, char *err, size_t errlen)
{
    static const char SQL[] =
        "INSERT INTO indicator_daily (day, period, agency, on_time_ratio,"
        " resolved_on_time_ratio, online_dossier_ratio, postal_receipt_ratio,"
        " postal_return_ratio, carried_over, received_online, received_direct,"
        " received_postal, resolved_early, resolved_on_time, resolved_late, pending_within,"
        " pending_overdue, computed_at)"
        " VALUES ($1::date, $2, $3, $4::float8, $5::float8, $6::float8, $7::float8,"
        " $8::float8, $9::bigint, $10::bigint, $11::bigint, $12::bigint, $13::bigint,"
        " $14::bigint, $15::bigint, $16::bigint, $17::bigint, now())"
        " ON CONFLICT (day, period, agency) DO UPDATE SET"
        " on_time_ratio = EXCLUDED.on_time_ratio,"
        " resolved_on_time_ratio = EXCLUDED.resolved_on_time_ratio,"
        " online_dossier_ratio = EXCLUDED.online_dossier_ratio,"
        " postal_receipt_ratio = EXCLUDED.postal_receipt_ratio,"
        " postal_return_ratio = EXCLUDED.postal_return_ratio,"
        " carried_over = EXCLUDED.carried_over, received_online = EXCLUDED.received_online,"
        " received_direct = EXCLUDED.received_direct,"
        " received_postal = EXCLUDED.received_postal,"
        " resolved_early = EXCLUDED.resolved_early,"
        " resolved_on_time = EXCLUDED.resolved_on_time,"
        " resolved_late = EXCLUDED.resolved_late, pending_within = EXCLUDED.pending_within,"
        " pending_overdue = EXCLUDED.pending_overdue, computed_at = EXCLUDED.computed_at"
        /* Most computations change nothing: no new row version then. */
        " WHERE (indicator_daily.on_time_ratio, indicator_daily.resolved_on_time_ratio,"
        " indicator_daily.online_dossier_ratio, indicator_daily.postal_receipt_ratio,"
        " indicator_daily.postal_return_ratio, indicator_daily.carried_over,"
        " indicator_daily.received_online, indicator_daily.received_direct,"
        " indicator_daily.received_postal, indicator_daily.resolved_early,"
        " indicator_daily.resolved_on_time, indicator_daily.resolved_late,"
        " indicator_daily.pending_within, indicator_daily.pending_overdue)"
        " IS DISTINCT FROM (EXCLUDED.on_time_ratio, EXCLUDED.resolved_on_time_ratio,"
        " EXCLUDED.online_dossier_ratio, EXCLUDED.postal_receipt_ratio,"
        " EXCLUDED.postal_return_ratio, EXCLUDED.carried_over, EXCLUDED.received_online,"
        " EXCLUDED.received_direct, EXCLUDED.received_postal, EXCLUDED.resolved_early,"
        " EXCLUDED.resolved_on_time, EXCLUDED.resolved_late, EXCLUDED.pending_within,"
        " EXCLUDED.pending_overdue)";
    char day[11], d[5][32], c[9][24];
    const char *params[17];
    int rc = -1;

    ldate_format(&m->today, day);
    if (pg_exec_ok(conn, "BEGIN", err, errlen) != 0)
        return -1;
    for (int k = 0; k < PK_COUNT; k++) {
        const struct b06_table *t = &m->tables[k];
        for (size_t i = 0; i <= t->nrows; i++) {
            const char *agency;
            const struct b06_row *r = rates_row_at(t, i, &agency);
            const double ratios[5] = {r->r.on_time, r->r.resolved_on_time, r->r.online_dossier,
                                      r->r.postal_receipt, r->r.postal_return};
            const long counts[9] = {
                r->c.carried_over,    r->c.received_online, r->c.received_direct,
                r->c.received_postal, r->c.resolved_early,  r->c.resolved_on_time,
                r->c.resolved_late,   r->c.pending_within,  r->c.pending_overdue};
            params[0] = day;
            params[1] = m->periods[k].label;
            params[2] = agency;
            for (int j = 0; j < 5; j++)
                params[3 + j] = dparam(ratios[j], d[j], sizeof d[j]);
            for (int j = 0; j < 9; j++) {
                snprintf(c[j], sizeof c[j], "%ld", counts[j]);
                params[8 + j] = c[j];
            }
            if (pg_exec_params(conn, SQL, 17, params, "storing the daily indicators", err,
                               errlen) != 0)
                goto cleanup;
        }
    }
    if (pg_exec_ok(conn, "COMMIT", err, errlen) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    if (rc != 0)
        pg_exec_ok(conn, "ROLLBACK", NULL, 0);
    return rc;
}

int alert_store_load_prev(PGconn *conn, const struct ldate *lo, const struct ldate *hi,
                          struct alert_store_prev *out, char *err, size_t errlen)
{
    char los[11], his[11];
    const char *params[2] = {los, his};
    int n;

    memset(out, 0, sizeof *out);
    ldate_format(lo, los);
    ldate_format(hi, his);
    out->res = pg_query(conn,
                        "SELECT period, agency, on_time_ratio, to_char(day, 'YYYY-MM-DD')"
                        " FROM indicator_daily WHERE day BETWEEN $1::date AND $2::date"
                        " AND on_time_ratio IS NOT NULL",
                        2, params, "reading the daily indicators", err, errlen);
    if (!out->res)
        return -1;
    n = PQntuples(out->res);
    out->v = calloc(n > 0 ? (size_t)n : 1, sizeof *out->v);
    if (!out->v) {
        snprintf(err, errlen, "out of memory");
        alert_store_prev_clear(out);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        struct alert_prev_ratio *r = &out->v[out->n];
        r->period = PQgetvalue(out->res, i, 0);
        r->agency = PQgetvalue(out->res, i, 1);
        r->on_time = strtod(PQgetvalue(out->res, i, 2), NULL);
        if (ldate_parse(PQgetvalue(out->res, i, 3), &r->day) == 0)
            out->n++;
    }
    return 0;
}

void alert_store_prev_clear(struct alert_store_prev *p)
{
    if (!p)
        return;
    free(p->v);
    PQclear(p->res);
    memset(p, 0, sizeof *p);
}

static time_t col_time(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : (time_t)strtoll(PQgetvalue(res, row, col), NULL, 10);
}

int alert_store_load_states(PGconn *conn, struct alert_list *out, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, "SELECT state, labels::text, annotations::text, vals::text,"
                                 " extract(epoch FROM active_since)::bigint,"
                                 " extract(epoch FROM firing_since)::bigint,"
                                 " extract(epoch FROM last_notified)::bigint,"
                                 " extract(epoch FROM resolved_at)::bigint"
                                 " FROM alert_state ORDER BY fingerprint FOR UPDATE");
    int rc = -1;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_errf(err, errlen, res, conn, "reading alert_state");
        goto cleanup;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        const char *st = PQgetvalue(res, i, 0);
        json_t *labels = json_loads(PQgetvalue(res, i, 1), 0, NULL);
        json_t *ann = json_loads(PQgetvalue(res, i, 2), 0, NULL);
        json_t *vals = json_loads(PQgetvalue(res, i, 3), 0, NULL);
        if (!json_is_object(labels) || !ann || !vals) {
            /* Not ours to repair: a condition with the same labels overwrites it. */
            log_warn("alert", "alert_state row %d is unreadable; ignored", i);
            json_decref(labels);
            json_decref(ann);
            json_decref(vals);
            continue;
        }
        struct alert *a = alert_list_add(out, labels, ann, vals);
        if (!a) {
            snprintf(err, errlen, "reading alert_state: out of memory");
            goto cleanup;
        }
        a->state = alert_state_parse(st);
        a->active_since = col_time(res, i, 4);
        a->firing_since = col_time(res, i, 5);
        a->last_notified = col_time(res, i, 6);
        a->resolved_at = col_time(res, i, 7);
    }
    rc = 0;
cleanup:
    PQclear(res);
    return rc;
}

int alert_store_write_state(PGconn *conn, const struct alert *a, char *err, size_t errlen)
{
    static const char SQL[] =
        "INSERT INTO alert_state (fingerprint, alertname, state, labels, annotations, vals,"
        " active_since, firing_since, last_notified, resolved_at, updated_at)"
        " VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb,"
        " to_timestamp($7::float8), to_timestamp($8::float8), to_timestamp($9::float8),"
        " to_timestamp($10::float8), now())"
        " ON CONFLICT (fingerprint) DO UPDATE SET alertname = EXCLUDED.alertname,"
        " state = EXCLUDED.state, labels = EXCLUDED.labels,"
        " annotations = EXCLUDED.annotations, vals = EXCLUDED.vals,"
        " active_since = EXCLUDED.active_since, firing_since = EXCLUDED.firing_since,"
        " last_notified = EXCLUDED.last_notified, resolved_at = EXCLUDED.resolved_at,"
        " updated_at = now()";
    char t[4][24];
    char *labels = json_dumps(a->labels, JSON_COMPACT | JSON_SORT_KEYS);
    char *ann = json_dumps(a->annotations, JSON_COMPACT);
    char *vals = json_dumps(a->values, JSON_COMPACT);
    int rc = -1;

    if (labels && ann && vals) {
        const char *params[10] = {a->fingerprint,
                                  alert_label(a, "alertname"),
                                  alert_state_name(a->state),
                                  labels,
                                  ann,
                                  vals,
                                  tparam(a->active_since, t[0], sizeof t[0]),
                                  tparam(a->firing_since, t[1], sizeof t[1]),
                                  tparam(a->last_notified, t[2], sizeof t[2]),
                                  tparam(a->resolved_at, t[3], sizeof t[3])};
        rc = pg_exec_params(conn, SQL, 10, params, "writing alert_state", err, errlen);
    } else {
        snprintf(err, errlen, "writing alert_state: out of memory");
    }
    free(labels);
    free(ann);
    free(vals);
    return rc;
}

int alert_store_delete_state(PGconn *conn, const char *fingerprint, char *err, size_t errlen)
{
    const char *params[1] = {fingerprint};

    return pg_exec_params(conn, "DELETE FROM alert_state WHERE fingerprint = $1", 1, params,
                          "deleting from alert_state", err, errlen);
}

int alert_store_prune_daily(PGconn *conn, const struct ldate *before, char *err, size_t errlen)
{
    char day[11];
    const char *params[1] = {day};

    ldate_format(before, day);
    return pg_exec_params(conn, "DELETE FROM indicator_daily WHERE day < $1::date", 1, params,
                          "pruning indicator_daily", err, errlen);
}
