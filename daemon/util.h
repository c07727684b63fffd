/* SPDX-License-Identifier: Apache-2.0 */
/* util: small shared helpers (strings, durations, local dates, buffers). */
#ifndef ONESTOP_UTIL_H
#define ONESTOP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Frees and nulls. */
#define sfree(p)                                                                                   \
    do {                                                                                           \
        free(p);                                                                                   \
        (p) = NULL;                                                                                \
    } while (0)

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define STR_(x) #x
#define STR(x) STR_(x)

/* Vietnam is UTC+07:00 with no DST; every date in the product is local to it. */
#define VN_UTC_OFFSET_S (7 * 3600)

/* New string or NULL on allocation failure; NULL in, NULL out. */
char *xstrdup(const char *s);
/* snprintf into a new string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses "90s", "5m", "1h", "7d" (or a bare number of seconds) into seconds.
 * Returns 0, or -1 for a bad value or one outside [1, 366d]. */
int util_parse_duration(const char *s, long *out_seconds);

/* A local calendar date in Asia/Ho_Chi_Minh. */
struct ldate {
    int y, m, d;
};

/* "YYYY-MM-DD" -> date; 0 or -1 (also for impossible dates such as 2022-02-30). */
int ldate_parse(const char *s, struct ldate *out);
/* Writes "YYYY-MM-DD" (11 bytes with NUL). */
void ldate_format(const struct ldate *d, char out[11]);
int ldate_valid(int y, int m, int d);
int ldate_days_in_month(int y, int m);
/* Negative, zero or positive like strcmp. */
int ldate_cmp(const struct ldate *a, const struct ldate *b);
/* The local date in Vietnam at instant t, whatever TZ says. */
struct ldate ldate_from_time(time_t t);
/* Days since 1970-01-01 (can be negative) and back. */
long ldate_to_days(const struct ldate *d);
struct ldate ldate_from_days(long days);
struct ldate ldate_add_days(const struct ldate *d, long n);

/*
 * Checks a DVCQG "yyyyMMddHHmmss" local timestamp (exactly 14 ASCII digits, a real
 * calendar date and time). On success writes "YYYY-MM-DD HH:MM:SS" (20 bytes with NUL)
 * into iso (if not NULL) and returns 0; returns -1 otherwise.
 */
int util_dvc_time(const char *s, char iso[20]);

/* Reads a whole small file (a secret, at most 64 KiB); strips one trailing "\n" or "\r\n".
 * New string, or NULL with err naming the path and the reason (never the content) when the
 * file cannot be read, is too big, is empty or holds a NUL byte. */
char *util_read_secret(const char *path, char *err, size_t errlen);

/* Growable byte buffer, always NUL-terminated when len > 0. */
struct buf {
    char *data;
    size_t len, cap;
    int oom; /* set once an allocation failed; later appends are ignored */
};
void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_append(struct buf *b, const char *s, size_t n);
/* Makes room for n more bytes at once (a hint: appends grow the buffer anyway). */
void buf_reserve(struct buf *b, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the data to the caller (caller frees) and resets b. An empty buffer gives "";
 * NULL only when an allocation failed (b->oom), the buffer is then freed. */
char *buf_steal(struct buf *b, size_t *len);

/* Monotonic clock in milliseconds. */
int64_t util_now_ms(void);

#endif
