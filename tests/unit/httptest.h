/* SPDX-License-Identifier: Apache-2.0 */
/* A small HTTP(S) client for the server tests: libcurl for whole requests, raw sockets for
 * the half-sent ones. Header-only; every helper may go unused in a given test. */
#ifndef ONESTOP_TEST_HTTPTEST_H
#define ONESTOP_TEST_HTTPTEST_H

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define HT_UNUSED __attribute__((unused))

struct resp {
    long status;
    struct buf body;
    struct buf headers;
    double seconds;    /* total time of the request */
    long new_conns;    /* connections curl opened for it (0: a kept-alive one was reused) */
    char subject[256]; /* of the server's certificate (HTTPS) */
};

/* What a request sends besides the method and the path. */
struct req {
    const char *body;    /* POST */
    const char *userpwd; /* "user:password": basic auth */
    const char *header;  /* one extra header line, e.g. "Accept-Encoding: gzip" */
    int decode;          /* let curl ask for and decode gzip */
    int https;           /* https://, certificate not verified */
    CURL *handle;        /* reuse this handle (and its connection); NULL: a new one */
};

static size_t ht_on_body(char *p, size_t size, size_t n, void *ud)
{
    buf_append(ud, p, size * n);
    return size * n;
}

static HT_UNUSED void resp_free(struct resp *r)
{
    buf_free(&r->body);
    buf_free(&r->headers);
}

/* The subject of the first certificate curl reports (OpenSSL backend: "Subject:..."). */
static void ht_subject(CURL *c, struct resp *r)
{
    struct curl_certinfo *ci = NULL;

    r->subject[0] = '\0';
    if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1)
        return;
    for (struct curl_slist *s = ci->certinfo[0]; s; s = s->next)
        if (strncmp(s->data, "Subject:", 8) == 0)
            snprintf(r->subject, sizeof r->subject, "%s", s->data + 8);
}

/* method "GET", "HEAD", "POST" (with body) or any custom one. 0 or a curl error. */
static HT_UNUSED int fetch_ex(const char *method, unsigned port, const char *path,
                              const struct req *q, struct resp *r)
{
    static const struct req none;
    char *url;
    CURL *c;
    CURLcode rc;
    struct curl_slist *hdrs = NULL;

    if (!q)
        q = &none;
    c = q->handle ? q->handle : curl_easy_init();
    if (!c)
        return CURLE_FAILED_INIT;
    memset(r, 0, sizeof *r);
    buf_init(&r->body);
    buf_init(&r->headers);
    url = xasprintf("%s://127.0.0.1:%u%s", q->https ? "https" : "http", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    free(url); /* curl keeps its own copy */
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ht_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, ht_on_body);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_USERPWD, q->userpwd);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, q->decode ? "" : NULL);
    if (q->https) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
    }
    if (q->header) {
        hdrs = curl_slist_append(NULL, q->header);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    }
    curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body ? q->body : "");
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &r->seconds);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r->new_conns);
    if (q->https && rc == CURLE_OK)
        ht_subject(c, r);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    if (!q->handle)
        curl_easy_cleanup(c);
    if (!r->body.data)
        buf_puts(&r->body, ""); /* so tests can always strcmp */
    buf_puts(&r->headers, "");
    return (int)rc;
}

static HT_UNUSED int fetch(const char *method, unsigned port, const char *path, const char *body,
                           struct resp *r)
{
    struct req q = {.body = body};
    return fetch_ex(method, port, path, &q, r);
}

static HT_UNUSED void get(unsigned port, const char *path, struct resp *r)
{
    int rc = fetch("GET", port, path, NULL, r);
    if (rc != 0)
        fail_msg("GET %s: %s", path, curl_easy_strerror((CURLcode)rc));
}

/* The value of header name (case-insensitive name), "" when absent. */
static HT_UNUSED const char *header(const struct resp *r, const char *name, char *out, size_t n)
{
    size_t len = strlen(name);
    out[0] = '\0';
    for (const char *p = r->headers.data; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if (strncasecmp(p, name, len) == 0 && p[len] == ':') {
            const char *v = p + len + 1;
            while (*v == ' ')
                v++;
            snprintf(out, n, "%.*s", (int)(eol - v), v);
            return out;
        }
        p = eol + 2;
    }
    return out;
}

#define ASSERT_HEADER(r, name, want)                                                               \
    do {                                                                                           \
        char hv_[256];                                                                             \
        assert_string_equal(header((r), (name), hv_, sizeof hv_), (want));                         \
    } while (0)

/* A TCP connection to 127.0.0.1:port from source address src ("127.0.0.2"; NULL: any).
 * The descriptor, or -1. */
static HT_UNUSED int raw_connect(const char *src, unsigned port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if (src) {
        struct sockaddr_in b = {.sin_family = AF_INET};
        inet_pton(AF_INET, src, &b.sin_addr);
        if (bind(fd, (struct sockaddr *)&b, sizeof b) != 0) {
            close(fd);
            return -1;
        }
    }
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static HT_UNUSED int raw_send(int fd, const char *s)
{
    size_t n = strlen(s);
    return send(fd, s, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* Waits up to ms for the peer to close (EOF or reset) and returns 1, or 0 if it did not.
 * Any bytes that come first are read and dropped. */
static HT_UNUSED int raw_closed_within(int fd, int ms)
{
    char tmp[4096];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int64_t end = util_now_ms() + ms;

    for (;;) {
        int64_t left = end - util_now_ms();
        if (left <= 0)
            return 0;
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t n = recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return 1;
    }
}

#endif
