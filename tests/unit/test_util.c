/* SPDX-License-Identifier: Apache-2.0 */
/* util: durations, dates, DVCQG timestamps, secrets, buffers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void test_duration_ok(void **state)
{
    static const struct {
        const char *in;
        long want;
    } ok[] = {
        {"90s", 90},
        {"5m", 300},
        {"1h", 3600},
        {"7d", 604800},
        {"300", 300},
        {"1", 1},
        {"1s", 1},
        {"366d", 366L * 86400},
        {"0090s", 90},
        {"31622400", 31622400},
        {"8784h", 8784L * 3600},
    };
    for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
        long v = -1;
        assert_int_equal(util_parse_duration(ok[i].in, &v), 0);
        assert_int_equal(v, ok[i].want);
    }
}

static void test_duration_bad(void **state)
{
    static const char *const bad[] = {
        "",      "5x",
        "-1s",   "0s",
        "0",     "s",
        "+5s",   " 5s",
        "5s ",   "5 s",
        "5ss",   "1.5h",
        "367d",  "31622401",
        "8785h", "527041m",
        "1e3",   "0x10",
        "5S",    "99999999999999999999999999s",
        "1w",    "9223372036854775807d",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        long v = 42;
        if (util_parse_duration(bad[i], &v) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(v, 42); /* untouched on error */
    }
    assert_int_equal(util_parse_duration(NULL, NULL), -1);
}

static void test_leap_years(void **state)
{
    assert_int_equal(ldate_days_in_month(2024, 2), 29);
    assert_int_equal(ldate_days_in_month(2023, 2), 28);
    assert_int_equal(ldate_days_in_month(2000, 2), 29); /* divisible by 400 */
    assert_int_equal(ldate_days_in_month(1900, 2), 28); /* by 100 but not 400 */
    assert_int_equal(ldate_days_in_month(2100, 2), 28);
    assert_int_equal(ldate_days_in_month(2022, 4), 30);
    assert_int_equal(ldate_days_in_month(2022, 12), 31);
    assert_int_equal(ldate_days_in_month(2022, 0), 0);
    assert_int_equal(ldate_days_in_month(2022, 13), 0);

    assert_true(ldate_valid(2024, 2, 29));
    assert_false(ldate_valid(2023, 2, 29));
    assert_false(ldate_valid(1900, 2, 29));
    assert_true(ldate_valid(2000, 2, 29));
    assert_false(ldate_valid(2022, 4, 31));
    assert_false(ldate_valid(2022, 1, 0));
    assert_false(ldate_valid(0, 1, 1));
}

static void test_ldate_parse_format(void **state)
{
    struct ldate d;
    char s[11];

    assert_int_equal(ldate_parse("2022-12-31", &d), 0);
    assert_int_equal(d.y, 2022);
    assert_int_equal(d.m, 12);
    assert_int_equal(d.d, 31);
    ldate_format(&d, s);
    assert_string_equal(s, "2022-12-31");

    assert_int_equal(ldate_parse("2024-02-29", &d), 0);
    assert_int_equal(ldate_parse("2000-02-29", &d), 0);

    static const char *const bad[] = {
        "2022-02-30", "2023-02-29", "1900-02-29",  "2022-13-01", "2022-00-10",
        "2022-01-00", "2022-1-01",  "22-01-01",    "2022/01/01", "2022-01-01x",
        "",           "2022-01-0a", " 2022-01-01",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        if (ldate_parse(bad[i], &d) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_int_equal(ldate_parse(NULL, &d), -1);

    d = (struct ldate){5, 1, 2};
    ldate_format(&d, s);
    assert_string_equal(s, "0005-01-02");
}

static void test_ldate_days(void **state)
{
    struct ldate epoch = {1970, 1, 1}, d = {2000, 3, 1}, r;

    assert_int_equal(ldate_to_days(&epoch), 0);
    assert_int_equal(ldate_to_days(&d), 11017);
    d = (struct ldate){1969, 12, 31};
    assert_int_equal(ldate_to_days(&d), -1);

    /* a round trip over several 400-year cycles, one day at a time */
    struct ldate prev = ldate_from_days(-200000);
    for (long n = -199999; n <= 200000; n++) {
        struct ldate cur = ldate_from_days(n);
        assert_true(ldate_valid(cur.y, cur.m, cur.d));
        assert_int_equal(ldate_to_days(&cur), n);
        assert_true(ldate_cmp(&prev, &cur) < 0);
        prev = cur;
    }

    d = (struct ldate){2024, 2, 28};
    r = ldate_add_days(&d, 1);
    assert_true(r.y == 2024 && r.m == 2 && r.d == 29);
    r = ldate_add_days(&d, 2);
    assert_true(r.y == 2024 && r.m == 3 && r.d == 1);
    d = (struct ldate){2023, 2, 28};
    r = ldate_add_days(&d, 1);
    assert_true(r.y == 2023 && r.m == 3 && r.d == 1);
    d = (struct ldate){2023, 1, 1};
    r = ldate_add_days(&d, -1);
    assert_true(r.y == 2022 && r.m == 12 && r.d == 31);
    r = ldate_add_days(&d, 365);
    assert_true(r.y == 2024 && r.m == 1 && r.d == 1);

    struct ldate a = {2022, 12, 31}, b = {2023, 1, 1};
    assert_true(ldate_cmp(&a, &b) < 0);
    assert_true(ldate_cmp(&b, &a) > 0);
    assert_int_equal(ldate_cmp(&a, &a), 0);
}

static void check_new_year(void)
{
    struct tm tm = {0};
    time_t t;
    struct ldate d;

    /* 2022-12-31 16:59:59 UTC is 23:59:59 in Vietnam */
    tm.tm_year = 2022 - 1900;
    tm.tm_mon = 11;
    tm.tm_mday = 31;
    tm.tm_hour = 16;
    tm.tm_min = 59;
    tm.tm_sec = 59;
    t = timegm(&tm);
    assert_int_equal((long long)t, 1672505999LL);

    d = ldate_from_time(t);
    assert_true(d.y == 2022 && d.m == 12 && d.d == 31);
    d = ldate_from_time(t + 1); /* 17:00:00 UTC: midnight in Vietnam */
    assert_true(d.y == 2023 && d.m == 1 && d.d == 1);
    {
        /* whereas the process's own zone (UTC, New York) still says 2022 */
        time_t t1 = t + 1;
        struct tm lt;
        assert_non_null(localtime_r(&t1, &lt));
        if (strcmp(getenv("TZ"), "Asia/Tokyo") != 0)
            assert_int_equal(lt.tm_year + 1900, 2022);
    }

    /* before 1970, floor division */
    d = ldate_from_time(0);
    assert_true(d.y == 1970 && d.m == 1 && d.d == 1);
    d = ldate_from_time(-7 * 3600);
    assert_true(d.y == 1970 && d.m == 1 && d.d == 1);
    d = ldate_from_time(-7 * 3600 - 1);
    assert_true(d.y == 1969 && d.m == 12 && d.d == 31);
    /* a leap day */
    d = ldate_from_time(1709139600); /* 2024-02-28 17:00:00Z */
    assert_true(d.y == 2024 && d.m == 2 && d.d == 29);
}

static void test_ldate_from_time_ignores_tz(void **state)
{
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

    setenv("TZ", "UTC", 1);
    tzset();
    check_new_year();
    setenv("TZ", "America/New_York", 1);
    tzset();
    check_new_year();
    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    check_new_year();

    if (old) {
        setenv("TZ", old, 1);
        free(old);
    } else {
        unsetenv("TZ");
    }
    tzset();
}

static void test_dvc_time(void **state)
{
    char iso[20];

    memset(iso, 'x', sizeof(iso));
    assert_int_equal(util_dvc_time("20220103083000", iso), 0);
    assert_string_equal(iso, "2022-01-03 08:30:00");
    assert_int_equal(util_dvc_time("20240229235959", iso), 0);
    assert_string_equal(iso, "2024-02-29 23:59:59");
    assert_int_equal(util_dvc_time("20000229000000", NULL), 0);
    assert_int_equal(util_dvc_time("20221231000000", NULL), 0);

    static const char *const bad[] = {
        "20230229000000",  /* not a leap year */
        "19000229000000",  /* century, not a leap year */
        "20220431000000",  /* April has 30 days */
        "20220001000000",  /* month 0 */
        "20221301000000",  /* month 13 */
        "20220100000000",  /* day 0 */
        "20220132000000",  /* day 32 */
        "20220103240000",  /* hour 24 */
        "20220103006000",  /* minute 60 */
        "20220103000060",  /* second 60 */
        "2022010308300",   /* 13 digits */
        "202201030830000", /* 15 digits */
        "2022010308300a",
        "2022-01-03 08:3",
        " 20220103083000",
        "20220103083000 ",
        "",
        "\xd9\xa2\x30\x32\x32\x30\x31\x30\x33\x30\x38\x33\x30\x30\x30", /* Arabic-Indic 2 */
        "+0220103083000",
        "00000101000000", /* year 0 */
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        if (util_dvc_time(bad[i], iso) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_int_equal(util_dvc_time(NULL, iso), -1);
}

static char tmpdir[64];

static char *write_tmp(const char *name, const char *data, size_t len)
{
    char *path = xasprintf("%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    return path;
}

static void expect_secret(const char *data, size_t len, const char *want)
{
    char err[256] = "";
    char *path = write_tmp("secret", data, len);
    char *s = util_read_secret(path, err, sizeof(err));

    if (want == NULL) {
        assert_null(s);
        assert_non_null(strstr(err, path));
    } else {
        assert_non_null(s);
        assert_string_equal(s, want);
    }
    free(s);
    unlink(path);
    free(path);
}

static void test_read_secret(void **state)
{
    char err[256];
    char *s, *big, *path;

    expect_secret("hunter2", 7, "hunter2");
    expect_secret("hunter2\n", 8, "hunter2");
    expect_secret("hunter2\r\n", 9, "hunter2");
    expect_secret("hunter2\n\n", 9, "hunter2\n"); /* one newline only */
    expect_secret("hunter2\r", 8, "hunter2\r");   /* a lone CR is content */
    expect_secret(" pass word ", 11, " pass word ");
    expect_secret("", 0, NULL);
    expect_secret("\n", 1, NULL);
    expect_secret("\r\n", 2, NULL);
    expect_secret("ab\0cd", 5, NULL);

    /* exactly 64 KiB is fine, one byte more is not; the message never shows content */
    big = malloc(65537);
    memset(big, 'Z', 65537);
    path = write_tmp("big", big, 65536);
    s = util_read_secret(path, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(strlen(s), 65536);
    free(s);
    free(path);
    path = write_tmp("big", big, 65537);
    s = util_read_secret(path, err, sizeof(err));
    assert_null(s);
    assert_non_null(strstr(err, path));
    assert_null(strstr(err, "ZZZ"));
    free(path);
    free(big);

    path = xasprintf("%s/missing", tmpdir);
    s = util_read_secret(path, err, sizeof(err));
    assert_null(s);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file or directory"));
    free(path);

    /* a directory */
    s = util_read_secret(tmpdir, err, sizeof(err));
    assert_null(s);
    assert_non_null(strstr(err, tmpdir));
}

static void test_buf(void **state)
{
    struct buf b;
    size_t len = 99;
    char *s;

    buf_init(&b);
    s = buf_steal(&b, &len);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);

    buf_puts(&b, "hello");
    buf_append(&b, ", ", 2);
    buf_printf(&b, "%s %d", "world", 42);
    assert_string_equal(b.data, "hello, world 42");
    assert_int_equal(b.len, 15);
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    for (int i = 0; i < 10000; i++)
        buf_printf(&b, "%04d", i % 10000);
    assert_int_equal(b.len, 40000);
    assert_int_equal(strlen(b.data), 40000);
    assert_memory_equal(b.data + 4 * 1234, "1234", 4);
    buf_append(&b, "a\0b", 3); /* binary-safe */
    assert_int_equal(b.len, 40003);
    s = buf_steal(&b, &len);
    assert_int_equal(len, 40003);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(s);

    b.oom = 1; /* after a failed allocation appends are ignored and steal says so */
    buf_puts(&b, "x");
    assert_int_equal(b.len, 0);
    assert_null(buf_steal(&b, &len));
    assert_int_equal(len, 0);
    buf_free(&b);
    buf_free(&b);
}

static void test_strings_and_clock(void **state)
{
    char *s = xasprintf("%s-%03d", "a", 7);
    int64_t t0, t1;

    assert_string_equal(s, "a-007");
    free(s);
    assert_null(xstrdup(NULL));
    s = xstrdup("x");
    assert_string_equal(s, "x");
    sfree(s);
    assert_null(s);

    t0 = util_now_ms();
    usleep(20000);
    t1 = util_now_ms();
    assert_true(t1 - t0 >= 19);
    assert_true(t1 - t0 < 5000);
}

static int setup(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_util.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char *cmd = xasprintf("rm -rf '%s'", tmpdir);
    int rc = system(cmd);
    free(cmd);
    return rc == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_ok), cmocka_unit_test(test_duration_bad),
        cmocka_unit_test(test_leap_years),  cmocka_unit_test(test_ldate_parse_format),
        cmocka_unit_test(test_ldate_days),  cmocka_unit_test(test_ldate_from_time_ignores_tz),
        cmocka_unit_test(test_dvc_time),    cmocka_unit_test(test_read_secret),
        cmocka_unit_test(test_buf),         cmocka_unit_test(test_strings_and_clock),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
