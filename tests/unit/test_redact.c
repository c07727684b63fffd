/* SPDX-License-Identifier: Apache-2.0 */
/* redact: what of a URL reaches a log line, and which URLs the config check refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "redact.h"
#include "util.h"

static void test_for_log_host_only(void **state)
{
    char s[128];

    redact_url_for_log("https://user:pa55@hook.example:8443/path/x?token=1#frag", 0, s, sizeof s);
    assert_string_equal(s, "https://hook.example:8443");
    redact_url_for_log("http://127.0.0.1:9095/hook", 0, s, sizeof s);
    assert_string_equal(s, "http://127.0.0.1:9095");
    redact_url_for_log("http://[::1]:80?x=1", 0, s, sizeof s);
    assert_string_equal(s, "http://[::1]:80");
    redact_url_for_log("http://a@b@host/secret-path", 0, s, sizeof s);
    assert_string_equal(s, "http://host");
    redact_url_for_log("http://host", 0, s, sizeof s);
    assert_string_equal(s, "http://host");
    redact_url_for_log("no scheme here", 0, s, sizeof s);
    assert_string_equal(s, "(unparsable URL)");
    redact_url_for_log("://host/x", 0, s, sizeof s);
    assert_string_equal(s, "(unparsable URL)");
    redact_url_for_log(NULL, 0, s, sizeof s);
    assert_string_equal(s, "(unparsable URL)");
    redact_url_for_log("https://user:pa55@hook.example/x", 0, s, 12); /* truncated, terminated */
    assert_string_equal(s, "https://hoo");
    s[0] = 'x';
    redact_url_for_log("https://h/", 0, s, 0); /* no room: nothing written */
    assert_int_equal(s[0], 'x');
}

static void test_for_log_keeps_path(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        /* a raw '@' in the password: the last '@' ends the userinfo, nothing of it leaks */
        {"https://user:pre@secret@host/pa/dossier/search?size=500",
         "https://host/pa/dossier/search"},
        {"https://user:pre@secret@host", "https://host"},
        /* percent-encoded passwords are one userinfo like any other */
        {"https://user:p%40ss%3Aw0rd@igate.example:8443/x", "https://igate.example:8443/x"},
        {"http://%75ser@igate.example/", "http://igate.example/"},
        /* queries and fragments hold tokens and filters */
        {"https://h.example/a/b?token=s3cret&x=1#frag", "https://h.example/a/b"},
        {"https://h.example/a#frag?x", "https://h.example/a"},
        {"https://h.example?q=1", "https://h.example"},
        {"https://h.example#f", "https://h.example"},
        /* an '@' after the authority is not userinfo */
        {"https://h.example/p@th?mail=a@b", "https://h.example/p@th"},
        {"http://[::1]:9787/metrics", "http://[::1]:9787/metrics"},
    };
    char s[256];

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        redact_url_for_log(cases[i].in, 1, s, sizeof s);
        if (strcmp(s, cases[i].want) != 0)
            fail_msg("%s -> %s, want %s", cases[i].in, s, cases[i].want);
        assert_null(strstr(s, "secret"));
        assert_null(strstr(s, "pre"));
    }
}

static void test_split(void **state)
{
    struct redact_url u;
    const char *url = "https://u:p@q@host:1/path?x#y";

    assert_int_equal(redact_url_split(url, &u), 0);
    assert_int_equal(u.scheme_len, 5);
    assert_int_equal(u.auth, 8);
    assert_string_equal(url + u.host, "host:1/path?x#y");
    assert_string_equal(url + u.path, "/path?x#y");
    assert_string_equal(url + u.query, "?x#y");
    assert_int_equal(u.userinfo_ats, 2);

    assert_int_equal(redact_url_split("http://h", &u), 0);
    assert_int_equal(u.host, u.auth);
    assert_int_equal(u.path, strlen("http://h"));
    assert_int_equal(u.query, u.path);
    assert_int_equal(u.userinfo_ats, 0);

    assert_int_equal(redact_url_split("abcdefghijklmnopq://h", &u), -1); /* scheme too long */
}

static void test_ambiguous_userinfo(void **state)
{
    assert_true(redact_userinfo_ambiguous("https://user:pre@secret@host/"));
    assert_true(redact_userinfo_ambiguous("https://@@host"));
    assert_false(redact_userinfo_ambiguous("https://user:pre%40secret@host/"));
    assert_false(redact_userinfo_ambiguous("https://user@host/a@b?c@d#e@f"));
    assert_false(redact_userinfo_ambiguous("https://host/"));
    assert_false(redact_userinfo_ambiguous("not a url @ @"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_for_log_host_only),
        cmocka_unit_test(test_for_log_keeps_path),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_ambiguous_userinfo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
