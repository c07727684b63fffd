/* SPDX-License-Identifier: Apache-2.0 */
/* onestop-static FILE PORT-FILE: the yardstick of /metrics in the standing benchmark
 * (bench/run.py). It serves the bytes of FILE at every GET path with libmicrohttpd, in the
 * thread model of onestopd's endpoint (daemon/http.c: an internal epoll thread pool of
 * HTTP_EVENT_THREADS) and with the headers onestopd's /metrics answer carries, from one
 * response made once: what the library gives at best for the same page. It listens on
 * 127.0.0.1, on a port the kernel picks, writes that port to PORT-FILE and runs until
 * SIGTERM or SIGINT. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>

#include "http.h"
#include "metrics.h"

#if MHD_VERSION >= 0x00097002
#define MHD_RESULT enum MHD_Result
#else
#define MHD_RESULT int
#endif

struct page {
    struct MHD_Response *ok;
    struct MHD_Response *not_allowed;
};

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    size_t cap = 0, n = 0, got;

    if (!f)
        return NULL;
    do {
        if (n == cap) {
            char *more = realloc(data, cap ? cap * 2 : 65536);
            if (!more) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = more;
            cap = cap ? cap * 2 : 65536;
        }
        got = fread(data + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    if (ferror(f)) {
        free(data);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = n;
    return data;
}

static MHD_RESULT on_request(void *cls, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, const char *upload_data,
                             size_t *upload_data_size, void **con_cls)
{
    static int seen;
    const struct page *p = cls;

    /* Answered in the second call, as onestopd does: a response queued in the first one
     * makes libmicrohttpd close the connection, and keep-alive is what is measured. */
    if (*con_cls != &seen) {
        *con_cls = &seen;
        return MHD_YES;
    }
    *upload_data_size = 0;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, p->not_allowed);
    return MHD_queue_response(c, MHD_HTTP_OK, p->ok);
}

/* Written under a temporary name and renamed, so a reader never sees a partial port. */
static int write_port(const char *path, unsigned port)
{
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    FILE *f;
    int rc = -1;

    if (!tmp)
        return -1;
    snprintf(tmp, n, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f) {
        int bad = fprintf(f, "%u\n", port) < 0;
        if (fclose(f) == 0 && !bad && rename(tmp, path) == 0)
            rc = 0;
    }
    free(tmp);
    return rc;
}

int main(int argc, char **argv)
{
    struct page p = {0};
    struct MHD_Daemon *d = NULL;
    const union MHD_DaemonInfo *info;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t salen = sizeof sa;
    sigset_t set;
    size_t len = 0;
    char *body;
    int sig, rc = EX_SOFTWARE;

    if (argc != 3) {
        fprintf(stderr, "usage: %s FILE PORT-FILE\n", argv[0]);
        return EX_USAGE;
    }
    body = read_file(argv[1], &len);
    if (!body) {
        fprintf(stderr, "onestop-static: %s: %s\n", argv[1], strerror(errno));
        return EX_NOINPUT;
    }
    p.ok = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
    p.not_allowed = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!p.ok || !p.not_allowed) {
        fprintf(stderr, "onestop-static: out of memory\n");
        goto out;
    }
    /* The headers of onestopd's /metrics answer, so the two send the same bytes. */
    MHD_add_response_header(p.ok, MHD_HTTP_HEADER_CONTENT_TYPE, MET_CONTENT_TYPE);
    MHD_add_response_header(p.ok, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(p.ok, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(p.ok, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    MHD_add_response_header(p.not_allowed, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");

    /* Blocked before the pool starts, so its threads inherit the mask and sigwait below is
     * the only place the signals arrive. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                         on_request, &p, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&sa,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned)HTTP_EVENT_THREADS,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_DEFAULT_MAX_CONNECTIONS,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_DEFAULT_TIMEOUT_S,
                         MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "onestop-static: cannot start the HTTP server: %s\n", strerror(errno));
        goto out;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
    if (!info || getsockname(info->listen_fd, (struct sockaddr *)&sa, &salen) != 0) {
        fprintf(stderr, "onestop-static: cannot read the bound port\n");
        goto out;
    }
    if (write_port(argv[2], ntohs(sa.sin_port)) != 0) {
        fprintf(stderr, "onestop-static: %s: %s\n", argv[2], strerror(errno));
        rc = EX_CANTCREAT;
        goto out;
    }
    if (sigwait(&set, &sig) == 0)
        rc = 0;
out:
    if (d)
        MHD_stop_daemon(d);
    if (p.ok)
        MHD_destroy_response(p.ok);
    if (p.not_allowed)
        MHD_destroy_response(p.not_allowed);
    free(body);
    return rc;
}
