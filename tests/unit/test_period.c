/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: calendar and national-report periods around "today". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "period.h"

static struct ldate D(int y, int m, int d) {
    struct ldate r = {y, m, d};
    return r;
}

static void
expect_period(const struct period *p, const char *label, struct ldate from, struct ldate to,
              struct ldate end)
{
    char a[11], b[11];
    assert_string_equal(p->label, label);
    ldate_format(&p->from, a);
    ldate_format(&from, b);
    assert_string_equal(a, b);
    ldate_format(&p->to, a);
    ldate_format(&to, b);
    assert_string_equal(a, b);
    ldate_format(&p->end, a);
    ldate_format(&end, b);
    assert_string_equal(a, b);
}

static void test_calendar(void **state)
{
    struct period p[PK_COUNT];
    struct ldate today = D(2022, 12, 20);
    period_current(PERIOD_CALENDAR, &today, p);
    expect_period(&p[PK_YEAR], "2022", D(2022, 1, 1), today, D(2022, 12, 31));
    expect_period(&p[PK_QUARTER], "2022-Q4", D(2022, 10, 1), today, D(2022, 12, 31));
    expect_period(&p[PK_MONTH], "2022-12", D(2022, 12, 1), today, D(2022, 12, 31));

    today = D(2024, 2, 29); /* leap day */
    period_current(PERIOD_CALENDAR, &today, p);
    expect_period(&p[PK_QUARTER], "2024-Q1", D(2024, 1, 1), today, D(2024, 3, 31));
    expect_period(&p[PK_MONTH], "2024-02", D(2024, 2, 1), today, D(2024, 2, 29));

    today = D(2023, 1, 1); /* first day: from == to */
    period_current(PERIOD_CALENDAR, &today, p);
    expect_period(&p[PK_YEAR], "2023", today, today, D(2023, 12, 31));
    expect_period(&p[PK_MONTH], "2023-01", today, today, D(2023, 1, 31));
    (void)state;
}

static void test_report_mode(void **state)
{
    struct period p[PK_COUNT];
    /* metrics.md: 2022-12-20 falls in report year 2023 */
    struct ldate today = D(2022, 12, 20);
    period_current(PERIOD_REPORT, &today, p);
    expect_period(&p[PK_YEAR], "report:2023", D(2022, 12, 15), today, D(2023, 12, 14));
    expect_period(&p[PK_QUARTER], "report:2023-Q1", D(2022, 12, 15), today, D(2023, 3, 14));
    expect_period(&p[PK_MONTH], "report:2023-01", D(2022, 12, 15), today, D(2023, 1, 14));

    today = D(2022, 12, 14); /* last day of report year 2022 */
    period_current(PERIOD_REPORT, &today, p);
    expect_period(&p[PK_YEAR], "report:2022", D(2021, 12, 15), today, D(2022, 12, 14));
    expect_period(&p[PK_QUARTER], "report:2022-Q4", D(2022, 9, 15), today, D(2022, 12, 14));
    expect_period(&p[PK_MONTH], "report:2022-12", D(2022, 11, 15), today, D(2022, 12, 14));

    today = D(2022, 3, 15); /* first day of Q2 */
    period_current(PERIOD_REPORT, &today, p);
    expect_period(&p[PK_QUARTER], "report:2022-Q2", today, today, D(2022, 6, 14));
    expect_period(&p[PK_MONTH], "report:2022-04", today, today, D(2022, 4, 14));

    today = D(2022, 6, 14); /* last day of Q2 */
    period_current(PERIOD_REPORT, &today, p);
    expect_period(&p[PK_QUARTER], "report:2022-Q2", D(2022, 3, 15), today, D(2022, 6, 14));
    (void)state;
}

static void test_previous_year(void **state)
{
    struct period p;
    struct ldate today = D(2022, 12, 20);
    period_previous_year(PERIOD_CALENDAR, &today, &p);
    expect_period(&p, "2021", D(2021, 1, 1), D(2021, 12, 31), D(2021, 12, 31));
    period_previous_year(PERIOD_REPORT, &today, &p);
    expect_period(&p, "report:2022", D(2021, 12, 15), D(2022, 12, 14), D(2022, 12, 14));
    today = D(2023, 1, 1);
    period_previous_year(PERIOD_CALENDAR, &today, &p);
    expect_period(&p, "2022", D(2022, 1, 1), D(2022, 12, 31), D(2022, 12, 31));
    (void)state;
}

/* Walks every day of four years: today always lies inside each current period, which
 * starts at or before it, and consecutive days change period only at a boundary. */
static void test_every_day(void **state)
{
    for (int mode = PERIOD_CALENDAR; mode <= PERIOD_REPORT; mode++) {
        struct ldate day = D(2021, 1, 1);
        struct period prev[PK_COUNT];
        period_current(mode, &day, prev);
        for (int i = 0; i < 4 * 366; i++) {
            struct period cur[PK_COUNT];
            day = ldate_add_days(&day, 1);
            period_current(mode, &day, cur);
            for (int k = 0; k < PK_COUNT; k++) {
                assert_true(ldate_cmp(&cur[k].from, &day) <= 0);
                assert_true(ldate_cmp(&cur[k].to, &day) == 0);
                assert_true(ldate_cmp(&day, &cur[k].end) <= 0);
                if (strcmp(cur[k].label, prev[k].label) != 0) {
                    /* A new period starts the day after the previous one ended. */
                    struct ldate next = ldate_add_days(&prev[k].end, 1);
                    assert_int_equal(ldate_cmp(&cur[k].from, &next), 0);
                    assert_int_equal(ldate_cmp(&cur[k].from, &day), 0);
                }
            }
            memcpy(prev, cur, sizeof prev);
        }
    }
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_report_mode),
        cmocka_unit_test(test_previous_year),
        cmocka_unit_test(test_every_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
