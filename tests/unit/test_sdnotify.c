/* SPDX-License-Identifier: Apache-2.0 */
/* sdn: datagrams to a test AF_UNIX socket (path and abstract), watchdog variables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sdnotify.h"

/* Binds a datagram socket to name ('@' = abstract) with a receive timeout. */
static int bind_dgram(const char *name)
{
    struct sockaddr_un sa;
    size_t n = strlen(name);
    socklen_t len;
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    assert_true(n < sizeof sa.sun_path);
    memcpy(sa.sun_path, name, n);
    if (name[0] == '@') {
        sa.sun_path[0] = '\0';
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    if (bind(fd, (struct sockaddr *)&sa, len) != 0)
        fail_msg("bind %s: %s", name, strerror(errno));
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void expect_datagram(int fd, const char *want)
{
    char got[4096];
    ssize_t n = recv(fd, got, sizeof got - 1, 0);
    if (n < 0)
        fail_msg("recv: %s", strerror(errno));
    got[n] = '\0';
    assert_string_equal(got, want);
}

static void test_unset(void **state)
{
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(sdn_notify("READY=1"), 0);
    assert_int_equal(sdn_notifyf("STATUS=%d", 1), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    assert_int_equal(sdn_notify("READY=1"), 0);
    unsetenv("NOTIFY_SOCKET");
}

static void test_path_socket(void **state)
{
    char dir[] = "/tmp/onestop-sdn-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/notify", dir);
    int fd = bind_dgram(path);

    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(sdn_notify("READY=1\nSTATUS=Serving"), 1);
    expect_datagram(fd, "READY=1\nSTATUS=Serving");
    assert_int_equal(sdn_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu", 42ULL), 1);
    expect_datagram(fd, "RELOADING=1\nMONOTONIC_USEC=42");

    /* longer than the stack buffer of sdn_notifyf */
    char status[1500];
    memset(status, 'x', sizeof status - 1);
    status[sizeof status - 1] = '\0';
    assert_int_equal(sdn_notifyf("STATUS=%s", status), 1);
    char want[1600];
    snprintf(want, sizeof want, "STATUS=%s", status);
    expect_datagram(fd, want);

    close(fd);
    unlink(path);
    rmdir(dir);
    /* nobody listening any more */
    assert_int_equal(sdn_notify("STOPPING=1"), -1);
    unsetenv("NOTIFY_SOCKET");
}

static void test_abstract_socket(void **state)
{
    char name[64];
    snprintf(name, sizeof name, "@onestop-sdn-test-%ld-%ld", (long)getpid(), (long)time(NULL));
    int fd = bind_dgram(name);

    setenv("NOTIFY_SOCKET", name, 1);
    assert_int_equal(sdn_notify("WATCHDOG=1"), 1);
    expect_datagram(fd, "WATCHDOG=1");
    close(fd);

    /* the exact address length matters: a longer name is a different socket */
    char longer[80];
    snprintf(longer, sizeof longer, "%sx", name);
    fd = bind_dgram(name);
    setenv("NOTIFY_SOCKET", longer, 1);
    assert_int_equal(sdn_notify("READY=1"), -1);
    close(fd);
    unsetenv("NOTIFY_SOCKET");
}

static void test_bad_socket_names(void **state)
{
    static const char *const bad[] = {"relative/path", "@", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("NOTIFY_SOCKET", bad[i], 1);
        assert_int_equal(sdn_notify("READY=1"), -1);
    }
    char toolong[200];
    toolong[0] = '/';
    memset(toolong + 1, 'a', sizeof toolong - 2);
    toolong[sizeof toolong - 1] = '\0';
    setenv("NOTIFY_SOCKET", toolong, 1);
    assert_int_equal(sdn_notify("READY=1"), -1);
    unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog(void **state)
{
    uint64_t usec = 0;
    char pid[32];

    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    assert_int_equal(sdn_watchdog_usec(&usec), 0);

    setenv("WATCHDOG_USEC", "30000000", 1);
    assert_int_equal(sdn_watchdog_usec(&usec), 1);
    assert_int_equal(usec, 30000000);
    assert_int_equal(sdn_watchdog_usec(NULL), 1);

    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    usec = 0;
    assert_int_equal(sdn_watchdog_usec(&usec), 1);
    assert_int_equal(usec, 30000000);

    /* meant for another process (inherited from a parent) */
    snprintf(pid, sizeof pid, "%ld", (long)getpid() + 1);
    setenv("WATCHDOG_PID", pid, 1);
    assert_int_equal(sdn_watchdog_usec(&usec), 0);
    setenv("WATCHDOG_PID", "abc", 1);
    assert_int_equal(sdn_watchdog_usec(&usec), 0);
    unsetenv("WATCHDOG_PID");

    static const char *const bad[] = {"0", "", "abc", "-5", "12x", " 5", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("WATCHDOG_USEC", bad[i], 1);
        if (sdn_watchdog_usec(&usec) != 0)
            fail_msg("WATCHDOG_USEC=\"%s\" accepted", bad[i]);
    }
    unsetenv("WATCHDOG_USEC");
}

static void test_monotonic(void **state)
{
    uint64_t a = sdn_monotonic_usec();
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
    uint64_t b = sdn_monotonic_usec();
    assert_true(a > 0);
    assert_true(b >= a + 2000);
    assert_true(b - a < 5 * 1000 * 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unset),           cmocka_unit_test(test_path_socket),
        cmocka_unit_test(test_abstract_socket), cmocka_unit_test(test_bad_socket_names),
        cmocka_unit_test(test_watchdog),        cmocka_unit_test(test_monotonic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
