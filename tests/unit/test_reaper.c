/* SPDX-License-Identifier: Apache-2.0 */
/* rp: a socket past its deadline is shut down (its peer reads EOF), one without a deadline
 * or removed in time is left alone, and a moved deadline counts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reaper.h"
#include "util.h"

/* Whether the other end of a socket pair sees EOF within ms. */
static int eof_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;

    if (poll(&p, 1, ms) <= 0)
        return 0;
    return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static void test_deadlines(void **state)
{
    struct rp *r = rp_new(20);
    int a[2], b[2], c[2];

    assert_non_null(r);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, c), 0);
    int64_t t0 = util_now_ms();
    struct rp_entry *ea = rp_add(r, a[0], t0 + 100);
    struct rp_entry *eb = rp_add(r, b[0], 0);
    struct rp_entry *ec = rp_add(r, c[0], t0 + 100);
    assert_non_null(ea);
    assert_non_null(eb);
    assert_non_null(ec);
    rp_set(r, ec, 0); /* headers came in time: no deadline */

    assert_true(eof_within(a[1], 2000));
    int64_t took = util_now_ms() - t0;
    assert_true(took >= 90 && took < 1000);
    assert_false(eof_within(b[1], 200));
    assert_false(eof_within(c[1], 100));
    assert_int_equal(rp_reaped(r), 1);

    /* a deadline set later acts too; one removed before it passes does not */
    rp_set(r, eb, util_now_ms() + 50);
    assert_true(eof_within(b[1], 2000));
    rp_set(r, ec, util_now_ms() + 100);
    rp_remove(r, ec);
    assert_false(eof_within(c[1], 300));
    assert_int_equal(rp_reaped(r), 2);

    rp_remove(r, ea);
    rp_remove(r, NULL);
    rp_set(r, NULL, 1);
    rp_free(r); /* frees eb */
    rp_free(NULL);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
        close(c[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadlines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
