/* SPDX-License-Identifier: Apache-2.0 */
/* jsplit: one poisoned item among good ones never costs the good ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsplit.h"
#include "util.h"

static const char *const content_path[] = {"content"};
static const struct jsplit_spec igate = {content_path, 1, "MaHoSo", "NgayCapNhat"};
static const char *const items_path[] = {"Data", "Items"};
static const struct jsplit_spec vnpost = {items_path, 2, "ItemCode", "NgayCapNhat"};

/* A page of three dossiers whose middle one carries poison in its DonViXuLy. */
static char *page_with(const char *poison, size_t *len)
{
    struct buf b;
    buf_init(&b);
    buf_puts(&b, "{\"content\":[{\"MaHoSo\":\"A-1\",\"NgayCapNhat\":\"20260101080000\"},\n"
                 " {\"MaHoSo\":\"A-2\",\"NgayCapNhat\":\"20260101080001\",\"DonViXuLy\":");
    buf_puts(&b, poison);
    buf_puts(&b, "},\n {\"MaHoSo\":\"A-3\",\"NgayCapNhat\":\"20260101080002\"}],"
                 "\"number\":0,\"size\":3,\"last\":true}");
    return buf_steal(&b, len);
}

static void expect_one_bad(const char *poison, const char *why)
{
    size_t len;
    char *body = page_with(poison, &len);
    struct jsplit_page p;
    json_error_t jerr;
    char err[256];

    /* the premise: jansson refuses the page as a whole */
    json_t *whole = json_loadb(body, len, JSON_ALLOW_NUL, &jerr);
    if (whole)
        fail_msg("%s: the page decodes whole, nothing to test", why);
    assert_int_equal(jsplit_page(body, len, &igate, &p, err, sizeof err), 0);
    assert_int_equal(p.nitems, 3);
    assert_int_equal(p.ngood, 2);
    json_t *arr = json_object_get(p.envelope, "content");
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "MaHoSo")),
                        "A-1");
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "MaHoSo")),
                        "A-3");
    assert_true(json_is_true(json_object_get(p.envelope, "last")));
    assert_int_equal(json_integer_value(json_object_get(p.envelope, "size")), 3);
    /* the bad one: its bytes, its key and time from the raw bytes, and where it broke */
    const struct jsplit_item *bad = &p.items[1];
    assert_null(bad->value);
    assert_string_equal(bad->key, "A-2");
    assert_string_equal(bad->time, "20260101080001");
    assert_int_equal(body[bad->off], '{');
    assert_non_null(bad->raw);
    assert_memory_equal(bad->raw, body + bad->off, bad->len);
    assert_null(p.items[0].raw);
    assert_int_equal(body[bad->off + bad->len - 1], '}');
    assert_true(strncmp(bad->err, "byte ", 5) == 0);
    size_t at = strtoul(bad->err + 5, NULL, 10);
    if (at < bad->off || at > bad->off + bad->len)
        fail_msg("%s: position %zu outside the item [%zu, %zu): %s", why, at, bad->off,
                 bad->off + bad->len, bad->err);
    jsplit_page_free(&p);
    free(body);
}

static void test_poisoned_items(void **state)
{
    expect_one_bad("\"S\xc3\x28 Tu ph\xc3\xa1p\"", "invalid UTF-8");
    expect_one_bad("\"x\\ud800y\"", "lone surrogate");
    expect_one_bad("\"a\x01 control\"", "raw control byte");
    expect_one_bad("{\"a\":1,}", "trailing comma in an object");
}

/* Numbers jansson cannot hold become strings, so the field's own check sees them. */
static void test_big_numbers_become_strings(void **state)
{
    static const char body[] =
        "{\"content\":[{\"MaHoSo\":\"B-1\",\"MucDo\":1e400,\"X\":[1,2.5,-3e-400]},"
        "{\"MaHoSo\":\"B-2\",\"TrangThaiHoSo\":123456789012345678901234567890},"
        "{\"MaHoSo\":\"B-3\",\"TrangThaiHoSo\":-99999999999999999999,\"s\":\"1e400\"}],"
        "\"last\":true}";
    struct jsplit_page p;
    char err[256];

    assert_int_equal(jsplit_page(body, strlen(body), &igate, &p, err, sizeof err), 0);
    assert_int_equal(p.ngood, 3);
    assert_string_equal(json_string_value(json_object_get(p.items[0].value, "MucDo")), "1e400");
    assert_true(json_is_array(json_object_get(p.items[0].value, "X")));
    assert_string_equal(json_string_value(json_object_get(p.items[1].value, "TrangThaiHoSo")),
                        "123456789012345678901234567890");
    assert_string_equal(json_string_value(json_object_get(p.items[2].value, "TrangThaiHoSo")),
                        "-99999999999999999999");
    assert_string_equal(json_string_value(json_object_get(p.items[2].value, "s")), "1e400");
    jsplit_page_free(&p);

    assert_true(jsplit_number_overflows("1e400", 5));
    assert_true(jsplit_number_overflows("-1e400", 6));
    assert_true(jsplit_number_overflows("9223372036854775808", 19));
    assert_false(jsplit_number_overflows("9223372036854775807", 19));
    assert_false(jsplit_number_overflows("1e-400", 6)); /* underflow: jansson takes it */
    assert_false(jsplit_number_overflows("true", 4));
    assert_false(jsplit_number_overflows("", 0));
}

/* Deep nesting costs the scanner nothing and the item alone is refused by jansson. */
static void test_deep_nesting(void **state)
{
    struct buf b;
    size_t len;
    struct jsplit_page p;
    char err[256];

    buf_init(&b);
    buf_puts(&b, "{\"content\":[{\"MaHoSo\":\"C-1\"},{\"MaHoSo\":\"C-2\",\"extra\":");
    for (int i = 0; i < 5000; i++)
        buf_puts(&b, "[");
    for (int i = 0; i < 5000; i++)
        buf_puts(&b, "]");
    buf_puts(&b, "},{\"MaHoSo\":\"C-3\"}]}");
    char *body = buf_steal(&b, &len);
    assert_int_equal(jsplit_page(body, len, &igate, &p, err, sizeof err), 0);
    assert_int_equal(p.nitems, 3);
    assert_int_equal(p.ngood, 2);
    assert_null(p.items[1].value);
    assert_string_equal(p.items[1].key, "C-2");
    jsplit_page_free(&p);
    free(body);
}

static void test_nested_envelope(void **state)
{
    static const char body[] = "{\"Status\":\"100\",\"Message\":\"Th\xc3\xa0nh c\xc3\xb4ng\","
                               "\"Data\":{\"Page\":1,\"Items\":[{\"ItemCode\":\"EB1VN\","
                               "\"NgayCapNhat\":20260101080000},{\"ItemCode\":\"EB2VN\",\"x\":\""
                               "\xff\"}, {\"ItemCode\":\"EB3VN\"} ],\"TotalPages\":4}}";
    struct jsplit_page p;
    char err[256];

    assert_int_equal(jsplit_page(body, strlen(body), &vnpost, &p, err, sizeof err), 0);
    assert_int_equal(p.nitems, 3);
    assert_int_equal(p.ngood, 2);
    assert_string_equal(p.items[0].time, "20260101080000"); /* a number read raw */
    assert_string_equal(p.items[1].key, "EB2VN");
    json_t *data = json_object_get(p.envelope, "Data");
    assert_int_equal(json_integer_value(json_object_get(data, "TotalPages")), 4);
    assert_int_equal(json_array_size(json_object_get(data, "Items")), 2);
    assert_string_equal(json_string_value(json_object_get(p.envelope, "Status")), "100");
    jsplit_page_free(&p);
}

/* What cannot be split stays a page error, retried as before. */
static void test_unsplittable(void **state)
{
    static const char *const bad[] = {
        "",
        "<html><body>502 Bad Gateway</body></html>",
        "[1,2,3]",
        "{\"content\":[{\"MaHoSo\":\"A\"},{\"MaHoSo\":\"B\"", /* truncated */
        "{\"content\":[{\"MaHoSo\":\"A\"}",                   /* truncated after an item */
        "{\"content\":{\"a\":1}}",                            /* not an array */
        "{\"other\":[]}",                                     /* no content */
        "{\"content\":[1 2]}",                                /* no comma */
        "{\"content\":[1],\"number\":\xff}",                  /* the envelope is bad */
        "{\"content\":[\"unterminated]}",
        "{\"content\" [1]}",
    };
    struct jsplit_page p;
    char err[256];

    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        err[0] = '\0';
        if (jsplit_page(bad[i], strlen(bad[i]), &igate, &p, err, sizeof err) != -1)
            fail_msg("split \"%s\"", bad[i]);
        if (err[0] == '\0')
            fail_msg("no reason for \"%s\"", bad[i]);
        assert_null(p.envelope);
        assert_null(p.items);
    }
    jsplit_page_free(NULL);
}

static void test_empty_and_escapes(void **state)
{
    static const char body[] = "{\"content\":[ ],\"last\":true}";
    static const char esc[] = "{\"content\":[{\"MaHoSo\":\"K\\\"1\",\"v\":\"\\ud800\"}]}";
    struct jsplit_page p;
    char err[256];

    assert_int_equal(jsplit_page(body, strlen(body), &igate, &p, err, sizeof err), 0);
    assert_int_equal(p.nitems, 0);
    assert_int_equal(json_array_size(json_object_get(p.envelope, "content")), 0);
    jsplit_page_free(&p);
    /* a key with an escape is not guessed at: it is left empty */
    assert_int_equal(jsplit_page(esc, strlen(esc), &igate, &p, err, sizeof err), 0);
    assert_int_equal(p.nitems, 1);
    assert_string_equal(p.items[0].key, "");
    jsplit_page_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poisoned_items), cmocka_unit_test(test_big_numbers_become_strings),
        cmocka_unit_test(test_deep_nesting),   cmocka_unit_test(test_nested_envelope),
        cmocka_unit_test(test_unsplittable),   cmocka_unit_test(test_empty_and_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
