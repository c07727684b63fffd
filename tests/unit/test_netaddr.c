/* SPDX-License-Identifier: Apache-2.0 */
/* netaddr: the listen-address syntax, as the config check and the HTTP server read it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "netaddr.h"
#include "util.h"

static void test_literal(void **state)
{
    struct netaddr_listen a;

    assert_int_equal(netaddr_parse_listen("127.0.0.1:9787", 1, &a), 0);
    assert_string_equal(a.host, "127.0.0.1");
    assert_int_equal(a.port, 9787);
    assert_false(a.ipv6);
    assert_false(a.any);
    assert_int_equal(netaddr_parse_listen("*:80", 1, &a), 0);
    assert_string_equal(a.host, "");
    assert_int_equal(a.port, 80);
    assert_true(a.any);
    assert_int_equal(netaddr_parse_listen("0.0.0.0:65535", 1, &a), 0);
    assert_string_equal(a.host, "0.0.0.0");
    assert_int_equal(netaddr_parse_listen("[::]:1", 1, &a), 0);
    assert_string_equal(a.host, "::");
    assert_true(a.ipv6);
    assert_int_equal(netaddr_parse_listen("[fe80::1:2]:9787", 1, &a), 0);
    assert_string_equal(a.host, "fe80::1:2");

    static const char *const bad[] = {
        "",      ":80",    "127.0.0.1:",  "127.0.0.1:x",    "127.0.0.1:+80", "127.0.0.1:080080",
        "[::1]", "[::1]:", "::1:80",      "[127.0.0.1]:80", "host:80",       "1.2.3:80",
        "*",     "**:80",  "127.0.0.1:0", "[]:80",          "[::1]80",       "[::1:80",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        if (netaddr_parse_listen(bad[i], 1, &a) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_int_equal(netaddr_parse_listen(NULL, 1, &a), -1);
}

static void test_names_and_port_zero(void **state)
{
    struct netaddr_listen a;

    /* the server resolves names and takes port 0 (the kernel picks one) */
    assert_int_equal(netaddr_parse_listen("localhost:0", 0, &a), 0);
    assert_string_equal(a.host, "localhost");
    assert_int_equal(a.port, 0);
    assert_int_equal(netaddr_parse_listen("127.0.0.1:0", 0, &a), 0);

    static const char *const bad[] = {"nonsense",     "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999",
                                      "127.0.0.1:x1", ":9787",     "::1:9787",   "[::1]9787",
                                      "[]:9787",      "[::1:9787"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        if (netaddr_parse_listen(bad[i], 0, &a) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal),
        cmocka_unit_test(test_names_and_port_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
