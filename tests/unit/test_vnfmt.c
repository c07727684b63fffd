/* SPDX-License-Identifier: Apache-2.0 */
/* vnfmt: the Vietnamese number and duration formats. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vnfmt.h"

static void test_formats(void **state)
{
    char s[64];

    vnfmt_percent(0.912, s, sizeof s);
    assert_string_equal(s, "91,2%");
    vnfmt_percent(0.95, s, sizeof s);
    assert_string_equal(s, "95,0%");
    vnfmt_percent(1.0, s, sizeof s);
    assert_string_equal(s, "100,0%");
    vnfmt_percent(0.0, s, sizeof s);
    assert_string_equal(s, "0,0%");
    vnfmt_percent(0.12345, s, sizeof s);
    assert_string_equal(s, "12,3%");
    vnfmt_decimal(2.5, 1, s, sizeof s);
    assert_string_equal(s, "2,5");
    vnfmt_decimal(-0.04, 1, s, sizeof s);
    assert_string_equal(s, "0,0"); /* no "-0,0" */
    vnfmt_decimal(-1.25, 2, s, sizeof s);
    assert_string_equal(s, "-1,25");
    vnfmt_decimal(3, 0, s, sizeof s);
    assert_string_equal(s, "3");
    vnfmt_percent(0.5, s, 3); /* truncated, still terminated */
    assert_true(strlen(s) <= 2);

    vnfmt_duration(900, s, sizeof s);
    assert_string_equal(s, "15 phút");
    vnfmt_duration(7 * 86400, s, sizeof s);
    assert_string_equal(s, "7 ngày");
    vnfmt_duration(86400 + 2 * 3600 + 3 * 60 + 4, s, sizeof s);
    assert_string_equal(s, "1 ngày 2 giờ");
    vnfmt_duration(3660, s, sizeof s);
    assert_string_equal(s, "1 giờ 1 phút");
    vnfmt_duration(45, s, sizeof s);
    assert_string_equal(s, "45 giây");
    vnfmt_duration(0, s, sizeof s);
    assert_string_equal(s, "0 giây");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
