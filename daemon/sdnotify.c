/* SPDX-License-Identifier: Apache-2.0 */
/* sdn: the sd_notify(3) datagram protocol without libsystemd: one datagram to the
 * AF_UNIX socket named by $NOTIFY_SOCKET, '@' meaning the abstract namespace. */
#include "sdnotify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int sdn_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    socklen_t salen;
    size_t n;
    ssize_t sent;
    int fd;

    if (!path || !*path)
        return 0;
    n = strlen(path);
    /* Only absolute paths and abstract names; an abstract name needs a character. */
    if ((path[0] != '/' && path[0] != '@') || n < 2 || n >= sizeof sa.sun_path) {
        errno = EINVAL;
        return -1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@') {
        /* Abstract names are not NUL-terminated: the length says where they end. */
        sa.sun_path[0] = '\0';
        salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&sa, salen);
    int saved = errno;
    close(fd);
    if (sent < 0) {
        errno = saved;
        return -1;
    }
    return 1;
}

int sdn_notifyf(const char *fmt, ...)
{
    va_list ap;
    char small[256], *msg = small;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n >= sizeof small) {
        msg = malloc((size_t)n + 1);
        if (!msg)
            return -1;
        va_start(ap, fmt);
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    rc = sdn_notify(msg);
    if (msg != small)
        free(msg);
    return rc;
}

/* A whole unsigned decimal number (no sign, no spaces). 0 or -1. */
static int parse_u64(const char *s, unsigned long long *out)
{
    char *end;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno == 0 && *end == '\0' ? 0 : -1;
}

int sdn_watchdog_usec(uint64_t *usec)
{
    unsigned long long u, pid;
    const char *p = getenv("WATCHDOG_PID");

    /* sd_watchdog_enabled(3): 0 or unparsable is "off"; a WATCHDOG_PID that is not ours
     * means the variables were inherited from a parent the watchdog is meant for. */
    if (parse_u64(getenv("WATCHDOG_USEC"), &u) != 0 || u == 0 || u == UINT64_MAX)
        return 0;
    if (p && *p && (parse_u64(p, &pid) != 0 || pid != (unsigned long long)getpid()))
        return 0;
    if (usec)
        *usec = (uint64_t)u;
    return 1;
}

uint64_t sdn_monotonic_usec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
