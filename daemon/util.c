/* SPDX-License-Identifier: Apache-2.0 */
/* util: small shared helpers (strings, durations, local dates, buffers). */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A secret is a token or a password: anything bigger is a wrong path. */
#define SECRET_MAX_BYTES (64 * 1024)

#define DURATION_MAX_S (366L * 86400L)

char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap, ap2;
    char *out = NULL;
    int n;

    va_start(ap, fmt);
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    if (n >= 0) {
        out = malloc((size_t)n + 1);
        if (out)
            vsnprintf(out, (size_t)n + 1, fmt, ap2);
    }
    va_end(ap2);
    va_end(ap);
    return out;
}

static int is_digit(char c)
{
    /* not isdigit(): that one depends on the locale */
    return c >= '0' && c <= '9';
}

int util_parse_duration(const char *s, long *out_seconds)
{
    long v = 0, mult = 1;

    if (s == NULL || !is_digit(*s))
        return -1; /* also rejects "", "-1s", "+1s", " 1s" */
    for (; is_digit(*s); s++) {
        v = v * 10 + (*s - '0');
        if (v > DURATION_MAX_S)
            return -1; /* no suffix makes it smaller, and this keeps v from overflowing */
    }
    switch (*s) {
    case '\0':
        break;
    case 's':
        s++;
        break;
    case 'm':
        mult = 60;
        s++;
        break;
    case 'h':
        mult = 3600;
        s++;
        break;
    case 'd':
        mult = 86400;
        s++;
        break;
    default:
        return -1;
    }
    if (*s != '\0' || v == 0 || v > DURATION_MAX_S / mult)
        return -1;
    *out_seconds = v * mult;
    return 0;
}

/* ---- dates ---- */

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int ldate_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m < 1 || m > 12)
        return 0;
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

int ldate_valid(int y, int m, int d)
{
    return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= ldate_days_in_month(y, m);
}

/* n ASCII digits as a number, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int ldate_parse(const char *s, struct ldate *out)
{
    int y, m, d;

    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    y = digits(s, 4);
    m = digits(s + 5, 2);
    d = digits(s + 8, 2);
    if (y < 0 || m < 0 || d < 0 || !ldate_valid(y, m, d))
        return -1;
    out->y = y;
    out->m = m;
    out->d = d;
    return 0;
}

static void put_digits(char *p, int v, int n)
{
    /* Written by hand: snprintf("%04d") into 11 bytes trips -Wformat-truncation. */
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void ldate_format(const struct ldate *d, char out[11])
{
    put_digits(out, clamp(d->y, 0, 9999), 4);
    out[4] = '-';
    put_digits(out + 5, clamp(d->m, 0, 99), 2);
    out[7] = '-';
    put_digits(out + 8, clamp(d->d, 0, 99), 2);
    out[10] = '\0';
}

int ldate_cmp(const struct ldate *a, const struct ldate *b)
{
    if (a->y != b->y)
        return a->y < b->y ? -1 : 1;
    if (a->m != b->m)
        return a->m < b->m ? -1 : 1;
    if (a->d != b->d)
        return a->d < b->d ? -1 : 1;
    return 0;
}

/* Howard Hinnant's days_from_civil / civil_from_days: exact for the proleptic Gregorian
 * calendar, with eras of 400 years so leap centuries come out right. */
long ldate_to_days(const struct ldate *d)
{
    long y = d->y - (d->m <= 2);
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long mp = (d->m + 9) % 12; /* March = 0 */
    long doy = (153 * mp + 2) / 5 + d->d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

struct ldate ldate_from_days(long days)
{
    long z = days + 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    struct ldate r;

    r.d = (int)(doy - (153 * mp + 2) / 5 + 1);
    r.m = (int)(mp < 10 ? mp + 3 : mp - 9);
    r.y = (int)(yoe + era * 400 + (r.m <= 2));
    return r;
}

struct ldate ldate_add_days(const struct ldate *d, long n)
{
    return ldate_from_days(ldate_to_days(d) + n);
}

struct ldate ldate_from_time(time_t t)
{
    /* Plain arithmetic: Vietnam has no DST, and localtime() would follow $TZ, which on
     * a server is usually UTC. Floor division keeps instants before 1970 right. */
    long long s = (long long)t + VN_UTC_OFFSET_S;
    long long days = s / 86400;

    if (s % 86400 < 0)
        days--;
    return ldate_from_days((long)days);
}

int util_dvc_time(const char *s, char iso[20])
{
    int y, mo, d, h, mi, se;

    if (s == NULL)
        return -1;
    for (int i = 0; i < 14; i++) {
        if (!is_digit(s[i]))
            return -1; /* also stops at a short string's NUL */
    }
    if (s[14] != '\0')
        return -1;
    y = digits(s, 4);
    mo = digits(s + 4, 2);
    d = digits(s + 6, 2);
    h = digits(s + 8, 2);
    mi = digits(s + 10, 2);
    se = digits(s + 12, 2);
    if (!ldate_valid(y, mo, d) || h > 23 || mi > 59 || se > 59)
        return -1;
    if (iso) {
        memcpy(iso, s, 4);
        iso[4] = '-';
        memcpy(iso + 5, s + 4, 2);
        iso[7] = '-';
        memcpy(iso + 8, s + 6, 2);
        iso[10] = ' ';
        memcpy(iso + 11, s + 8, 2);
        iso[13] = ':';
        memcpy(iso + 14, s + 10, 2);
        iso[16] = ':';
        memcpy(iso + 17, s + 12, 2);
        iso[19] = '\0';
    }
    return 0;
}

char *util_read_secret(const char *path, char *err, size_t errlen)
{
    char *data = NULL, *out = NULL;
    size_t len = 0;
    int fd = -1;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto cleanup;
    }
    /* One byte more than allowed, to tell "exactly the limit" from "too big". */
    data = malloc(SECRET_MAX_BYTES + 1);
    if (data == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto cleanup;
    }
    while (len < SECRET_MAX_BYTES + 1) {
        ssize_t n = read(fd, data + len, SECRET_MAX_BYTES + 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto cleanup;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > SECRET_MAX_BYTES) {
        snprintf(err, errlen, "%s: larger than %d bytes", path, SECRET_MAX_BYTES);
        goto cleanup;
    }
    /* Editors and `echo` add a newline that is not part of the secret. */
    if (len > 0 && data[len - 1] == '\n') {
        len--;
        if (len > 0 && data[len - 1] == '\r')
            len--;
    }
    if (len == 0) {
        snprintf(err, errlen, "%s: empty", path);
        goto cleanup;
    }
    if (memchr(data, '\0', len) != NULL) {
        snprintf(err, errlen, "%s: contains a NUL byte", path);
        goto cleanup;
    }
    out = malloc(len + 1);
    if (out == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto cleanup;
    }
    memcpy(out, data, len);
    out[len] = '\0';

cleanup:
    if (data) {
        explicit_bzero(data, SECRET_MAX_BYTES + 1);
        free(data);
    }
    if (fd >= 0)
        close(fd);
    return out;
}

/* ---- buf ---- */

void buf_init(struct buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->oom = 0;
}

void buf_free(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* Makes room for n more bytes plus the NUL. 0 or -1 (then b->oom is set). */
static int buf_grow(struct buf *b, size_t n)
{
    size_t need, cap;
    char *p;

    if (b->oom)
        return -1;
    if (n > SIZE_MAX - b->len - 1)
        goto oom;
    need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    p = realloc(b->data, cap);
    if (p == NULL)
        goto oom;
    b->data = p;
    b->cap = cap;
    return 0;
oom:
    b->oom = 1;
    return -1;
}

void buf_reserve(struct buf *b, size_t n)
{
    buf_grow(b, n);
}

void buf_append(struct buf *b, const char *s, size_t n)
{
    if (buf_grow(b, n) < 0)
        return;
    if (n > 0)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    int n;

    va_start(ap, fmt);
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    if (n < 0) {
        b->oom = 1; /* an encoding error: the buffer no longer holds what was asked */
    } else if (buf_grow(b, (size_t)n) == 0) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
    va_end(ap);
}

char *buf_steal(struct buf *b, size_t *len)
{
    char *out;

    if (b->oom) {
        buf_free(b);
        if (len)
            *len = 0;
        return NULL;
    }
    /* An empty buffer still yields a string, so NULL only ever means "no memory". */
    out = b->data ? b->data : strdup("");
    if (len)
        *len = out ? b->len : 0;
    buf_init(b);
    return out;
}

int64_t util_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
