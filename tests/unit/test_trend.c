/* SPDX-License-Identifier: Apache-2.0 */
/* trend: building the 90-day series from points, finding them, and the period kinds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "trend.h"

static void test_build(void **state)
{
    struct ldate today = {2022, 12, 20};
    const struct trend_point pts[] = {
        {"B", PK_YEAR, 89, 0.9, 0.3},
        {"A", PK_YEAR, 0, 0.5, NAN},
        {"A", PK_YEAR, 10, 0.6, 0.2},
        {"A", PK_YEAR, 10, 0.7, 0.25}, /* later: wins */
        {"A", PK_MONTH, 89, 0.8, 0.1},
        {"A", PK_YEAR, 90, 0.1, 0.1}, /* outside the window: ignored */
        {"A", PK_YEAR, -1, 0.1, 0.1}, /* likewise */
        {"ALL", PK_YEAR, 89, 0.85, 0.28},
    };
    struct trend t = {0};
    const struct trend_series *s;

    (void)state;
    assert_int_equal(trend_build(&today, pts, sizeof pts / sizeof pts[0], &t), 0);
    assert_int_equal(t.first.y, 2022);
    assert_int_equal(t.first.m, 9);
    assert_int_equal(t.first.d, 22); /* 89 days before 2022-12-20 */
    assert_int_equal(t.nseries[PK_YEAR], 3);
    assert_string_equal(t.series[PK_YEAR][0].agency, "A"); /* sorted */
    assert_string_equal(t.series[PK_YEAR][1].agency, "ALL");
    assert_string_equal(t.series[PK_YEAR][2].agency, "B");
    assert_int_equal(t.nseries[PK_QUARTER], 0);
    assert_int_equal(t.nseries[PK_MONTH], 1);
    s = trend_find(&t, PK_YEAR, "A");
    assert_non_null(s);
    assert_true(s->on_time[0] == 0.5);
    assert_true(isnan(s->online[0]));
    assert_true(s->on_time[10] == 0.7);
    assert_true(s->online[10] == 0.25);
    assert_true(isnan(s->on_time[1]));
    assert_true(isnan(s->on_time[89]));
    assert_null(trend_find(&t, PK_QUARTER, "A"));
    assert_null(trend_find(&t, PK_YEAR, "C"));
    assert_true(trend_find(&t, PK_MONTH, "A")->on_time[89] == 0.8);
    trend_clear(&t);
    trend_clear(&t); /* twice is fine */
    assert_int_equal(trend_build(&today, NULL, 0, &t), 0);
    assert_null(trend_find(&t, PK_YEAR, "A"));
    trend_clear(NULL);
}

static void test_kind_of(void **state)
{
    struct ldate d = {2022, 12, 20};

    (void)state;
    assert_int_equal(trend_kind_of(PERIOD_CALENDAR, &d, "2022"), PK_YEAR);
    assert_int_equal(trend_kind_of(PERIOD_CALENDAR, &d, "2022-Q4"), PK_QUARTER);
    assert_int_equal(trend_kind_of(PERIOD_CALENDAR, &d, "2022-12"), PK_MONTH);
    assert_int_equal(trend_kind_of(PERIOD_CALENDAR, &d, "2022-11"), -1);
    assert_int_equal(trend_kind_of(PERIOD_CALENDAR, &d, "report:2023"), -1);
    assert_int_equal(trend_kind_of(PERIOD_REPORT, &d, "report:2023-01"), PK_MONTH);
    assert_int_equal(trend_kind_of(PERIOD_REPORT, &d, "report:2023"), PK_YEAR);
}

static void test_cache_without_model(void **state)
{
    struct trend_cache *c = trend_cache_new();
    struct model m;
    struct trend t = {0};
    char err[128];

    (void)state;
    assert_non_null(c);
    memset(&m, 0, sizeof m);
    /* Never computed: nothing, and no database needed. */
    assert_int_equal(trend_refresh(c, NULL, &m, &t, err, sizeof err), 0);
    assert_int_equal(t.nseries[PK_YEAR], 0);
    trend_cache_free(c);
    trend_cache_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_kind_of),
        cmocka_unit_test(test_cache_without_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
