/* SPDX-License-Identifier: Apache-2.0 */
/* htp: the basic-auth users file (see htpasswd.h). */
#include "htpasswd.h"

#include <crypt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* "$2y$10$" + 22 characters of salt + 31 of hash. */
#define BCRYPT_LEN 60

struct htp_user {
    char *name;
    char hash[BCRYPT_LEN + 1];
    int line;
};

struct htp_users {
    struct htp_user *v;
    size_t n;
    char dummy[BCRYPT_LEN + 1];
};

/* The salt and hash of a real `htpasswd -B` output: a dummy must be a valid setting, or
 * crypt would fail fast and give away that the user is unknown. */
static const char DUMMY_TAIL[BCRYPT_LEN - 7 + 1] =
    "8iW8q.eB6GJqw1moqbDQ.OgmManKjlEzuXjVT5ARSRSnpQbr.LRSK";

__attribute__((format(printf, 5, 6))) static int fail(char *err, size_t errlen, const char *origin,
                                                      int line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(err, errlen, "%s:%d: %s", origin, line, msg);
    else
        snprintf(err, errlen, "%s: %s", origin, msg);
    return -1;
}

static int bcrypt_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '/';
}

/* The cost of a well-formed bcrypt hash of len bytes, or -1. */
static int bcrypt_cost(const char *h, size_t len)
{
    int cost;

    if (len != BCRYPT_LEN || h[0] != '$' || h[1] != '2' ||
        (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') || h[3] != '$' || h[6] != '$')
        return -1;
    if (h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9')
        return -1;
    cost = (h[4] - '0') * 10 + (h[5] - '0');
    if (cost < 4 || cost > 31)
        return -1;
    for (size_t i = 7; i < len; i++)
        if (!bcrypt_char(h[i]))
            return -1;
    return cost;
}

/* Why a hash is refused, naming the scheme when it is a known other one. */
static const char *why_not_bcrypt(const char *h, size_t len)
{
    if (len >= 6 && memcmp(h, "$apr1$", 6) == 0)
        return "an MD5 ($apr1$) hash";
    if (len >= 5 && memcmp(h, "{SHA}", 5) == 0)
        return "a SHA-1 ({SHA}) hash";
    if (len >= 3 && (memcmp(h, "$5$", 3) == 0 || memcmp(h, "$6$", 3) == 0))
        return "a SHA-crypt hash";
    if (len >= 2 && memcmp(h, "$2", 2) == 0)
        return "a malformed bcrypt hash";
    return "not a bcrypt hash";
}

void htp_free(struct htp_users *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->n; i++)
        free(u->v[i].name);
    /* Hashes are not secrets in the usual sense, but no copy need outlive its use. */
    if (u->v)
        explicit_bzero(u->v, u->n * sizeof *u->v);
    free(u->v);
    free(u);
}

int htp_parse(const char *buf, size_t len, const char *origin, struct htp_users **out, char *err,
              size_t errlen)
{
    struct htp_users *u = calloc(1, sizeof *u);
    size_t cap = 0, pos = 0;
    int line = 0, max_cost = 0, rc = -1;

    *out = NULL;
    if (!origin)
        origin = "(users)";
    if (!u)
        return fail(err, errlen, origin, 0, "out of memory");
    while (pos < len) {
        const char *s = buf + pos, *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        line++;
        if (n > 0 && s[n - 1] == '\r')
            n--; /* a file written on Windows */
        if (memchr(s, '\0', n)) {
            fail(err, errlen, origin, line, "malformed line (contains a NUL byte)");
            goto cleanup;
        }
        size_t blank = 0;
        while (blank < n && (s[blank] == ' ' || s[blank] == '\t'))
            blank++;
        if (blank == n || s[0] == '#')
            continue;
        const char *colon = memchr(s, ':', n);
        if (!colon) {
            fail(err, errlen, origin, line, "malformed line (expected NAME:HASH)");
            goto cleanup;
        }
        size_t nlen = (size_t)(colon - s), hlen = n - nlen - 1;
        const char *h = colon + 1;
        if (nlen == 0 || nlen > HTP_MAX_NAME) {
            fail(err, errlen, origin, line, "user name empty or longer than %d bytes",
                 HTP_MAX_NAME);
            goto cleanup;
        }
        for (size_t i = 0; i < nlen; i++) {
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
                fail(err, errlen, origin, line, "user name holds a control character");
                goto cleanup;
            }
        }
        int cost = bcrypt_cost(h, hlen);
        if (cost < 0) {
            /* The name is safe to show; the hash is not echoed. */
            fail(err, errlen, origin, line,
                 "user \"%.*s\": %s; only bcrypt is accepted (htpasswd -nBC 10 NAME)", (int)nlen, s,
                 why_not_bcrypt(h, hlen));
            goto cleanup;
        }
        for (size_t i = 0; i < u->n; i++) {
            if (strlen(u->v[i].name) == nlen && memcmp(u->v[i].name, s, nlen) == 0) {
                fail(err, errlen, origin, line, "user \"%.*s\" again (first on line %d)", (int)nlen,
                     s, u->v[i].line);
                goto cleanup;
            }
        }
        if (u->n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct htp_user *nv = realloc(u->v, ncap * sizeof *nv);
            if (!nv) {
                fail(err, errlen, origin, 0, "out of memory");
                goto cleanup;
            }
            u->v = nv;
            cap = ncap;
        }
        struct htp_user *e = &u->v[u->n];
        e->name = strndup(s, nlen);
        if (!e->name) {
            fail(err, errlen, origin, 0, "out of memory");
            goto cleanup;
        }
        memcpy(e->hash, h, BCRYPT_LEN);
        e->hash[BCRYPT_LEN] = '\0';
        e->line = line;
        u->n++;
        if (cost > max_cost)
            max_cost = cost;
    }
    if (u->n == 0) {
        fail(err, errlen, origin, 0, "no users (expected NAME:HASH lines)");
        goto cleanup;
    }
    /* "$2y$NN$" and the tail: 7 + 53 = BCRYPT_LEN bytes. */
    memcpy(u->dummy, "$2y$00$", 7);
    u->dummy[4] = (char)('0' + max_cost / 10);
    u->dummy[5] = (char)('0' + max_cost % 10);
    memcpy(u->dummy + 7, DUMMY_TAIL, BCRYPT_LEN - 7);
    u->dummy[BCRYPT_LEN] = '\0';
    *out = u;
    u = NULL;
    rc = 0;
cleanup:
    htp_free(u);
    return rc;
}

int htp_load(const char *path, struct htp_users **out, char *err, size_t errlen)
{
    char rerr[512];
    char *data;
    int rc;

    *out = NULL;
    /* util_read_secret: bounded size, no NUL bytes, errors that never quote the content. */
    data = util_read_secret(path, rerr, sizeof rerr);
    if (!data) {
        snprintf(err, errlen, "%s", rerr);
        return -1;
    }
    rc = htp_parse(data, strlen(data), path, out, err, errlen);
    explicit_bzero(data, strlen(data));
    free(data);
    return rc;
}

size_t htp_count(const struct htp_users *u)
{
    return u ? u->n : 0;
}

int htp_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char diff = alen != blen;
    size_t n = alen < blen ? alen : blen;

    for (size_t i = 0; i < n; i++)
        diff |= x[i] ^ y[i];
    return diff == 0;
}

const char *htp_hash(const struct htp_users *u, const char *user, int *known)
{
    const char *hash;
    size_t ulen;

    *known = 0;
    if (!u)
        return NULL;
    hash = u->dummy;
    ulen = user ? strlen(user) : 0;
    /* Every name is compared, so the time does not tell where (or whether) it matched. */
    for (size_t i = 0; i < u->n && user; i++) {
        if (htp_ct_equal(u->v[i].name, strlen(u->v[i].name), user, ulen)) {
            hash = u->v[i].hash;
            *known = 1;
        }
    }
    return hash;
}

int htp_check(const char *hash, const char *password)
{
    struct crypt_data *cd;
    const char *out;
    int ok = 0;

    if (!hash || !password)
        return 0;
    /* crypt_rn: thread-safe with its own ~32 KiB state, and NULL (not a "*0" string) on
     * failure. */
    cd = calloc(1, sizeof *cd);
    if (!cd)
        return 0;
    out = crypt_rn(password, hash, cd, (int)sizeof *cd);
    if (out)
        ok = htp_ct_equal(out, strlen(out), hash, strlen(hash));
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    return ok;
}
