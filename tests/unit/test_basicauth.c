/* SPDX-License-Identifier: Apache-2.0 */
/* ba: full checks, the cache of successes (and only of successes), and a users swap that
 * forgets it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "basicauth.h"
#include "htpasswd.h"
#include "util.h"

/* htpasswd -nbBC 10 prom secret */
#define PROM_SECRET "$2y$10$8iW8q.eB6GJqw1moqbDQ.OgmManKjlEzuXjVT5ARSRSnpQbr.LRSK"

static struct htp_users *users(const char *text)
{
    struct htp_users *u;
    char err[256];

    if (htp_parse(text, strlen(text), "users", &u, err, sizeof err) != 0)
        fail_msg("%s", err);
    return u;
}

static void test_verify_and_cache(void **state)
{
    struct ba *a = ba_new();

    assert_non_null(a);
    assert_false(ba_enabled(a));
    assert_false(ba_cached(a, "prom", "secret"));
    assert_false(ba_verify(a, "prom", "secret")); /* off: nothing verifies */

    ba_set_users(a, users("prom:" PROM_SECRET "\n"));
    assert_true(ba_enabled(a));
    assert_false(ba_cached(a, "prom", "secret"));
    /* failures are not cached, and an unknown user fails whatever the password */
    assert_false(ba_verify(a, "prom", "wrong"));
    assert_false(ba_cached(a, "prom", "wrong"));
    assert_false(ba_verify(a, "nobody", "secret"));
    assert_false(ba_verify(a, NULL, "secret"));
    assert_false(ba_verify(a, "prom", NULL));
    assert_true(ba_verify(a, "prom", "secret"));
    assert_true(ba_cached(a, "prom", "secret"));
    /* the cache key is the pair: no other password, no other user, no shifted split */
    assert_false(ba_cached(a, "prom", "secreT"));
    assert_false(ba_cached(a, "pro", "msecret"));
    assert_false(ba_cached(a, "proms", "ecret"));
    assert_false(ba_cached(a, NULL, "secret"));
    assert_true(ba_verify(a, "prom", "secret")); /* again: refreshes, does not duplicate */

    /* new users: the cache is forgotten */
    ba_set_users(a, users("prom:" PROM_SECRET "\n"));
    assert_false(ba_cached(a, "prom", "secret"));
    ba_set_users(a, NULL);
    assert_false(ba_enabled(a));
    assert_false(ba_cached(a, "prom", "secret"));
    ba_free(a);
    ba_free(NULL);
}

/* More successes than slots: the cache stays bounded and keeps the latest. */
static void test_cache_bounded(void **state)
{
    struct ba *a = ba_new();
    char text[256];

    snprintf(text, sizeof text, "prom:%s\n", PROM_SECRET);
    ba_set_users(a, users(text));
    assert_true(ba_verify(a, "prom", "secret"));
    /* Failures never evict: the good entry stays through many of them. */
    for (int i = 0; i < BA_CACHE_SLOTS + 4; i++) {
        char pw[16];
        snprintf(pw, sizeof pw, "pw%d", i);
        assert_false(ba_verify(a, "nobody", pw));
    }
    assert_true(ba_cached(a, "prom", "secret"));
    ba_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_and_cache),
        cmocka_unit_test(test_cache_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
