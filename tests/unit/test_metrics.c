/* SPDX-License-Identifier: Apache-2.0 */
/* met: the /metrics page rendered from a hand-built model, checked line by line, for
 * family structure, and (when installed) by promtool. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"
#include "model.h"
#include "rates.h"
#include "version.h"

/* Quote, backslash, newline and Vietnamese text: every label escape at once. */
#define A1_NAME "Sở \"Khoa học\" \\ Công nghệ\nĐà Nẵng"
#define A1_NAME_ESCAPED "Sở \\\"Khoa học\\\" \\\\ Công nghệ\\nĐà Nẵng"

static char *xdup(const char *s)
{
    char *p = strdup(s);
    assert_non_null(p);
    return p;
}

/* Sets the counts of a row and derives its ratios as rates.c does. */
static void set_counts(struct b06_row *r, long carried, long on, long di, long po, long early,
                       long ontime, long late, long within, long overdue)
{
    r->c = (struct b06_counts){.carried_over = carried,
                               .received_online = on,
                               .received_direct = di,
                               .received_postal = po,
                               .resolved_early = early,
                               .resolved_on_time = ontime,
                               .resolved_late = late,
                               .pending_within = within,
                               .pending_overdue = overdue,
                               .resolved_returned = early + ontime + late,
                               .resolved_returned_by_post = 1};
    rates_ratios(&r->c, &r->r);
}

/*
 * A1: dossiers and a name, no catalogue rows. A2: catalogue only (no dossiers, no name),
 * so its Biểu 06 ratios are NaN. ALL equals A1 for counts and A2 for the catalogue.
 */
static void build_model(struct model *m)
{
    static const char *const labels[PK_COUNT] = {"2022", "2022-Q4", "2022-12"};

    memset(m, 0, sizeof *m);
    m->computed_at = 1700000123;
    m->compute_seconds = 0.25;
    m->today = (struct ldate){2022, 12, 20};
    for (int k = 0; k < PK_COUNT; k++) {
        struct b06_table *t = &m->tables[k];
        m->periods[k].kind = (enum period_kind)k;
        snprintf(m->periods[k].label, sizeof m->periods[k].label, "%s", labels[k]);
        t->rows = calloc(2, sizeof *t->rows);
        assert_non_null(t->rows);
        t->nrows = 2;
        t->rows[0].agency = xdup("A1");
        t->rows[0].name = xdup(A1_NAME);
        t->rows[1].agency = xdup("A2");
        t->total.agency = xdup("ALL");
        rates_ratios(&t->rows[1].c, &t->rows[1].r);
        if (k == PK_YEAR) /* on time = (4 + 2 + 2) / 10 = 0.8, online = 3 / 8 */
            set_counts(&t->rows[0], 2, 3, 4, 1, 4, 2, 1, 2, 1);
        else /* on time = 1 */
            set_counts(&t->rows[0], 1, 1, 1, 0, 1, 1, 0, 1, 0);
        set_counts(&t->total, t->rows[0].c.carried_over, t->rows[0].c.received_online,
                   t->rows[0].c.received_direct, t->rows[0].c.received_postal,
                   t->rows[0].c.resolved_early, t->rows[0].c.resolved_on_time,
                   t->rows[0].c.resolved_late, t->rows[0].c.pending_within,
                   t->rows[0].c.pending_overdue);
    }

    m->procs = calloc(1, sizeof *m->procs);
    assert_non_null(m->procs);
    m->nprocs = 1;
    m->procs[0] = (struct proc_counts){
        .agency = xdup("A2"), .total = 4, .online = 3, .full_online = 1, .postal = 2};
    m->proc_all = m->procs[0];
    m->proc_all.agency = xdup("ALL");

    m->overdue = calloc(3, sizeof *m->overdue);
    assert_non_null(m->overdue);
    m->noverdue = 3;
    m->overdue[0] = (struct overdue_count){xdup("A1"), 1};
    m->overdue[1] = (struct overdue_count){xdup("A2"), 0};
    m->overdue[2] = (struct overdue_count){xdup("ALL"), 1};

    m->shipments[0][SHIP_DELIVERED] = 5;
    m->shipments[1][SHIP_IN_TRANSIT] = 7;
    m->unmatched_shipments = 2;
    m->stored[FEED_DOSSIER] = 10;
    m->stored[FEED_PROCEDURE] = 4;
    m->stored[FEED_SHIPMENT] = 12;

    m->quarantine = calloc(2, sizeof *m->quarantine);
    assert_non_null(m->quarantine);
    m->nquarantine = 2;
    m->quarantine[0] = (struct quarantine_count){xdup("igate"), xdup("bad_date"), 2};
    m->quarantine[1] = (struct quarantine_count){xdup("vnpost"), xdup("missing_key"), 1};

    m->targets[TGT_ONLINE_DOSSIER] = 0.375;  /* equal to A1's year ratio: met (>=) */
    m->targets[TGT_ONLINE_PROCEDURE] = 0.75; /* equal to A2's: met */
    m->targets[TGT_POSTAL_PROCEDURE] = 0.6;  /* A2 has 0.5: not met */
    m->targets[TGT_ON_TIME] = 0.8;           /* equal to the year ratio: not met (>) */
    m->leader = 1;
}

static void build_sources(struct source_status src[2])
{
    memset(src, 0, 2 * sizeof *src);
    snprintf(src[0].name, sizeof src[0].name, "igate");
    src[0].up = 1;
    src[0].synced = 1;
    src[0].last_success = 1700000000.5;
    src[0].records_total = 100;
    src[0].errors_total = 1;
    src[0].rejected[REASON_BAD_DATE] = 2;
    src[0].last_attempt = 1700000000.0;
    src[0].last_duration = 12.5;
    /* vnpost's first sync is under way (last_attempt 0 until it ends): no duration yet */
    snprintf(src[1].name, sizeof src[1].name, "vnpost");
    src[1].errors_total = 3;
}

static char *render(const struct model *m, const struct source_status *src, size_t nsrc)
{
    struct buf b;
    buf_init(&b);
    assert_int_equal(met_render(m, src, nsrc, &b), 0);
    char *page = buf_steal(&b, NULL);
    assert_non_null(page);
    return page;
}

static int has_line(const char *page, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = page; (p = strstr(p, line)) != NULL; p++)
        if ((p == page || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

/* Lines starting with prefix. */
static int count_prefix(const char *page, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = page; *p;) {
        if (strncmp(p, prefix, len) == 0)
            n++;
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        p = nl + 1;
    }
    return n;
}

#define ASSERT_LINE(page, line)                                                                    \
    do {                                                                                           \
        if (!has_line((page), (line)))                                                             \
            fail_msg("missing line: %s", (line));                                                  \
    } while (0)
#define ASSERT_NO_PREFIX(page, prefix)                                                             \
    do {                                                                                           \
        if (count_prefix((page), (prefix)) != 0)                                                   \
            fail_msg("unexpected line starting with: %s", (prefix));                               \
    } while (0)

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Checks the text-format structure: every line ends in \n; each family has exactly one
 * HELP and one TYPE, HELP first; samples follow their own family's TYPE; no series
 * appears twice. Returns the number of families.
 */
static size_t check_structure(const char *page)
{
    char *fams[256], *series[2048];
    size_t nfams = 0, nseries = 0;
    char cur[128] = "", help_of[128] = "";

    assert_true(page[0] == '\0' || page[strlen(page) - 1] == '\n');
    for (const char *p = page; *p;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        size_t len = (size_t)(nl - p);
        char line[1024];
        assert_true(len < sizeof line);
        memcpy(line, p, len);
        line[len] = '\0';
        p = nl + 1;

        char name[128];
        if (strncmp(line, "# HELP ", 7) == 0) {
            assert_int_equal(sscanf(line + 7, "%127s", name), 1);
            for (size_t i = 0; i < nfams; i++)
                if (strcmp(fams[i], name) == 0)
                    fail_msg("family %s described twice", name);
            snprintf(help_of, sizeof help_of, "%s", name);
        } else if (strncmp(line, "# TYPE ", 7) == 0) {
            char type[32];
            assert_int_equal(sscanf(line + 7, "%127s %31s", name, type), 2);
            if (strcmp(help_of, name) != 0)
                fail_msg("TYPE of %s does not follow its HELP", name);
            assert_true(strcmp(type, "gauge") == 0 || strcmp(type, "counter") == 0);
            assert_true(nfams < ARRAY_LEN(fams));
            fams[nfams++] = xdup(name);
            snprintf(cur, sizeof cur, "%s", name);
            help_of[0] = '\0';
        } else {
            assert_true(line[0] != '#' && line[0] != '\0');
            size_t nlen = strcspn(line, "{ ");
            if (strlen(cur) != nlen || strncmp(line, cur, nlen) != 0)
                fail_msg("sample outside its family: %s (current %s)", line, cur);
            char *sp = strrchr(line, ' ');
            assert_non_null(sp);
            assert_true(nseries < ARRAY_LEN(series));
            series[nseries++] = strndup(line, (size_t)(sp - line));
        }
    }
    qsort(series, nseries, sizeof *series, str_cmp);
    for (size_t i = 1; i < nseries; i++)
        if (strcmp(series[i - 1], series[i]) == 0)
            fail_msg("duplicate series %s", series[i]);
    for (size_t i = 0; i < nseries; i++)
        free(series[i]);
    for (size_t i = 0; i < nfams; i++)
        free(fams[i]);
    return nfams;
}

static void test_render_counts(void **state)
{
    struct model m;
    struct source_status src[2];
    build_model(&m);
    build_sources(src);
    char *page = render(&m, src, 2);

    ASSERT_LINE(page, "onestop_dossiers_carried_over{agency=\"A1\",period=\"2022\"} 2");
    ASSERT_LINE(page, "onestop_dossiers_carried_over{agency=\"A2\",period=\"2022-Q4\"} 0");
    ASSERT_LINE(page,
                "onestop_dossiers_received{agency=\"ALL\",period=\"2022\",channel=\"online\"} 3");
    ASSERT_LINE(page,
                "onestop_dossiers_received{agency=\"A1\",period=\"2022\",channel=\"direct\"} 4");
    ASSERT_LINE(page,
                "onestop_dossiers_received{agency=\"A2\",period=\"2022-12\",channel=\"postal\"} 0");
    ASSERT_LINE(page,
                "onestop_dossiers_resolved{agency=\"A1\",period=\"2022\",timeliness=\"early\"} 4");
    ASSERT_LINE(
        page, "onestop_dossiers_resolved{agency=\"A1\",period=\"2022\",timeliness=\"on_time\"} 2");
    ASSERT_LINE(page,
                "onestop_dossiers_resolved{agency=\"ALL\",period=\"2022\",timeliness=\"late\"} 1");
    ASSERT_LINE(page,
                "onestop_dossiers_pending{agency=\"A1\",period=\"2022\",timeliness=\"within\"} 2");
    ASSERT_LINE(page,
                "onestop_dossiers_pending{agency=\"A1\",period=\"2022\",timeliness=\"overdue\"} 1");
    /* every agency row plus ALL, every period, every sub-series */
    assert_int_equal(count_prefix(page, "onestop_dossiers_carried_over{"), 3 * 3);
    assert_int_equal(count_prefix(page, "onestop_dossiers_received{"), 3 * 3 * 3);
    assert_int_equal(count_prefix(page, "onestop_dossiers_resolved{"), 3 * 3 * 3);
    assert_int_equal(count_prefix(page, "onestop_dossiers_pending{"), 3 * 3 * 2);

    ASSERT_LINE(page, "onestop_dossiers_overdue_without_apology{agency=\"A1\"} 1");
    ASSERT_LINE(page, "onestop_dossiers_overdue_without_apology{agency=\"A2\"} 0");
    ASSERT_LINE(page, "onestop_dossiers_overdue_without_apology{agency=\"ALL\"} 1");

    free(page);
    model_clear(&m);
}

static void test_render_ratios(void **state)
{
    struct model m;
    build_model(&m);
    char *page = render(&m, NULL, 0);

    ASSERT_LINE(page, "onestop_on_time_ratio{agency=\"A1\",period=\"2022\"} 0.8");
    ASSERT_LINE(page, "onestop_on_time_ratio{agency=\"ALL\",period=\"2022-Q4\"} 1");
    ASSERT_LINE(page, "onestop_resolved_on_time_ratio{agency=\"A1\",period=\"2022\"} "
                      "0.8571428571428571");
    ASSERT_LINE(page, "onestop_online_dossier_ratio{agency=\"A1\",period=\"2022\"} 0.375");
    ASSERT_LINE(page, "onestop_postal_receipt_ratio{agency=\"A1\",period=\"2022\"} 0.125");
    ASSERT_LINE(page, "onestop_postal_return_ratio{agency=\"A1\",period=\"2022-12\"} 0.5");
    /* A2 has no dossiers: every Biểu 06 ratio is NaN, so absent */
    ASSERT_NO_PREFIX(page, "onestop_on_time_ratio{agency=\"A2\"");
    ASSERT_NO_PREFIX(page, "onestop_resolved_on_time_ratio{agency=\"A2\"");
    ASSERT_NO_PREFIX(page, "onestop_online_dossier_ratio{agency=\"A2\"");
    ASSERT_NO_PREFIX(page, "onestop_postal_receipt_ratio{agency=\"A2\"");
    ASSERT_NO_PREFIX(page, "onestop_postal_return_ratio{agency=\"A2\"");
    assert_null(strstr(page, "NaN"));
    assert_int_equal(count_prefix(page, "onestop_on_time_ratio{"), 2 * 3);

    /* catalogue: A2 and ALL only */
    ASSERT_LINE(page, "onestop_online_procedure_ratio{agency=\"A2\"} 0.75");
    ASSERT_LINE(page, "onestop_online_procedure_ratio{agency=\"ALL\"} 0.75");
    ASSERT_LINE(page, "onestop_full_online_procedure_ratio{agency=\"ALL\"} 0.25");
    ASSERT_LINE(page, "onestop_postal_procedure_ratio{agency=\"A2\"} 0.5");
    ASSERT_NO_PREFIX(page, "onestop_online_procedure_ratio{agency=\"A1\"");
    assert_int_equal(count_prefix(page, "onestop_postal_procedure_ratio{"), 2);

    free(page);
    model_clear(&m);
}

static void test_render_targets(void **state)
{
    struct model m;
    build_model(&m);
    char *page = render(&m, NULL, 0);

    ASSERT_LINE(page, "onestop_target_ratio{indicator=\"online_dossier\"} 0.375");
    ASSERT_LINE(page, "onestop_target_ratio{indicator=\"online_procedure\"} 0.75");
    ASSERT_LINE(page, "onestop_target_ratio{indicator=\"postal_procedure\"} 0.6");
    ASSERT_LINE(page, "onestop_target_ratio{indicator=\"on_time\"} 0.8");

    /* on_time is strict: equal to the target is not met */
    ASSERT_LINE(page, "onestop_target_met{indicator=\"on_time\",agency=\"A1\",period=\"2022\"} 0");
    ASSERT_LINE(page, "onestop_target_met{indicator=\"on_time\",agency=\"ALL\",period=\"2022\"} 0");
    ASSERT_LINE(page,
                "onestop_target_met{indicator=\"on_time\",agency=\"A1\",period=\"2022-Q4\"} 1");
    /* the others are >= */
    ASSERT_LINE(page,
                "onestop_target_met{indicator=\"online_dossier\",agency=\"A1\",period=\"2022\"} 1");
    /* procedure indicators: same value under every period */
    for (int k = 0; k < PK_COUNT; k++) {
        char line[256];
        snprintf(line, sizeof line,
                 "onestop_target_met{indicator=\"online_procedure\",agency=\"A2\",period=\"%s\"} 1",
                 m.periods[k].label);
        ASSERT_LINE(page, line);
        snprintf(
            line, sizeof line,
            "onestop_target_met{indicator=\"postal_procedure\",agency=\"ALL\",period=\"%s\"} 0",
            m.periods[k].label);
        ASSERT_LINE(page, line);
    }
    /* absent where the ratio is absent */
    ASSERT_NO_PREFIX(page, "onestop_target_met{indicator=\"online_procedure\",agency=\"A1\"");
    ASSERT_NO_PREFIX(page, "onestop_target_met{indicator=\"on_time\",agency=\"A2\"");
    ASSERT_NO_PREFIX(page, "onestop_target_met{indicator=\"online_dossier\",agency=\"A2\"");
    free(page);

    /* and where the target is unknown */
    m.targets[TGT_ON_TIME] = NAN;
    page = render(&m, NULL, 0);
    ASSERT_NO_PREFIX(page, "onestop_target_ratio{indicator=\"on_time\"}");
    ASSERT_NO_PREFIX(page, "onestop_target_met{indicator=\"on_time\"");
    ASSERT_LINE(page, "onestop_target_ratio{indicator=\"online_dossier\"} 0.375");
    free(page);
    model_clear(&m);
}

static void test_render_info_store_sources(void **state)
{
    struct model m;
    struct source_status src[2];
    build_model(&m);
    build_sources(src);
    char *page = render(&m, src, 2);

    ASSERT_LINE(page, "onestop_agency_info{agency=\"A1\",name=\"" A1_NAME_ESCAPED "\"} 1");
    assert_int_equal(count_prefix(page, "onestop_agency_info{"), 1);

    assert_int_equal(count_prefix(page, "onestop_postal_shipments{"), 10);
    ASSERT_LINE(page, "onestop_postal_shipments{direction=\"to_agency\",status=\"delivered\"} 5");
    ASSERT_LINE(page,
                "onestop_postal_shipments{direction=\"to_applicant\",status=\"in_transit\"} 7");
    ASSERT_LINE(page,
                "onestop_postal_shipments{direction=\"to_applicant\",status=\"cancelled\"} 0");
    ASSERT_LINE(page, "onestop_postal_unmatched_shipments 2");
    ASSERT_LINE(page, "onestop_stored_records{kind=\"dossier\"} 10");
    ASSERT_LINE(page, "onestop_stored_records{kind=\"procedure\"} 4");
    ASSERT_LINE(page, "onestop_stored_records{kind=\"shipment\"} 12");
    ASSERT_LINE(page, "onestop_quarantined_records{source=\"igate\",reason=\"bad_date\"} 2");
    ASSERT_LINE(page, "onestop_quarantined_records{source=\"vnpost\",reason=\"missing_key\"} 1");

    ASSERT_LINE(page, "onestop_source_up{source=\"igate\"} 1");
    ASSERT_LINE(page, "onestop_source_up{source=\"vnpost\"} 0");
    ASSERT_LINE(page,
                "onestop_source_last_success_timestamp_seconds{source=\"igate\"} 1700000000.5");
    ASSERT_NO_PREFIX(page, "onestop_source_last_success_timestamp_seconds{source=\"vnpost\"}");
    ASSERT_LINE(page, "onestop_source_records_total{source=\"igate\"} 100");
    ASSERT_LINE(page, "onestop_source_records_total{source=\"vnpost\"} 0");
    assert_int_equal(count_prefix(page, "onestop_source_rejected_records_total{"),
                     2 * REASON_COUNT);
    ASSERT_LINE(page,
                "onestop_source_rejected_records_total{source=\"igate\",reason=\"bad_date\"} 2");
    ASSERT_LINE(page, "onestop_source_rejected_records_total{source=\"vnpost\","
                      "reason=\"finish_before_receipt\"} 0");
    ASSERT_LINE(page, "onestop_source_errors_total{source=\"vnpost\"} 3");
    ASSERT_LINE(page, "onestop_source_sync_duration_seconds{source=\"igate\"} 12.5");
    ASSERT_NO_PREFIX(page, "onestop_source_sync_duration_seconds{source=\"vnpost\"}");
    ASSERT_LINE(page, "# TYPE onestop_source_errors_total counter");
    ASSERT_LINE(page, "# TYPE onestop_source_records_total counter");
    ASSERT_LINE(page, "# TYPE onestop_source_rejected_records_total counter");

    ASSERT_LINE(page, "onestop_metrics_computed_timestamp_seconds 1700000123");
    ASSERT_LINE(page, "onestop_compute_duration_seconds 0.25");
    ASSERT_LINE(page, "onestop_build_info{version=\"" ONESTOP_VERSION
                      "\",revision=\"" ONESTOP_REVISION "\"} 1");
    ASSERT_LINE(page, "onestop_leader 1");
    free(page);
    model_clear(&m);
}

static void test_structure(void **state)
{
    struct model m;
    struct source_status src[2];
    build_model(&m);
    build_sources(src);
    char *page = render(&m, src, 2);
    size_t nfams = check_structure(page);
    /* 4 counts + overdue + 5 ratios + 3 procedure ratios + 2 targets + info + 4 store
     * + 6 source + 2 alert + computed + duration + build + leader + database */
    assert_int_equal(nfams, 33);
    free(page);
    model_clear(&m);
}

static void test_not_computed(void **state)
{
    struct model m;
    struct source_status src[2];
    memset(&m, 0, sizeof m);
    build_sources(src);
    char *page = render(&m, src, 2);

    assert_int_equal(check_structure(page), 33); /* every family still described */
    ASSERT_LINE(page, "onestop_database_up 0");
    ASSERT_NO_PREFIX(page, "onestop_dossiers_");
    ASSERT_NO_PREFIX(page, "onestop_postal_shipments{");
    ASSERT_NO_PREFIX(page, "onestop_stored_records{");
    ASSERT_NO_PREFIX(page, "onestop_target_");
    ASSERT_NO_PREFIX(page, "onestop_metrics_computed_timestamp_seconds ");
    ASSERT_NO_PREFIX(page, "onestop_compute_duration_seconds ");
    ASSERT_LINE(page, "onestop_source_up{source=\"igate\"} 1");
    ASSERT_LINE(page, "onestop_build_info{version=\"" ONESTOP_VERSION
                      "\",revision=\"" ONESTOP_REVISION "\"} 1");
    ASSERT_LINE(page, "onestop_leader 0");
    free(page);

    page = render(NULL, NULL, 0);
    ASSERT_LINE(page, "onestop_leader 0");
    free(page);
}

static void test_format_value(void **state)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0.0, "0"},
        {-0.0, "0"},
        {42, "42"},
        {-7, "-7"},
        {1e15, "1000000000000000"},
        {1700000000.0, "1700000000"},
        {1700000000.5, "1700000000.5"},
        {0.1, "0.1"},
        {0.8, "0.8"},
        {1.0 / 3.0, "0.3333333333333333"},
        {2.0 / 3.0, "0.6666666666666666"},
        {1e-7, "1e-07"},
        {1e300, "1e+300"},
        {0.1 + 0.2, "0.30000000000000004"},
        {6.0 / 7.0, "0.8571428571428571"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct buf b;
        buf_init(&b);
        met_format_value(&b, cases[i].v);
        /* integers exactly, with no exponent; others the shortest round trip */
        if (strcmp(b.data, cases[i].want) != 0)
            fail_msg("%.17g formatted as %s, want %s", cases[i].v, b.data, cases[i].want);
        assert_true(strtod(b.data, NULL) == cases[i].v);
        buf_free(&b);
    }
    struct buf b;
    buf_init(&b);
    met_format_value(&b, NAN);
    buf_puts(&b, " ");
    met_format_value(&b, INFINITY);
    buf_puts(&b, " ");
    met_format_value(&b, -INFINITY);
    assert_string_equal(b.data, "NaN +Inf -Inf");
    buf_free(&b);
}

static void test_escape_label(void **state)
{
    struct buf b;
    buf_init(&b);
    met_escape_label(&b, "a\\b\"c\nd Đà Nẵng");
    assert_string_equal(b.data, "a\\\\b\\\"c\\nd Đà Nẵng");
    buf_reset(&b);
    met_escape_label(&b, "plain");
    assert_string_equal(b.data, "plain");
    buf_reset(&b);
    met_escape_label(&b, "\\\\");
    assert_string_equal(b.data, "\\\\\\\\");
    buf_free(&b);
}

static void test_process(void **state)
{
    struct buf b;
    buf_init(&b);
    assert_int_equal(met_render_process(&b), 0);
    char *page = buf_steal(&b, NULL);
    assert_non_null(page);
    static const char *const fams[] = {
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_start_time_seconds",
        "process_open_fds",
        "process_max_fds",
    };
    for (size_t i = 0; i < ARRAY_LEN(fams); i++) {
        char prefix[128];
        snprintf(prefix, sizeof prefix, "%s ", fams[i]);
        if (count_prefix(page, prefix) != 1)
            fail_msg("no %s sample", fams[i]);
    }
    ASSERT_LINE(page, "# TYPE process_cpu_seconds_total counter");
    check_structure(page);
    /* the start time is in the past, and not before 2020 */
    const char *st = strstr(page, "\nprocess_start_time_seconds ");
    assert_non_null(st);
    double start = strtod(st + strlen("\nprocess_start_time_seconds "), NULL);
    assert_true(start > 1577836800.0);
    assert_true(start <= (double)time(NULL) + 1);
    free(page);
}

/* Runs `promtool check metrics` on text; the exit status. */
static int promtool_check(const char *text, size_t len)
{
    char path[] = "/tmp/onestop-metrics-XXXXXX";
    char cmd[256];
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
    int rc = system(cmd);
    unlink(path);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The whole page as /metrics serves it, through `promtool check metrics` if installed. */
static void test_promtool(void **state)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        skip();
        return;
    }
    struct model m;
    struct source_status src[2];
    struct buf b;

    build_model(&m);
    build_sources(src);
    buf_init(&b);
    assert_int_equal(met_render(&m, src, 2, &b), 0);
    assert_int_equal(met_render_process(&b), 0);
    assert_int_equal(promtool_check(b.data, b.len), 0);
    model_clear(&m);

    /* before the first computation: mostly empty families */
    memset(&m, 0, sizeof m);
    buf_reset(&b);
    assert_int_equal(met_render(&m, src, 2, &b), 0);
    assert_int_equal(met_render_process(&b), 0);
    assert_int_equal(promtool_check(b.data, b.len), 0);
    buf_free(&b);

    /* and the check does catch a bad page */
    static const char bad[] = "# HELP x_bytes x\n# TYPE x_bytes counter\nx_bytes 1\n";
    assert_int_not_equal(promtool_check(bad, strlen(bad)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_counts),  cmocka_unit_test(test_render_ratios),
        cmocka_unit_test(test_render_targets), cmocka_unit_test(test_render_info_store_sources),
        cmocka_unit_test(test_structure),      cmocka_unit_test(test_not_computed),
        cmocka_unit_test(test_format_value),   cmocka_unit_test(test_escape_label),
        cmocka_unit_test(test_process),        cmocka_unit_test(test_promtool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
