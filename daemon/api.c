/* SPDX-License-Identifier: Apache-2.0 */
/* api: /api/v1/report (Biểu 06 for any period) and /api/v1/overdue. */
#include "api.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "log.h"
#include "overdue_page.h"
#include "pgutil.h"
#include "rates.h"
#include "rollup.h"
#include "util.h"

struct api_conn {
    pthread_mutex_t lock;
    PGconn *conn;
    PGcancel *cancel;    /* guarded by api.cancel_lock: used by api_cancel_all */
    unsigned generation; /* settings generation it was opened with */
};

struct api {
    pthread_mutex_t lock; /* guards the settings below */
    char *conninfo;
    char *password;
    char *as_of;
    unsigned generation;
    pthread_mutex_t cancel_lock;
    struct api_conn pool[API_POOL_SIZE];
};

/* Closes a slot's connection (the caller holds the slot's lock). */
static void conn_close(struct api *a, struct api_conn *c)
{
    pthread_mutex_lock(&a->cancel_lock);
    if (c->cancel)
        PQfreeCancel(c->cancel);
    c->cancel = NULL;
    pthread_mutex_unlock(&a->cancel_lock);
    if (c->conn)
        PQfinish(c->conn);
    c->conn = NULL;
}

void api_cancel_all(struct api *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->cancel_lock);
    for (int i = 0; i < API_POOL_SIZE; i++) {
        char buf[128];
        if (a->pool[i].cancel)
            PQcancel(a->pool[i].cancel, buf, sizeof buf);
    }
    pthread_mutex_unlock(&a->cancel_lock);
}

static void settings_take(struct api *a, const struct config *cfg)
{
    free(a->conninfo);
    free(a->password);
    free(a->as_of);
    a->conninfo = xstrdup(cfg->db_conninfo);
    a->password = xstrdup(cfg->db_password);
    a->as_of = xstrdup(cfg->as_of);
    a->generation++;
}

struct api *api_new(const struct config *cfg)
{
    struct api *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    pthread_mutex_init(&a->lock, NULL);
    pthread_mutex_init(&a->cancel_lock, NULL);
    for (int i = 0; i < API_POOL_SIZE; i++)
        pthread_mutex_init(&a->pool[i].lock, NULL);
    settings_take(a, cfg);
    return a;
}

void api_update(struct api *a, const struct config *cfg)
{
    pthread_mutex_lock(&a->lock);
    settings_take(a, cfg);
    pthread_mutex_unlock(&a->lock);
}

void api_free(struct api *a)
{
    if (!a)
        return;
    for (int i = 0; i < API_POOL_SIZE; i++) {
        conn_close(a, &a->pool[i]);
        pthread_mutex_destroy(&a->pool[i].lock);
    }
    pthread_mutex_destroy(&a->cancel_lock);
    pthread_mutex_destroy(&a->lock);
    free(a->conninfo);
    free(a->password);
    free(a->as_of);
    free(a);
}

/* Today in Vietnam, or the pinned as_of. */
static struct ldate api_today(struct api *a)
{
    struct ldate d = ldate_from_time(time(NULL));
    pthread_mutex_lock(&a->lock);
    if (a->as_of)
        ldate_parse(a->as_of, &d);
    pthread_mutex_unlock(&a->lock);
    return d;
}

/* A free pooled connection, locked; NULL when all are busy or the database is down
 * (*busy tells which). */
static struct api_conn *conn_acquire(struct api *a, int *busy)
{
    *busy = 1;
    for (int i = 0; i < API_POOL_SIZE; i++) {
        struct api_conn *c = &a->pool[i];
        if (pthread_mutex_trylock(&c->lock) != 0)
            continue;
        *busy = 0;
        /* Copy the settings under the lock and connect outside it: a slow connect must
         * not hold up the other requests or a reload. */
        pthread_mutex_lock(&a->lock);
        unsigned gen = a->generation;
        char *conninfo = xstrdup(a->conninfo), *password = xstrdup(a->password);
        pthread_mutex_unlock(&a->lock);
        if (c->conn && (c->generation != gen || PQstatus(c->conn) != CONNECTION_OK))
            conn_close(a, c);
        if (!c->conn) {
            c->conn = pg_connect(conninfo, password, "onestopd-api");
            c->generation = gen;
            if (PQstatus(c->conn) == CONNECTION_OK) {
                PGcancel *cancel = PQgetCancel(c->conn);
                pthread_mutex_lock(&a->cancel_lock);
                c->cancel = cancel;
                pthread_mutex_unlock(&a->cancel_lock);
            }
        }
        if (password)
            explicit_bzero(password, strlen(password));
        free(password);
        free(conninfo);
        if (PQstatus(c->conn) == CONNECTION_OK &&
            pg_exec_ok(c->conn,
                       "SET statement_timeout = " STR(
                           API_STATEMENT_TIMEOUT_MS) "; SET default_transaction_read_only = on",
                       NULL, 0) == 0)
            return c;
        char err[256];
        pg_errf(err, sizeof err, NULL, c->conn, "api database connection");
        log_warn("api", "%s", err);
        conn_close(a, c);
        pthread_mutex_unlock(&c->lock);
        return NULL;
    }
    return NULL;
}

static void conn_release(struct api_conn *c)
{
    pthread_mutex_unlock(&c->lock);
}

static void reply_take(struct http_reply *out, unsigned status, const char *ctype, char *body,
                       size_t len)
{
    out->status = status;
    out->content_type = ctype;
    out->body = body;
    out->len = len;
}

static json_t *json_ratio(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

static json_t *row_json(const struct b06_row *r, int with_name)
{
    const struct b06_counts *c = &r->c;
    json_t *o = json_object();
    json_object_set_new(o, "agency", json_string(r->agency));
    if (with_name)
        json_object_set_new(o, "name", r->name ? json_string(r->name) : json_null());
    json_object_set_new(o, "carried_over", json_integer(c->carried_over));
    json_object_set_new(o, "received",
                        json_pack("{sIsIsI}", "online", (json_int_t)c->received_online, "direct",
                                  (json_int_t)c->received_direct, "postal",
                                  (json_int_t)c->received_postal));
    json_object_set_new(o, "resolved",
                        json_pack("{sIsIsI}", "early", (json_int_t)c->resolved_early, "on_time",
                                  (json_int_t)c->resolved_on_time, "late",
                                  (json_int_t)c->resolved_late));
    json_object_set_new(o, "pending",
                        json_pack("{sIsI}", "within", (json_int_t)c->pending_within, "overdue",
                                  (json_int_t)c->pending_overdue));
    json_object_set_new(o, "on_time_ratio", json_ratio(r->r.on_time));
    json_object_set_new(o, "resolved_on_time_ratio", json_ratio(r->r.resolved_on_time));
    json_object_set_new(o, "online_dossier_ratio", json_ratio(r->r.online_dossier));
    json_object_set_new(o, "postal_receipt_ratio", json_ratio(r->r.postal_receipt));
    json_object_set_new(o, "postal_return_ratio", json_ratio(r->r.postal_return));
    return o;
}

char *api_report_json(const struct b06_table *t, size_t *len)
{
    char from[11], to[11];
    ldate_format(&t->from, from);
    ldate_format(&t->to, to);
    json_t *rows = json_array();
    for (size_t i = 0; i < t->nrows; i++)
        json_array_append_new(rows, row_json(&t->rows[i], 1));
    json_t *root = json_pack("{sssssoso}", "from", from, "to", to, "rows", rows, "total",
                             row_json(&t->total, 0));
    char *s = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(root);
    if (s && len)
        *len = strlen(s);
    return s;
}

/* RFC 4180 field: quoted when it holds a comma, quote or line break. */
static void csv_field(struct buf *b, const char *v)
{
    if (!v)
        return;
    if (!strpbrk(v, ",\"\r\n")) {
        buf_puts(b, v);
        return;
    }
    buf_append(b, "\"", 1);
    for (const char *p = v; *p; p++) {
        if (*p == '"')
            buf_append(b, "\"", 1);
        buf_append(b, p, 1);
    }
    buf_append(b, "\"", 1);
}

static void csv_row(struct buf *b, const struct b06_row *r)
{
    const struct b06_counts *c = &r->c;
    const double ratios[] = {r->r.on_time, r->r.resolved_on_time, r->r.online_dossier,
                             r->r.postal_receipt, r->r.postal_return};
    csv_field(b, r->agency);
    buf_append(b, ",", 1);
    csv_field(b, r->name);
    buf_printf(b, ",%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld", c->carried_over, c->received_online,
               c->received_direct, c->received_postal, c->resolved_early, c->resolved_on_time,
               c->resolved_late, c->pending_within, c->pending_overdue);
    for (size_t i = 0; i < ARRAY_LEN(ratios); i++) {
        if (isnan(ratios[i]))
            buf_append(b, ",", 1);
        else
            buf_printf(b, ",%.6f", ratios[i]);
    }
    buf_append(b, "\r\n", 2);
}

char *api_report_csv(const struct b06_table *t, size_t *len)
{
    struct buf b;
    buf_init(&b);
    /* The BOM makes Excel read the file as UTF-8; CRLF is what RFC 4180 and Excel use. */
    buf_puts(&b, "\xEF\xBB\xBF");
    buf_puts(&b, "Mã đơn vị,Tên đơn vị,Từ kỳ trước,Tiếp nhận trực tuyến,Tiếp nhận trực tiếp,"
                 "Tiếp nhận qua bưu chính,Giải quyết trước hạn,Giải quyết đúng hạn,"
                 "Giải quyết quá hạn,Đang giải quyết trong hạn,Đang giải quyết quá hạn,"
                 "Tỷ lệ đúng hạn (766),Tỷ lệ giải quyết đúng hạn,Tỷ lệ hồ sơ trực tuyến,"
                 "Tỷ lệ tiếp nhận qua bưu chính,Tỷ lệ trả kết quả qua bưu chính\r\n");
    for (size_t i = 0; i < t->nrows; i++)
        csv_row(&b, &t->rows[i]);
    csv_row(&b, &t->total);
    if (b.oom) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b, len);
}

static int arg_date(const struct http_request *req, const char *name, struct ldate *out,
                    struct http_reply *rep)
{
    const char *v = req->arg(req->conn, name);
    if (!v || !*v) {
        http_reply_error(rep, 400, name, "required, as YYYY-MM-DD");
        return -1;
    }
    if (strlen(v) != 10 || ldate_parse(v, out) != 0) {
        http_reply_error(rep, 400, name, "not a date: expected YYYY-MM-DD");
        return -1;
    }
    return 0;
}

/* A query argument must be valid UTF-8 before it goes near the database. */
static int arg_utf8(const char *v, const char *name, struct http_reply *rep)
{
    utf8proc_int32_t cp;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)v;
    utf8proc_ssize_t left = (utf8proc_ssize_t)strlen(v);
    while (left > 0) {
        utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
        if (n <= 0) {
            http_reply_error(rep, 400, name, "not valid UTF-8");
            return -1;
        }
        p += n;
        left -= n;
    }
    return 0;
}

/* The optional agency= parameter: absent, or a non-empty UTF-8 code. 0, or -1 with the
 * 400 reply written. */
static int arg_agency(const char *agency, struct http_reply *rep)
{
    if (!agency)
        return 0;
    if (!*agency) {
        http_reply_error(rep, 400, "agency", "empty agency code");
        return -1;
    }
    return arg_utf8(agency, "agency", rep);
}

static struct api_conn *need_conn(struct api *a, struct http_reply *rep)
{
    int busy;
    struct api_conn *c = conn_acquire(a, &busy);
    if (!c) {
        http_reply_error(rep, 503, NULL,
                         busy ? "busy: too many report requests, retry shortly"
                              : "database unavailable");
        rep->retry_after_s = busy ? 1 : 5;
    }
    return c;
}

int api_parse_report(const struct http_request *req, struct api_report_query *q,
                     struct http_reply *rep)
{
    memset(q, 0, sizeof *q);
    q->agency = req->arg(req->conn, "agency");
    const char *format = req->arg(req->conn, "format");

    if (arg_date(req, "from", &q->from, rep) != 0 || arg_date(req, "to", &q->to, rep) != 0)
        return -1;
    if (ldate_cmp(&q->from, &q->to) > 0) {
        http_reply_error(rep, 400, "from", "from is after to");
        return -1;
    }
    if (format && strcmp(format, "csv") == 0) {
        q->csv = 1;
    } else if (format && strcmp(format, "json") != 0) {
        http_reply_error(rep, 400, "format", "unknown format: expected json or csv");
        return -1;
    }
    return arg_agency(q->agency, rep);
}

static void handle_report(struct api *a, const struct http_request *req, struct http_reply *rep)
{
    struct api_report_query q;
    struct ldate today = api_today(a);
    struct b06_table t = {0};
    char err[512];

    if (api_parse_report(req, &q, rep) != 0)
        return;
    const char *agency = q.agency;
    struct ldate from = q.from, to = q.to;
    int csv = q.csv;
    struct api_conn *c = need_conn(a, rep);
    if (!c)
        return;
    /* Pending is counted at `to`, or today when `to` lies in the future. */
    struct ldate pending_at = ldate_cmp(&to, &today) > 0 ? today : to;
    /* One snapshot for the agency list and the counts, so the rows add up to the total. */
    int rc =
        pg_exec_ok(c->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, sizeof err);
    if (rc == 0)
        rc = rollup_table(c->conn, &from, &to, &pending_at, agency, &t, err, sizeof err);
    pg_exec_ok(c->conn, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, 0);
    conn_release(c);
    if (rc != 0) {
        log_warn("api", "report: %s", err);
        http_reply_error(rep, 500, NULL, "the report could not be computed");
        return;
    }
    if (agency && t.nrows == 0) {
        http_reply_error(rep, 400, "agency", "unknown agency");
        goto cleanup;
    }
    size_t len = 0;
    char *body = csv ? api_report_csv(&t, &len) : api_report_json(&t, &len);
    if (!body) {
        http_reply_error(rep, 500, NULL, "out of memory");
        goto cleanup;
    }
    reply_take(rep, 200, csv ? "text/csv; charset=utf-8" : "application/json", body, len);
    if (csv)
        rep->content_disposition = "attachment; filename=\"bieu06.csv\"";
cleanup:
    rates_table_clear(&t);
}

/* Pending now and past due, not waiting on the applicant (5, 6, 8). */
static const char *const OVERDUE_LIST_SQL =
    "SELECT code, procedure_code, procedure_name, agency, agency_name,"
    " to_char(due_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"+07:00\"'),"
    " $1::date - due_at::date, apologies > 0, status"
    " FROM dossiers"
    " WHERE status IN (2, 4, 7, 9, 10) AND received_at::date <= $1::date"
    " AND (status IN (2, 4) OR finished_at::date > $1::date)"
    " AND due_at::date < $1::date AND ($2::text IS NULL OR agency = $2::text)"
    " ORDER BY due_at, code COLLATE \"C\" LIMIT $3::int";

static const char *const AGENCY_KNOWN_SQL =
    "SELECT EXISTS (SELECT 1 FROM dossiers WHERE agency = $1)"
    " OR EXISTS (SELECT 1 FROM procedures WHERE agency = $1)";

static int agency_known(PGconn *conn, const char *agency, char *err, size_t errlen)
{
    const char *params[1] = {agency};
    PGresult *res = PQexecParams(conn, AGENCY_KNOWN_SQL, 1, NULL, params, NULL, NULL, 0);
    int rc = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        pg_errf(err, errlen, res, conn, "agency lookup");
    else
        rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return rc;
}

static void handle_overdue(struct api *a, const struct http_request *req, struct http_reply *rep)
{
    const char *agency = req->arg(req->conn, "agency");
    const char *limit_s = req->arg(req->conn, "limit");
    struct ldate today = api_today(a);
    char today_s[11], limit_buf[16], err[512];
    long limit = API_OVERDUE_DEFAULT_LIMIT;
    PGresult *res = NULL;

    if (limit_s) {
        char *end;
        limit = strtol(limit_s, &end, 10);
        if (!*limit_s || *end || limit < 1 || limit > API_OVERDUE_MAX_LIMIT) {
            http_reply_error(rep, 400, "limit", "expected a whole number from 1 to 1000");
            return;
        }
    }
    if (arg_agency(agency, rep) != 0)
        return;
    struct api_conn *c = need_conn(a, rep);
    if (!c)
        return;
    if (agency) {
        int known = agency_known(c->conn, agency, err, sizeof err);
        if (known <= 0) {
            conn_release(c);
            if (known < 0)
                http_reply_error(rep, 500, NULL, "the list could not be computed");
            else
                http_reply_error(rep, 400, "agency", "unknown agency");
            return;
        }
    }
    ldate_format(&today, today_s);
    snprintf(limit_buf, sizeof limit_buf, "%ld", limit);
    const char *params[3] = {today_s, agency, limit_buf};
    res = PQexecParams(c->conn, OVERDUE_LIST_SQL, 3, NULL, params, NULL, NULL, 0);
    conn_release(c);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_errf(err, sizeof err, res, NULL, "overdue list");
        log_warn("api", "%s", err);
        http_reply_error(rep, 500, NULL, "the list could not be computed");
        goto cleanup;
    }
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *o = json_object();
        const char *keys[] = {"code",   "procedure",   "procedure_name",
                              "agency", "agency_name", "due"};
        for (int k = 0; k < 6; k++)
            json_object_set_new(o, keys[k],
                                PQgetisnull(res, i, k) ? json_null()
                                                       : json_string(PQgetvalue(res, i, k)));
        json_object_set_new(o, "days_overdue", json_integer(pg_long(res, i, 6, 0)));
        json_object_set_new(o, "apology", json_boolean(strcmp(PQgetvalue(res, i, 7), "t") == 0));
        json_object_set_new(o, "status", json_integer(pg_long(res, i, 8, 0)));
        json_array_append_new(items, o);
    }
    json_t *root = json_pack("{sssosi}", "as_of", today_s, "dossiers", items, "limit", (int)limit);
    char *body = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!body)
        http_reply_error(rep, 500, NULL, "out of memory");
    else
        reply_take(rep, 200, "application/json", body, strlen(body));
cleanup:
    PQclear(res);
}

void api_handle(void *ctx, const struct http_request *req, struct http_reply *out)
{
    struct api *a = ctx;
    if (strcmp(req->path, "/api/v1/report") == 0)
        handle_report(a, req, out);
    else if (strcmp(req->path, "/api/v1/overdue") == 0)
        handle_overdue(a, req, out);
    else if (strcmp(req->path, "/qua-han") == 0)
        overdue_page_handle(api_handle, a, req, out); /* HTML view of /api/v1/overdue */
    else
        http_reply_error(out, 404, NULL, "no such endpoint");
}
