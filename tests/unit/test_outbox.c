/* SPDX-License-Identifier: Apache-2.0 */
/* outbox: the alert_outbox statements, through a fake executor (no database). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbox.h"
#include "util.h"

#define MAX_CALLS 8
#define MAX_PARAMS 8

/* What the fake executor was asked, and how it answers: results are built in memory
 * (PQmakeEmptyPGresult, PQsetvalue). */
static struct {
    int ncalls;
    char *sql[MAX_CALLS];
    int nparams[MAX_CALLS];
    char *params[MAX_CALLS][MAX_PARAMS]; /* NULL stays NULL */
    ExecStatusType want[MAX_CALLS];
    int fail_at;            /* this call (0-based) fails; -1 none */
    const char *const *row; /* TUPLES_OK answers: one row of these columns, NULL: none */
    int ncols;
} fx;

static int reset(void **state)
{
    for (int i = 0; i < fx.ncalls && i < MAX_CALLS; i++) {
        free(fx.sql[i]);
        for (int j = 0; j < MAX_PARAMS; j++)
            free(fx.params[i][j]);
    }
    memset(&fx, 0, sizeof fx);
    fx.fail_at = -1;
    return 0;
}

static PGresult *fake_exec(void *ctx, const char *sql, int nparams, const char *const *params,
                           ExecStatusType want, const char *what, char *err, size_t errlen)
{
    int i = fx.ncalls++;
    PGresult *res;

    assert_ptr_equal(ctx, &fx);
    assert_true(i < MAX_CALLS && nparams <= MAX_PARAMS);
    fx.sql[i] = strdup(sql);
    fx.nparams[i] = nparams;
    fx.want[i] = want;
    for (int j = 0; j < nparams; j++)
        fx.params[i][j] = params[j] ? strdup(params[j]) : NULL;
    if (i == fx.fail_at) {
        snprintf(err, errlen, "%s: refused", what);
        return NULL;
    }
    res = PQmakeEmptyPGresult(NULL, want);
    assert_non_null(res);
    if (want == PGRES_TUPLES_OK) {
        PGresAttDesc cols[MAX_PARAMS];
        memset(cols, 0, sizeof cols);
        for (int c = 0; c < fx.ncols; c++)
            cols[c].name = (char *)"c";
        assert_int_equal(PQsetResultAttrs(res, fx.ncols, cols), 1);
        for (int c = 0; fx.row && c < fx.ncols; c++)
            assert_int_equal(
                PQsetvalue(res, 0, c, (char *)fx.row[c], fx.row[c] ? (int)strlen(fx.row[c]) : -1),
                1);
    }
    return res;
}

static const struct outbox_db DB = {.exec = fake_exec, .ctx = &fx};

/* Every statement is about alert_outbox and carries no value in its text. */
static void assert_statement(int i, const char *needle)
{
    assert_non_null(strstr(fx.sql[i], "alert_outbox"));
    assert_non_null(strstr(fx.sql[i], needle));
    for (int j = 0; j < fx.nparams[i]; j++)
        if (fx.params[i][j] && strlen(fx.params[i][j]) > 3)
            assert_null(strstr(fx.sql[i], fx.params[i][j]));
}

static void test_queue(void **state)
{
    char err[256] = "", urls[2100 + 32];

    /* One row per URL, blanks and tabs between them. */
    assert_int_equal(outbox_queue(&DB, "0123456789abcdef", " http://a/x \t http://b/y", "firing",
                                  "{}", err, sizeof err),
                     0);
    assert_int_equal(fx.ncalls, 2);
    for (int i = 0; i < 2; i++) {
        assert_statement(i, "INSERT INTO alert_outbox");
        assert_int_equal(fx.want[i], PGRES_COMMAND_OK);
        assert_int_equal(fx.nparams[i], 4);
        assert_string_equal(fx.params[i][0], "0123456789abcdef");
        assert_string_equal(fx.params[i][2], "firing");
        assert_string_equal(fx.params[i][3], "{}");
    }
    assert_string_equal(fx.params[0][1], "http://a/x");
    assert_string_equal(fx.params[1][1], "http://b/y");

    /* No URL: nothing queued. A URL too long to be a webhook of ours is passed over. */
    reset(state);
    assert_int_equal(outbox_queue(&DB, "f", NULL, "firing", "{}", err, sizeof err), 0);
    assert_int_equal(fx.ncalls, 0);
    memset(urls, 'x', 2100);
    snprintf(urls + 2100, sizeof urls - 2100, " http://c/z");
    assert_int_equal(outbox_queue(&DB, "f", urls, "resolved", "{}", err, sizeof err), 0);
    assert_int_equal(fx.ncalls, 1);
    assert_string_equal(fx.params[0][1], "http://c/z");
    assert_string_equal(fx.params[0][2], "resolved");

    /* The first failure ends it, its message in err. */
    reset(state);
    fx.fail_at = 0;
    assert_int_equal(outbox_queue(&DB, "f", "http://a http://b", "firing", "{}", err, sizeof err),
                     -1);
    assert_int_equal(fx.ncalls, 1);
    assert_string_equal(err, "queueing a notification: refused");
}

static void test_retire_and_prune(void **state)
{
    char err[256] = "";

    /* The configured URLs, single-space-separated for string_to_array. */
    assert_int_equal(outbox_retire(&DB, "  http://a\thttp://b  ", err, sizeof err), 0);
    assert_int_equal(outbox_retire(&DB, NULL, err, sizeof err), 0);
    assert_int_equal(fx.ncalls, 2);
    assert_statement(0, "superseded_at = now()");
    assert_string_equal(fx.params[0][0], "http://a http://b");
    assert_string_equal(fx.params[1][0], ""); /* none left: every unsent row is retired */

    assert_int_equal(outbox_prune(&DB, err, sizeof err), 0);
    assert_statement(2, "DELETE FROM alert_outbox");
    assert_string_equal(fx.params[2][0], "30");

    fx.fail_at = fx.ncalls;
    assert_int_equal(outbox_prune(&DB, err, sizeof err), -1);
    assert_string_equal(err, "pruning alert_outbox: refused");
}

static void test_claim(void **state)
{
    static const char *const row[] = {"42", "http://a/x", "{\"k\":1}", "3", "90"};
    struct outbox_row r;
    char err[256] = "";

    fx.row = row;
    fx.ncols = 5;
    assert_int_equal(
        outbox_claim(&DB, "http://a/x\thttp://b", 70, "host:1:ab", &r, err, sizeof err), 1);
    assert_statement(0, "FOR UPDATE SKIP LOCKED");
    assert_int_equal(fx.want[0], PGRES_TUPLES_OK);
    assert_string_equal(fx.params[0][0], "http://a/x http://b");
    assert_string_equal(fx.params[0][1], "70");
    assert_string_equal(fx.params[0][2], "host:1:ab");
    assert_int_equal(r.id, 42);
    assert_string_equal(r.url, "http://a/x");
    assert_string_equal(r.body, "{\"k\":1}");
    assert_int_equal(r.attempts, 3);
    assert_int_equal(r.age_s, 90);
    outbox_row_clear(&r);
    assert_null(r.res);
    outbox_row_clear(&r); /* twice: harmless */
    outbox_row_clear(NULL);

    fx.row = NULL; /* nothing due */
    assert_int_equal(outbox_claim(&DB, "http://a/x", 70, "c", &r, err, sizeof err), 0);
    assert_null(r.res);

    fx.fail_at = fx.ncalls;
    assert_int_equal(outbox_claim(&DB, "http://a/x", 70, "c", &r, err, sizeof err), -1);
    assert_string_equal(err, "claiming a notification: refused");
    assert_null(r.res);
}

static void test_next_due(void **state)
{
    const char *row[1] = {NULL};
    char err[256] = "";
    long ms = 7;

    fx.row = row;
    fx.ncols = 1;
    assert_int_equal(outbox_next_due_ms(&DB, "http://a", &ms, err, sizeof err), 0);
    assert_int_equal(ms, -1); /* none waiting */
    assert_statement(0, "min(");
    assert_string_equal(fx.params[0][0], "http://a");
    row[0] = "1500";
    assert_int_equal(outbox_next_due_ms(&DB, "http://a", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 1500);
    row[0] = "-20"; /* overdue: due now */
    assert_int_equal(outbox_next_due_ms(&DB, "http://a", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 0);
    fx.fail_at = fx.ncalls;
    assert_int_equal(outbox_next_due_ms(&DB, "http://a", &ms, err, sizeof err), -1);
    assert_int_equal(ms, -1);
}

static void test_record(void **state)
{
    struct outbox_outcome sent = {.kind = OUTBOX_SENT, .id = 5};
    struct outbox_outcome rel = {.kind = OUTBOX_RELEASE, .id = 6};
    struct outbox_outcome failed = {
        .kind = OUTBOX_FAILED, .id = 7, .attempts = 3, .delay_ms = 1500, .abandon = 0};
    char err[256] = "";

    snprintf(failed.err, sizeof failed.err, "HTTP \xe1\xba\xa1 status\n500");
    assert_int_equal(outbox_record(&DB, &sent, "me", err, sizeof err), 0);
    assert_int_equal(outbox_record(&DB, &rel, "me", err, sizeof err), 0);
    assert_int_equal(outbox_record(&DB, &failed, "me", err, sizeof err), 0);
    assert_int_equal(fx.ncalls, 3);

    assert_statement(0, "sent_at = coalesce(sent_at, now())");
    assert_int_equal(fx.nparams[0], 1);
    assert_string_equal(fx.params[0][0], "5");

    /* Only while the claim is ours. */
    assert_statement(1, "claimed_by = $2");
    assert_int_equal(fx.nparams[1], 2);
    assert_string_equal(fx.params[1][0], "6");
    assert_string_equal(fx.params[1][1], "me");

    assert_statement(2, "claimed_by = $6");
    assert_int_equal(fx.nparams[2], 6);
    assert_string_equal(fx.params[2][0], "7");
    assert_string_equal(fx.params[2][1], "3");
    assert_string_equal(fx.params[2][2], "1.500");
    assert_string_equal(fx.params[2][3], "false");
    assert_string_equal(fx.params[2][4], "HTTP ??? status?500"); /* printable ASCII only */
    assert_string_equal(fx.params[2][5], "me");

    failed.abandon = 1;
    fx.fail_at = fx.ncalls;
    assert_int_equal(outbox_record(&DB, &failed, "me", err, sizeof err), -1);
    assert_string_equal(fx.params[3][3], "true");
    assert_string_equal(err, "recording a notification: refused");
    rel.id = 8;
    fx.fail_at = fx.ncalls;
    assert_int_equal(outbox_record(&DB, &rel, "me", err, sizeof err), -1);
    assert_string_equal(err, "releasing a notification: refused");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_queue, reset, reset),
        cmocka_unit_test_setup_teardown(test_retire_and_prune, reset, reset),
        cmocka_unit_test_setup_teardown(test_claim, reset, reset),
        cmocka_unit_test_setup_teardown(test_next_due, reset, reset),
        cmocka_unit_test_setup_teardown(test_record, reset, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
