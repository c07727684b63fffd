/* SPDX-License-Identifier: Apache-2.0 */
/* cfgopt: each value type on a table of its own: defaults, reading, showing, comparing
 * and freeing, and the row flags the types honour. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgopt.h"
#include "util.h"

struct sample {
    char *name;
    char *url;
    char *urls;
    char *path;
    char *key_file;
    char *key;
    char *day;
    char *listen;
    char *level;
    char *conninfo;
    long wait_s;
    long grace_s;
    long optional_s;
    long count;
    double ratio;
    double points;
    enum period_mode mode;
};

#define T struct sample
static const struct cfgopt rows[] = {
    CFGOPT_STRING("name", T, name, NULL, 0, "A name."),
    CFGOPT_URL("url", T, url, NULL, CFGOPT_STRIP_SLASH, "A URL."),
    CFGOPT_URL_LIST("urls", T, urls, NULL, 0, "URLs."),
    CFGOPT_URLPATH("path", T, path, "/a/b", CFGOPT_EMPTY_OK, "A path."),
    CFGOPT_SECRET_FILE("key_file", T, key_file, key, 0, "A key."),
    CFGOPT_DATE("day", T, day, NULL, 0, "A day."),
    CFGOPT_LISTEN("listen", T, listen, "127.0.0.1:80", CFGOPT_RESTART, "An address."),
    CFGOPT_LOG_LEVEL("level", T, level, "info", 0, "A level."),
    CFGOPT_CONNINFO("conninfo", T, conninfo, "dbname=x", 0, "A database."),
    CFGOPT_DURATION("wait", T, wait_s, "90s", 0, "A wait."),
    CFGOPT_DURATION0("grace", T, grace_s, "0s", 0, "A grace."),
    CFGOPT_DURATION("optional", T, optional_s, NULL, 0, "Optional."),
    CFGOPT_LONG("count", T, count, "3", 1, 9, 0, "A count."),
    CFGOPT_RATIO("ratio", T, ratio, NULL, 0, "A ratio."),
    CFGOPT_POINTS("points", T, points, "2", 0, "Points."),
    CFGOPT_PERIOD_MODE("mode", T, mode, "calendar", 0, "A mode."),
};
#undef T

static const struct cfgopt_table table = CFGOPT_TABLE(rows, struct sample);
static char dir[64];

static const struct cfgopt *row(const char *name)
{
    const struct cfgopt *o = cfgopt_find(rows, ARRAY_LEN(rows), name);
    assert_non_null(o);
    return o;
}

static struct sample *fresh(void)
{
    char msg[256] = "";
    struct sample *s = cfgopt_new(&table, NULL, msg, sizeof(msg));

    if (s == NULL)
        fail_msg("cfgopt_new: %s", msg);
    return s;
}

/* Sets key to v in s, expecting success. */
static void set(struct sample *s, const char *key, const char *v)
{
    struct cfgopt_env env = {dir, NULL};
    char msg[512] = "";

    if (cfgopt_parse(row(key), s, v, &env, msg, sizeof(msg)) != 0)
        fail_msg("%s = %s: %s", key, v, msg);
}

static void expect_bad(const char *key, const char *v, const char *what)
{
    struct sample *s = fresh();
    struct cfgopt_env env = {dir, NULL};
    char msg[512] = "";

    assert_int_equal(cfgopt_parse(row(key), s, v, &env, msg, sizeof(msg)), -1);
    if (strstr(msg, what) == NULL)
        fail_msg("%s = %s: expected \"%s\" in: %s", key, v, what, msg);
    cfgopt_free(&table, s);
}

/* key as --print-config shows it: "value", "value ; note", "(unset)" or "(oom)". */
static char *shown(const struct sample *s, const char *key)
{
    struct buf b;
    char note[96];
    char *out;
    int rc;

    buf_init(&b);
    rc = cfgopt_format(row(key), s, &b, note, sizeof(note));
    if (rc == CFGOPT_UNSET)
        out = xstrdup("(unset)");
    else if (rc < 0)
        out = xstrdup("(oom)");
    else if (note[0])
        out = xasprintf("%s ; %s", b.data, note);
    else
        out = xstrdup(b.data);
    buf_free(&b);
    assert_non_null(out);
    return out;
}

static void expect_shown(const struct sample *s, const char *key, const char *want)
{
    char *got = shown(s, key);
    assert_string_equal(got, want);
    free(got);
}

static void test_defaults(void **state)
{
    struct sample *s = fresh();

    assert_null(s->name);
    assert_string_equal(s->path, "/a/b");
    assert_string_equal(s->listen, "127.0.0.1:80");
    assert_int_equal(s->wait_s, 90);
    assert_int_equal(s->grace_s, 0);
    assert_int_equal(s->optional_s, 0);
    assert_int_equal(s->count, 3);
    assert_true(isnan(s->ratio)); /* unset, unlike a ratio of 0 */
    assert_float_equal(s->points, 2.0, 1e-12);
    assert_int_equal(s->mode, PERIOD_CALENDAR);

    expect_shown(s, "name", "(unset)");
    expect_shown(s, "key_file", "(unset)");
    expect_shown(s, "wait", "90s");
    expect_shown(s, "grace", "0s");
    expect_shown(s, "optional", "(unset)");
    expect_shown(s, "ratio", "(unset)");
    expect_shown(s, "points", "2");
    expect_shown(s, "mode", "calendar");
    cfgopt_free(&table, s);
    cfgopt_free(&table, NULL);
    cfgopt_release(rows, ARRAY_LEN(rows), NULL);
}

static void test_values(void **state)
{
    struct sample *s = fresh();
    char *keypath = xasprintf("%s/k.secret", dir);
    FILE *f = fopen(keypath, "wb");

    assert_non_null(f);
    fputs("s3cret\n", f);
    fclose(f);

    set(s, "name", " spaced name ");
    set(s, "url", "https://u:pw@h.example/api/?q=1");
    set(s, "path", "");
    set(s, "key_file", "k.secret");
    set(s, "day", "2024-02-29");
    set(s, "wait", "2h");
    set(s, "grace", "0");
    set(s, "optional", "86400");
    set(s, "count", "9");
    set(s, "ratio", ".5");
    set(s, "points", "1.5");
    set(s, "mode", "report");
    set(s, "name", "again"); /* a second value replaces the first */

    assert_string_equal(s->name, "again");
    assert_string_equal(s->path, "");
    assert_string_equal(s->key_file, keypath); /* relative to env.dir */
    assert_string_equal(s->key, "s3cret");
    assert_string_equal(s->url, "https://u:pw@h.example/api/?q=1"); /* a query keeps its '/' */
    set(s, "url", "http://h.example/x//");
    assert_string_equal(s->url, "http://h.example/x");
    set(s, "url", "http://h.example/");
    assert_string_equal(s->url, "http://h.example"); /* never into the "://" */

    expect_shown(s, "name", "again");
    expect_shown(s, "path", "");
    char *k = shown(s, "key_file"); /* the path, never the content */
    assert_non_null(strstr(k, "/k.secret ; secret (set)"));
    assert_null(strstr(k, "s3cret"));
    free(k);
    expect_shown(s, "day", "2024-02-29");
    expect_shown(s, "wait", "2h");
    expect_shown(s, "grace", "0s");
    expect_shown(s, "optional", "1d");
    expect_shown(s, "count", "9");
    expect_shown(s, "ratio", "0.5");
    expect_shown(s, "points", "1.5");
    expect_shown(s, "mode", "report");

    /* URLs are masked where secrets hide; a URL with nothing to hide is shown as is */
    set(s, "url", "https://u:pw@h.example/api?token=x");
    expect_shown(s, "url", "https://***@h.example/api?... ; masked: userinfo and query hidden");
    set(s, "url", "https://h.example/api");
    expect_shown(s, "url", "https://h.example/api");
    set(s, "urls", "https://hooks.example/T0/secret   http://127.0.0.1:9");
    expect_shown(s, "urls", "https://hooks.example/... http://127.0.0.1:9 ; masked: path hidden");
    set(s, "urls", "http://a.example   http://b.example/");
    expect_shown(s, "urls", "http://a.example   http://b.example/"); /* as written */

    cfgopt_free(&table, s); /* ASan: nothing leaks, the secret included */
    unlink(keypath);
    free(keypath);
}

static void test_errors(void **state)
{
    expect_bad("name", "", "name: empty value");
    expect_bad("name", "a\tb", "name: control characters are not allowed");
    expect_bad("url", "ftp://x", "url: expected a URL like https://host[:port][/path]");
    expect_bad("url", "https://u:a@b@h/", "url: the user:password part of a URL holds a raw '@'");
    expect_bad("urls", "http://a ftp://b", "urls: expected one or more URLs");
    expect_bad("path", "a/b", "path: expected an absolute path like /a/b (no query string)");
    expect_bad("path", "/a?b", "path: expected an absolute path");
    expect_bad("key_file", "missing.secret", "key_file: cannot read secret: ");
    expect_bad("day", "2023-02-29", "day: expected a date YYYY-MM-DD, got \"2023-02-29\"");
    expect_bad("listen", "localhost:80", "listen: expected IPV4:PORT, [IPV6]:PORT or *:PORT");
    expect_bad("level", "loud", "level: expected error, warning, notice, info or debug");
    expect_bad("conninfo", "password=x", "conninfo: must not contain a password");
    expect_bad("wait", "0s", "wait: expected a duration like 90s, 5m, 1h or 7d (1s to 366d)");
    expect_bad("grace", "-1s", "grace: expected a duration like 0s, 90s");
    expect_bad("count", "10", "count: expected an integer from 1 to 9, got \"10\"");
    expect_bad("count", "0x1", "count: expected an integer from 1 to 9");
    expect_bad("ratio", "1.01", "ratio: expected a number from 0 to 1 like 0.25");
    expect_bad("ratio", "nan", "ratio: expected a number from 0 to 1");
    expect_bad("points", "0", "points: expected percentage points above 0 and at most 100");
    expect_bad("mode", "weekly", "mode: expected calendar or report, got \"weekly\"");

    /* a bad default in a table is caught when the defaults are applied */
    static const struct cfgopt bad[] = {
        CFGOPT_LONG("count", struct sample, count, "99", 1, 9, 0, "A count."),
    };
    static const struct cfgopt_table bad_table = CFGOPT_TABLE(bad, struct sample);
    char msg[256];
    assert_null(cfgopt_new(&bad_table, NULL, msg, sizeof(msg)));
    assert_non_null(strstr(msg, "count: expected an integer from 1 to 9"));
}

static void test_differs_and_reference(void **state)
{
    struct sample *a = fresh(), *b = fresh();
    char extra[128];

    for (size_t i = 0; i < ARRAY_LEN(rows); i++)
        assert_int_equal(cfgopt_differs(&rows[i], a, b), 0);
    set(b, "listen", "127.0.0.1:81");
    set(b, "count", "4");
    set(b, "ratio", "0");
    set(b, "mode", "report");
    assert_int_equal(cfgopt_differs(row("listen"), a, b), 1);
    assert_int_equal(cfgopt_differs(row("count"), a, b), 1);
    assert_int_equal(cfgopt_differs(row("ratio"), a, b), 1); /* unset is not 0 */
    assert_int_equal(cfgopt_differs(row("mode"), a, b), 1);
    assert_int_equal(cfgopt_differs(row("name"), a, b), 0);
    set(a, "name", "x");
    assert_int_equal(cfgopt_differs(row("name"), a, b), 1);
    cfgopt_free(&table, a);
    cfgopt_free(&table, b);

    cfgopt_describe(row("count"), extra, sizeof(extra));
    assert_string_equal(extra, " Range 1 to 9.");
    cfgopt_describe(row("wait"), extra, sizeof(extra));
    assert_string_equal(extra, " A duration: 90s, 5m, 1h, 7d.");
    cfgopt_describe(row("grace"), extra, sizeof(extra));
    assert_string_equal(extra, " A duration: 0s, 90s, 5m, 1h, 7d.");
    cfgopt_describe(row("name"), extra, sizeof(extra));
    assert_string_equal(extra, "");

    assert_null(cfgopt_find(rows, ARRAY_LEN(rows), "nope"));
    assert_int_equal(row("listen")->flags & CFGOPT_RESTART, CFGOPT_RESTART);
    assert_int_equal(table.size, sizeof(struct sample));
    assert_int_equal(table.nopts, ARRAY_LEN(rows));
}

/* Sizes: KiB, MiB, GiB or bytes, within the row's range, printed back in the unit. */
static void test_size(void **state)
{
    struct sized {
        long body;
    } v = {0};
    static const struct cfgopt row =
        CFGOPT_SIZE("max_body", struct sized, body, "64MiB", 1L << 10, 1L << 30, 0, "A size.");
    static const struct {
        const char *in;
        long want;
    } ok[] = {{"64MiB", 64L << 20},
              {"1KiB", 1024},
              {"1GiB", 1L << 30},
              {"2048", 2048},
              {"512KiB", 512L << 10}};
    static const char *const bad[] = {"1023",  "2GiB",   "1025MiB",
                                      "64M",   "64 MiB", "MiB",
                                      "-1KiB", "1.5MiB", "99999999999999999999GiB"};
    struct cfgopt_env env = {0};
    char msg[256];
    struct buf b;

    for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
        if (cfgopt_parse(&row, &v, ok[i].in, &env, msg, sizeof msg) != 0)
            fail_msg("refused %s: %s", ok[i].in, msg);
        assert_int_equal(v.body, ok[i].want);
    }
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        msg[0] = '\0';
        if (cfgopt_parse(&row, &v, bad[i], &env, msg, sizeof msg) == 0)
            fail_msg("accepted \"%s\"", bad[i]);
        if (!strstr(msg, "max_body: expected a size like 64MiB"))
            fail_msg("%s: %s", bad[i], msg);
    }
    buf_init(&b);
    v.body = 64L << 20;
    assert_int_equal(cfgopt_format(&row, &v, &b, msg, sizeof msg), 0);
    assert_string_equal(b.data, "64MiB");
    buf_reset(&b);
    v.body = 3072;
    assert_int_equal(cfgopt_format(&row, &v, &b, msg, sizeof msg), 0);
    assert_string_equal(b.data, "3KiB");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults), cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors),   cmocka_unit_test(test_differs_and_reference),
        cmocka_unit_test(test_size),
    };
    int rc;

    snprintf(dir, sizeof(dir), "/tmp/test_cfgopt.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(dir);
    return rc;
}
