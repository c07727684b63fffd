/* SPDX-License-Identifier: Apache-2.0 */
/* met: renders the model into the Prometheus text exposition format 0.0.4 (docs/metrics.md,
 * "Exposition"). Every family always gets its HELP and TYPE lines, samples or not: the
 * text format allows an empty family and it keeps the page's shape stable. */
#include "metrics.h"

#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "version.h"

struct lbl {
    const char *k, *v;
};

/* sample() with an inline label list: SAMPLE(out, "name", 1.0, {"a", x}, {"b", y}). */
#define SAMPLE(out, name, value, ...)                                                              \
    sample((out), (name), (const struct lbl[]){__VA_ARGS__},                                       \
           sizeof((const struct lbl[]){__VA_ARGS__}) / sizeof(struct lbl), (value))

void met_escape_label(struct buf *out, const char *v)
{
    const char *run = v;

    if (!v)
        return;
    /* Copies unescaped runs in one go; only \, " and newline need an escape. */
    for (const char *p = v; *p; p++) {
        const char *esc = NULL;
        if (*p == '\\')
            esc = "\\\\";
        else if (*p == '"')
            esc = "\\\"";
        else if (*p == '\n')
            esc = "\\n";
        if (!esc)
            continue;
        buf_append(out, run, (size_t)(p - run));
        buf_puts(out, esc);
        run = p + 1;
    }
    buf_puts(out, run);
}

void met_format_value(struct buf *out, double v)
{
    char tmp[40];

    if (isnan(v)) {
        buf_puts(out, "NaN");
        return;
    }
    if (isinf(v)) {
        buf_puts(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == 0) {
        buf_puts(out, "0"); /* also -0 */
        return;
    }
    /* Whole numbers (counts, timestamps) print exactly, with no exponent. */
    if (v == trunc(v) && fabs(v) < 1e21) {
        buf_printf(out, "%.0f", v);
        return;
    }
    /* The shortest %g that reads back as the same double. */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    buf_puts(out, tmp);
}

/* HELP text escapes only backslash and newline. */
static void help_escape(struct buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            buf_puts(out, "\\\\");
        else if (*s == '\n')
            buf_puts(out, "\\n");
        else
            buf_append(out, s, 1);
    }
}

static void family(struct buf *out, const char *name, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s ", name);
    help_escape(out, help);
    buf_printf(out, "\n# TYPE %s %s\n", name, type);
}

static void sample(struct buf *out, const char *name, const struct lbl *l, size_t n, double v)
{
    buf_puts(out, name);
    if (n > 0) {
        buf_puts(out, "{");
        for (size_t i = 0; i < n; i++) {
            buf_printf(out, "%s%s=\"", i ? "," : "", l[i].k);
            met_escape_label(out, l[i].v);
            buf_puts(out, "\"");
        }
        buf_puts(out, "}");
    }
    buf_puts(out, " ");
    met_format_value(out, v);
    buf_puts(out, "\n");
}

static void sample0(struct buf *out, const char *name, double v)
{
    sample(out, name, NULL, 0, v);
}

/* ---- Biểu 06 counts and ratios, per agency row (and ALL) and period ---- */

struct count_family {
    const char *name, *help, *key; /* key: the extra label, NULL for none */
    size_t n;
    struct {
        const char *val;
        size_t off; /* of a long in struct b06_counts */
    } s[3];
};

#define CNT(f) offsetof(struct b06_counts, f)
static const struct count_family COUNT_FAMILIES[] = {
    {"onestop_dossiers_carried_over",
     "Dossiers received before the period and still open at its first day (Biểu 06)",
     NULL,
     1,
     {{NULL, CNT(carried_over)}}},
    {"onestop_dossiers_received",
     "Dossiers newly received in the period, by channel (online 2, direct 1 or absent, "
     "postal 3)",
     "channel",
     3,
     {{"online", CNT(received_online)},
      {"direct", CNT(received_direct)},
      {"postal", CNT(received_postal)}}},
    {"onestop_dossiers_resolved",
     "Dossiers resolved (status 9, 10) or withdrawn (7) in the period, by timeliness: early "
     "(finish < due), on_time (finish = due, no due date, or withdrawn), late (finish > due)",
     "timeliness",
     3,
     {{"early", CNT(resolved_early)},
      {"on_time", CNT(resolved_on_time)},
      {"late", CNT(resolved_late)}}},
    {"onestop_dossiers_pending",
     "Dossiers still in progress at the period's end (or today): within deadline (no due "
     "date, due >= that day, or status 5, 6, 8) or overdue",
     "timeliness",
     2,
     {{"within", CNT(pending_within)}, {"overdue", CNT(pending_overdue)}}},
};

struct ratio_family {
    const char *name, *help;
    size_t off; /* of a double in struct b06_ratios */
};

#define RAT(f) offsetof(struct b06_ratios, f)
static const struct ratio_family RATIO_FAMILIES[] = {
    {"onestop_on_time_ratio",
     "Decision 766 indicator 2.1: (resolved early + on time + pending within deadline) / "
     "(resolved + pending); absent when the denominator is 0",
     RAT(on_time)},
    {"onestop_resolved_on_time_ratio",
     "(Resolved early + on time) / resolved, the classic report figure; absent when nothing "
     "was resolved",
     RAT(resolved_on_time)},
    {"onestop_online_dossier_ratio",
     "Dossiers received online / dossiers received in the period (plan target 4); absent "
     "when nothing was received",
     RAT(online_dossier)},
    {"onestop_postal_receipt_ratio",
     "Dossiers received by public post / dossiers received in the period; absent when "
     "nothing was received",
     RAT(postal_receipt)},
    {"onestop_postal_return_ratio",
     "Resolved dossiers (status 9, 10) returned by public post (HinhThuc=1) / resolved "
     "dossiers (status 9, 10); absent when there are none",
     RAT(postal_return)},
};

static long count_at(const struct b06_row *r, size_t off)
{
    return *(const long *)((const char *)&r->c + off);
}

static double ratio_at(const struct b06_row *r, size_t off)
{
    return *(const double *)((const char *)&r->r + off);
}

/* Row i of table t, where i == t->nrows is the province total. */
static const struct b06_row *row_at(const struct b06_table *t, size_t i)
{
    return i < t->nrows ? &t->rows[i] : &t->total;
}

static const char *row_agency(const struct b06_table *t, size_t i)
{
    const struct b06_row *r = row_at(t, i);
    /* The total is ALL whatever its agency field holds (a zeroed model has NULL). */
    return i < t->nrows ? r->agency : "ALL";
}

static void render_counts(const struct model *m, int computed, struct buf *out)
{
    for (size_t f = 0; f < ARRAY_LEN(COUNT_FAMILIES); f++) {
        const struct count_family *cf = &COUNT_FAMILIES[f];
        family(out, cf->name, "gauge", cf->help);
        if (!computed)
            continue;
        for (int k = 0; k < PK_COUNT; k++) {
            const struct b06_table *t = &m->tables[k];
            const char *period = m->periods[k].label;
            for (size_t i = 0; i <= t->nrows; i++) {
                const struct b06_row *r = row_at(t, i);
                const char *agency = row_agency(t, i);
                for (size_t j = 0; j < cf->n; j++) {
                    double v = (double)count_at(r, cf->s[j].off);
                    if (cf->key)
                        SAMPLE(out, cf->name, v, {"agency", agency}, {"period", period},
                               {cf->key, cf->s[j].val});
                    else
                        SAMPLE(out, cf->name, v, {"agency", agency}, {"period", period});
                }
            }
        }
    }
}

static void render_overdue(const struct model *m, int computed, struct buf *out)
{
    static const char name[] = "onestop_dossiers_overdue_without_apology";
    family(out, name, "gauge",
           "Dossiers pending today and overdue, not in status 5, 6, 8, with no apology slip "
           "(PhieuXinLoi)");
    if (!computed)
        return;
    for (size_t i = 0; i < m->noverdue; i++)
        SAMPLE(out, name, (double)m->overdue[i].count, {"agency", m->overdue[i].agency});
}

static void render_ratios(const struct model *m, int computed, struct buf *out)
{
    for (size_t f = 0; f < ARRAY_LEN(RATIO_FAMILIES); f++) {
        const struct ratio_family *rf = &RATIO_FAMILIES[f];
        family(out, rf->name, "gauge", rf->help);
        if (!computed)
            continue;
        for (int k = 0; k < PK_COUNT; k++) {
            const struct b06_table *t = &m->tables[k];
            for (size_t i = 0; i <= t->nrows; i++) {
                double v = ratio_at(row_at(t, i), rf->off);
                if (isnan(v))
                    continue; /* denominator 0: no series */
                SAMPLE(out, rf->name, v, {"agency", row_agency(t, i)},
                       {"period", m->periods[k].label});
            }
        }
    }
}

/* ---- catalogue ---- */

enum proc_ratio { PR_ONLINE, PR_FULL_ONLINE, PR_POSTAL, PR_COUNT };

static double proc_ratio(const struct proc_counts *p, enum proc_ratio which)
{
    long num = which == PR_ONLINE        ? p->online
               : which == PR_FULL_ONLINE ? p->full_online
                                         : p->postal;
    return model_ratio(num, p->total);
}

static int proc_cmp(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const struct proc_counts *)elem)->agency);
}

/* The catalogue counts of agency ("ALL" = the province), NULL when it has none. */
static const struct proc_counts *find_procs(const struct model *m, const char *agency)
{
    if (strcmp(agency, "ALL") == 0)
        return &m->proc_all;
    if (m->nprocs == 0)
        return NULL;
    return bsearch(agency, m->procs, m->nprocs, sizeof *m->procs, proc_cmp);
}

static void render_proc_ratios(const struct model *m, int computed, struct buf *out)
{
    static const struct {
        const char *name, *help;
    } fams[PR_COUNT] = {
        {"onestop_online_procedure_ratio",
         "Catalogue procedures offered online at level 3 or 4 (MucDo 3, 4) / all catalogue "
         "procedures (plan target 5); absent when the agency has none"},
        {"onestop_full_online_procedure_ratio",
         "Catalogue procedures offered fully online (MucDo 4) / all catalogue procedures; "
         "absent when the agency has none"},
        {"onestop_postal_procedure_ratio",
         "Catalogue procedures offering receipt and return by public post "
         "(BuuChinhCongIch=1) / all catalogue procedures (plan target 6); absent when the "
         "agency has none"},
    };
    for (int f = 0; f < PR_COUNT; f++) {
        family(out, fams[f].name, "gauge", fams[f].help);
        if (!computed)
            continue;
        for (size_t i = 0; i <= m->nprocs; i++) {
            const struct proc_counts *p = i < m->nprocs ? &m->procs[i] : &m->proc_all;
            double v = proc_ratio(p, (enum proc_ratio)f);
            if (isnan(v))
                continue;
            SAMPLE(out, fams[f].name, v, {"agency", i < m->nprocs ? p->agency : "ALL"});
        }
    }
}

/* ---- targets ---- */

double met_indicator_ratio(const struct model *m, enum target_indicator ind,
                           const struct b06_row *r, const char *agency)
{
    const struct proc_counts *p;

    switch (ind) {
    case TGT_ONLINE_DOSSIER:
        return r->r.online_dossier;
    case TGT_ON_TIME:
        return r->r.on_time;
    case TGT_ONLINE_PROCEDURE:
    case TGT_POSTAL_PROCEDURE:
        p = find_procs(m, agency);
        if (!p)
            return NAN;
        return proc_ratio(p, ind == TGT_ONLINE_PROCEDURE ? PR_ONLINE : PR_POSTAL);
    }
    return NAN;
}

int met_target_met(enum target_indicator ind, double ratio, double target)
{
    if (isnan(ratio) || isnan(target))
        return -1;
    /* The plan asks to beat the previous year: on time must be strictly greater. */
    return ind == TGT_ON_TIME ? ratio > target : ratio >= target;
}

static void render_targets(const struct model *m, int computed, struct buf *out)
{
    static const char ratio_name[] = "onestop_target_ratio";
    static const char met_name[] = "onestop_target_met";

    family(out, ratio_name, "gauge",
           "Yearly target of each plan indicator (on_time: the previous year's province-wide "
           "on-time ratio or the configured baseline); absent when unknown");
    if (computed)
        for (int t = 0; t < TGT_COUNT; t++)
            if (!isnan(m->targets[t]))
                SAMPLE(out, ratio_name, m->targets[t], {"indicator", model_target_names[t]});

    family(out, met_name, "gauge",
           "1 when the indicator's ratio meets its target (ratio >= target; strictly greater "
           "for on_time), 0 otherwise; absent when the ratio or the target is absent. "
           "Procedure indicators have no period and repeat under every period label");
    if (!computed)
        return;
    for (int t = 0; t < TGT_COUNT; t++) {
        double target = m->targets[t];
        if (isnan(target))
            continue;
        for (int k = 0; k < PK_COUNT; k++) {
            const struct b06_table *tab = &m->tables[k];
            for (size_t i = 0; i <= tab->nrows; i++) {
                const char *agency = row_agency(tab, i);
                double v = met_indicator_ratio(m, (enum target_indicator)t, row_at(tab, i), agency);
                int ok = met_target_met((enum target_indicator)t, v, target);
                if (ok < 0)
                    continue;
                SAMPLE(out, met_name, ok ? 1.0 : 0.0, {"indicator", model_target_names[t]},
                       {"agency", agency}, {"period", m->periods[k].label});
            }
        }
    }
}

static void render_agency_info(const struct model *m, int computed, struct buf *out)
{
    static const char name[] = "onestop_agency_info";
    const struct b06_table *t = &m->tables[PK_YEAR]; /* every table lists the same agencies */

    family(out, name, "gauge",
           "Always 1: the agency's name (DonViXuLy of its most recently updated stored "
           "dossier, NFC)");
    if (!computed)
        return;
    for (size_t i = 0; i < t->nrows; i++)
        if (t->rows[i].name && t->rows[i].name[0])
            SAMPLE(out, name, 1.0, {"agency", t->rows[i].agency}, {"name", t->rows[i].name});
}

/* ---- store ---- */

static void render_store(const struct model *m, int computed, struct buf *out)
{
    family(out, "onestop_postal_shipments", "gauge",
           "Stored VNPost shipments by direction and status (no period); unknown status codes "
           "count as in_transit");
    if (computed)
        for (int d = 0; d < 2; d++)
            for (int s = 0; s < SHIP_STATUS_COUNT; s++)
                SAMPLE(out, "onestop_postal_shipments", (double)m->shipments[d][s],
                       {"direction", model_ship_direction_names[d]},
                       {"status", model_ship_status_names[s]});

    family(out, "onestop_postal_unmatched_shipments", "gauge",
           "Stored shipments whose OrderNumber is no stored dossier");
    if (computed)
        sample0(out, "onestop_postal_unmatched_shipments", (double)m->unmatched_shipments);

    family(out, "onestop_stored_records", "gauge",
           "Records held in the database now, by kind; quarantined records excluded");
    if (computed)
        for (int k = 0; k < FEED_KIND_COUNT; k++)
            SAMPLE(out, "onestop_stored_records", (double)m->stored[k],
                   {"kind", rec_kind_name((enum feed_kind)k)});

    family(out, "onestop_quarantined_records", "gauge",
           "Distinct records held in quarantine now, by source and reason");
    if (computed)
        for (size_t i = 0; i < m->nquarantine; i++)
            SAMPLE(out, "onestop_quarantined_records", (double)m->quarantine[i].count,
                   {"source", m->quarantine[i].source}, {"reason", m->quarantine[i].reason});
}

/* ---- sources and self ---- */

static void render_sources(const struct source_status *src, size_t nsrc, struct buf *out)
{
    family(out, "onestop_source_up", "gauge", "1 when the source's last sync attempt succeeded");
    for (size_t i = 0; i < nsrc; i++)
        SAMPLE(out, "onestop_source_up", src[i].up ? 1.0 : 0.0, {"source", src[i].name});

    family(out, "onestop_source_last_success_timestamp_seconds", "gauge",
           "Unix time of the source's last successful sync; absent before the first one");
    for (size_t i = 0; i < nsrc; i++)
        if (src[i].last_success > 0)
            SAMPLE(out, "onestop_source_last_success_timestamp_seconds", src[i].last_success,
                   {"source", src[i].name});

    family(out, "onestop_source_sync_duration_seconds", "gauge",
           "Wall time of the source's last sync attempt, successful or not; absent before the "
           "first one ends");
    for (size_t i = 0; i < nsrc; i++)
        if (src[i].last_attempt > 0)
            SAMPLE(out, "onestop_source_sync_duration_seconds", src[i].last_duration,
                   {"source", src[i].name});

    family(out, "onestop_source_records_total", "counter",
           "Items fetched from the source since start, good and bad");
    for (size_t i = 0; i < nsrc; i++)
        SAMPLE(out, "onestop_source_records_total", (double)src[i].records_total,
               {"source", src[i].name});

    family(out, "onestop_source_rejected_records_total", "counter",
           "Items from the source quarantined since start, by reason");
    for (size_t i = 0; i < nsrc; i++)
        for (int r = 0; r < REASON_COUNT; r++)
            SAMPLE(out, "onestop_source_rejected_records_total", (double)src[i].rejected[r],
                   {"source", src[i].name}, {"reason", rec_reason_name((enum rec_reason)r)});

    family(out, "onestop_source_errors_total", "counter",
           "Failed sync attempts of the source since start");
    for (size_t i = 0; i < nsrc; i++)
        SAMPLE(out, "onestop_source_errors_total", (double)src[i].errors_total,
               {"source", src[i].name});
}

/* ---- alerts ---- */

static void render_alerts(const struct model *m, struct buf *out)
{
    static const char active[] = "onestop_alert_active";
    static const char notif[] = "onestop_alert_notifications_total";

    family(out, active, "gauge",
           "1 for each firing alert of the built-in rules (on the leader); period is empty for "
           "rules without a period, source for rules not about a source");
    for (size_t i = 0; i < m->nalerts; i++) {
        const struct model_alert *a = &m->alerts[i];
        SAMPLE(out, active, 1.0, {"alertname", a->alertname}, {"agency", a->agency},
               {"period", a->period}, {"source", a->source}, {"severity", a->severity});
    }
    family(out, notif, "counter",
           "Alert delivery attempts since start by receiver kind and result: success, retry "
           "(failed, tried again shortly) or failure (a round of attempts failed: put off until "
           "later, or a webhook notification abandoned after 7 days)");
    for (int r = 0; r < ALERT_RCV_COUNT; r++)
        for (int k = 0; k < ALERT_RES_COUNT; k++)
            SAMPLE(out, notif, (double)m->alert_notifications[r][k],
                   {"receiver", model_alert_receiver_names[r]},
                   {"result", model_alert_result_names[k]});
}

int met_render(const struct model *m, const struct source_status *src, size_t nsrc, struct buf *out)
{
    static const struct model empty;
    int computed;

    if (!m)
        m = &empty;
    computed = m->computed_at != 0;

    render_counts(m, computed, out);
    render_overdue(m, computed, out);
    render_ratios(m, computed, out);
    render_proc_ratios(m, computed, out);
    render_targets(m, computed, out);
    render_agency_info(m, computed, out);
    render_store(m, computed, out);
    render_sources(src, nsrc, out);
    render_alerts(m, out);

    family(out, "onestop_metrics_computed_timestamp_seconds", "gauge",
           "Unix time the database-derived metrics were last computed; absent before the "
           "first computation");
    if (computed)
        sample0(out, "onestop_metrics_computed_timestamp_seconds", (double)m->computed_at);

    family(out, "onestop_compute_duration_seconds", "gauge",
           "Wall time of the last computation of every database-derived metric; absent "
           "before the first computation");
    if (computed)
        sample0(out, "onestop_compute_duration_seconds", m->compute_seconds);

    family(out, "onestop_build_info", "gauge",
           "Always 1: the onestopd version and the revision it was built from");
    SAMPLE(out, "onestop_build_info", 1.0, {"version", ONESTOP_VERSION},
           {"revision", ONESTOP_REVISION});

    family(out, "onestop_leader", "gauge",
           "1 when this instance is the writer (holds the database lock), 0 otherwise");
    sample0(out, "onestop_leader", m->leader ? 1.0 : 0.0);

    family(out, "onestop_database_up", "gauge",
           "1 when the database answered at the last computation; 0 while it is unreachable "
           "(the indicators are then the last ones computed)");
    sample0(out, "onestop_database_up", m->database_up ? 1.0 : 0.0);

    return out->oom ? -1 : 0;
}

/* ---- the HTTP endpoint ---- */

const char *const met_handler_names[MET_H_COUNT] = {
    [MET_H_METRICS] = "metrics", [MET_H_PAGE] = "page",
    [MET_H_HEALTHZ] = "healthz", [MET_H_READYZ] = "readyz",
    [MET_H_ALERTS] = "alerts",   [MET_H_REPORT] = "report",
    [MET_H_OVERDUE] = "overdue", [MET_H_OVERDUE_PAGE] = "overdue_page",
    [MET_H_OTHER] = "other",
};

int met_render_http(const struct met_http *s, struct buf *out)
{
    char code[8];

    family(out, "onestop_http_auth_failures_total", "counter",
           "HTTP requests refused with 401 since start: no, malformed or wrong basic-auth "
           "credentials");
    sample0(out, "onestop_http_auth_failures_total", (double)s->auth_failures);
    if (s->requests) {
        family(out, "onestop_http_requests_total", "counter",
               "HTTP answers since start by handler and status code");
        for (int h = 0; h < MET_H_COUNT; h++) {
            for (int c = 100; c < MET_HTTP_CODES; c++) {
                if (s->requests[h][c] == 0)
                    continue;
                snprintf(code, sizeof code, "%d", c);
                SAMPLE(out, "onestop_http_requests_total", (double)s->requests[h][c],
                       {"handler", met_handler_names[h]}, {"code", code});
            }
        }
    }
    if (s->last_size && s->answered) {
        family(out, "onestop_http_response_size_bytes", "gauge",
               "Size in bytes of the last answer of each handler as sent (compressed when it "
               "was), headers excluded");
        for (int h = 0; h < MET_H_COUNT; h++)
            if (s->answered[h])
                SAMPLE(out, "onestop_http_response_size_bytes", (double)s->last_size[h],
                       {"handler", met_handler_names[h]});
    }
    return out->oom ? -1 : 0;
}

/* ---- process_* ---- */

/* Reads a small /proc file into out (NUL-terminated). 0 or -1. */
static int read_small(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "re");
    size_t got;

    if (!f)
        return -1;
    got = fread(out, 1, n - 1, f);
    out[got] = '\0';
    fclose(f);
    return got > 0 ? 0 : -1;
}

/* /proc/self/stat fields we use (numbered as in proc(5)). */
struct proc_stat {
    unsigned long long utime, stime; /* 14, 15: clock ticks */
    unsigned long long starttime;    /* 22: ticks after boot */
    unsigned long long vsize;        /* 23: bytes */
    unsigned long long rss;          /* 24: pages */
};

static int read_proc_stat(struct proc_stat *st)
{
    char line[1024];
    unsigned long long v[24] = {0}; /* v[i] = field i + 1 */
    const char *p;
    char *end;

    if (read_small("/proc/self/stat", line, sizeof line) != 0)
        return -1;
    /* The command name (field 2) may hold spaces and parentheses: skip to the last ')'. */
    p = strrchr(line, ')');
    if (!p || p[1] != ' ')
        return -1;
    p += 2;
    while (*p && *p != ' ')
        p++; /* field 3, the state letter */
    for (int field = 4; field <= 24; field++) {
        v[field - 1] = strtoull(p, &end, 10);
        if (end == p)
            return -1;
        p = end;
    }
    st->utime = v[13];
    st->stime = v[14];
    st->starttime = v[21];
    st->vsize = v[22];
    st->rss = v[23];
    return 0;
}

/* Boot time as a unix time. /proc/stat's btime is hidden under systemd's ProcSubset=pid,
 * so it is derived from the clocks instead: now minus the time since boot. */
static double boot_time(void)
{
    struct timespec real, boot;
    if (clock_gettime(CLOCK_REALTIME, &real) != 0 || clock_gettime(CLOCK_BOOTTIME, &boot) != 0)
        return -1;
    return (double)(real.tv_sec - boot.tv_sec) + (double)(real.tv_nsec - boot.tv_nsec) / 1e9;
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    long n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n > 0 ? n - 1 : 0; /* minus the descriptor of the listing itself */
}

int met_render_process(struct buf *out)
{
    struct proc_stat st;
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE), fds = open_fds();
    struct rlimit rl;

    if (ticks <= 0)
        ticks = 100;
    if (page <= 0)
        page = 4096;
    if (read_proc_stat(&st) == 0) {
        double btime = boot_time();
        family(out, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.");
        sample0(out, "process_cpu_seconds_total", (double)(st.utime + st.stime) / (double)ticks);
        family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        sample0(out, "process_resident_memory_bytes", (double)st.rss * (double)page);
        family(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        sample0(out, "process_virtual_memory_bytes", (double)st.vsize);
        if (btime > 0) {
            family(out, "process_start_time_seconds", "gauge",
                   "Start time of the process since unix epoch in seconds.");
            sample0(out, "process_start_time_seconds",
                    btime + (double)st.starttime / (double)ticks);
        }
    }
    if (fds >= 0) {
        family(out, "process_open_fds", "gauge", "Number of open file descriptors.");
        sample0(out, "process_open_fds", (double)fds);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        family(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        sample0(out, "process_max_fds", (double)rl.rlim_cur);
    }
    return out->oom ? -1 : 0;
}
