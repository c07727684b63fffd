/* SPDX-License-Identifier: Apache-2.0 */
/* rec: canonical records, record batches and the field readers shared by the adapters. */
#include "record.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <utf8proc.h>

#include "util.h"

const char *rec_kind_name(enum feed_kind k)
{
    switch (k) {
    case FEED_DOSSIER:
        return "dossier";
    case FEED_PROCEDURE:
        return "procedure";
    case FEED_SHIPMENT:
        return "shipment";
    }
    return "unknown";
}

size_t rec_ncols(enum feed_kind k)
{
    switch (k) {
    case FEED_DOSSIER:
        return DC_NCOLS;
    case FEED_PROCEDURE:
        return PC_NCOLS;
    case FEED_SHIPMENT:
        return SC_NCOLS;
    }
    return 0;
}

const char *rec_reason_name(enum rec_reason r)
{
    static const char *const names[REASON_COUNT] = {
        [REASON_BAD_JSON] = "bad_json",
        [REASON_MISSING_KEY] = "missing_key",
        [REASON_BAD_CODE] = "bad_code",
        [REASON_BAD_DATE] = "bad_date",
        [REASON_MISSING_RECEIPT] = "missing_receipt",
        [REASON_MISSING_FINISH] = "missing_finish",
        [REASON_FINISH_BEFORE_RECEIPT] = "finish_before_receipt",
    };
    if ((int)r < 0 || r >= REASON_COUNT)
        return "unknown";
    return names[r];
}

/* ---- batches ---- */

static void rec_record_free(struct record *r)
{
    for (size_t i = 0; i < REC_MAX_COLS; i++)
        sfree(r->col[i]);
    sfree(r->key);
    sfree(r->raw);
}

static void rec_reject_free(struct reject *j)
{
    sfree(j->key);
    sfree(j->updated);
    sfree(j->detail);
    sfree(j->raw);
}

void rec_batch_init(struct record_batch *b, enum feed_kind kind)
{
    memset(b, 0, sizeof(*b));
    b->kind = kind;
}

void rec_batch_clear(struct record_batch *b)
{
    enum feed_kind kind = b->kind;

    rec_batch_strip(b);
    for (size_t i = 0; i < b->nrejs; i++)
        rec_reject_free(&b->rejs[i]);
    free(b->rejs);
    free(b->cursor_key);
    rec_batch_init(b, kind);
}

void rec_batch_strip(struct record_batch *b)
{
    if (b->recs)
        for (size_t i = 0; i < b->nrecs; i++)
            rec_record_free(&b->recs[i]);
    free(b->recs);
    b->recs = NULL;
    b->caprecs = 0;
}

/* Grows *arr (of elem-sized items) so that one more fits. */
static int rec_reserve(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    if (ncap < n + 1 || ncap > SIZE_MAX / elem)
        return -1;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Ownership passes to the batch even on failure, so callers never have to tell the two
 * cases apart when cleaning up: on -1 the strings are already freed. */
int rec_batch_add(struct record_batch *b, struct record *r)
{
    void *arr = b->recs;
    if (rec_reserve(&arr, &b->caprecs, b->nrecs, sizeof(*b->recs)) < 0) {
        rec_record_free(r);
        return -1;
    }
    b->recs = arr;
    b->recs[b->nrecs++] = *r;
    memset(r, 0, sizeof(*r));
    return 0;
}

int rec_batch_reject(struct record_batch *b, struct reject *j)
{
    void *arr = b->rejs;
    if (rec_reserve(&arr, &b->caprejs, b->nrejs, sizeof(*b->rejs)) < 0) {
        rec_reject_free(j);
        return -1;
    }
    b->rejs = arr;
    b->rejs[b->nrejs++] = *j;
    memset(j, 0, sizeof(*j));
    return 0;
}

/* Makes room for n more elements at once, so that a move either happens whole or not at
 * all. */
static int rec_reserve_n(void **arr, size_t *cap, size_t used, size_t more, size_t elem)
{
    if (more == 0 || used + more <= *cap)
        return 0;
    if (more > SIZE_MAX / elem - used)
        return -1;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < used + more)
        ncap = ncap > SIZE_MAX / 2 / elem ? used + more : ncap * 2;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

int rec_batch_move(struct record_batch *dst, struct record_batch *src)
{
    void *recs = dst->recs, *rejs = dst->rejs;

    if (rec_reserve_n(&recs, &dst->caprecs, dst->nrecs, src->nrecs, sizeof(*dst->recs)) < 0)
        return -1;
    dst->recs = recs;
    if (rec_reserve_n(&rejs, &dst->caprejs, dst->nrejs, src->nrejs, sizeof(*dst->rejs)) < 0)
        return -1;
    dst->rejs = rejs;

    if (src->nrecs)
        memcpy(dst->recs + dst->nrecs, src->recs, src->nrecs * sizeof(*src->recs));
    dst->nrecs += src->nrecs;
    if (src->nrejs)
        memcpy(dst->rejs + dst->nrejs, src->rejs, src->nrejs * sizeof(*src->rejs));
    dst->nrejs += src->nrejs;
    if (src->cursor_time[0] && src->cursor_key)
        rec_batch_offer_cursor(dst, src->cursor_time, src->cursor_key);
    dst->server_last = src->server_last;

    /* The strings now belong to dst: drop src's arrays without freeing their contents. */
    src->nrecs = 0;
    src->nrejs = 0;
    rec_batch_clear(src);
    return 0;
}

void rec_batch_offer_cursor(struct record_batch *b, const char *dvc_time, const char *key)
{
    if (!dvc_time || strlen(dvc_time) != 14 || !key)
        return;
    if (b->cursor_time[0] && b->cursor_key) {
        int c = strcmp(dvc_time, b->cursor_time);
        if (c < 0 || (c == 0 && strcmp(key, b->cursor_key) <= 0))
            return;
    }
    /* On allocation failure the older, smaller position stays: the next sync then
     * re-reads a few records, which the idempotent upsert absorbs. */
    char *k = xstrdup(key);
    if (!k)
        return;
    free(b->cursor_key);
    b->cursor_key = k;
    memcpy(b->cursor_time, dvc_time, 15);
}

/* ---- field readers ---- */

static int rec_is_absent(const json_t *v)
{
    return !v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

enum rec_field rec_get_code(const json_t *obj, const char *key, long lo, long hi, long *out)
{
    const json_t *v = json_object_get(obj, key);
    long val = 0;

    if (rec_is_absent(v))
        return FIELD_ABSENT;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < (json_int_t)LONG_MIN || i > (json_int_t)LONG_MAX)
            return FIELD_BAD;
        val = (long)i;
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        /* Digits only: no sign, no blanks, no embedded NUL, so " 2", "+2", "2a" are bad. */
        for (size_t i = 0; i < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                return FIELD_BAD;
            int d = s[i] - '0';
            if (val > (LONG_MAX - d) / 10)
                return FIELD_BAD;
            val = val * 10 + d;
        }
    } else {
        return FIELD_BAD; /* a real (2.0), a boolean, an array or an object */
    }
    if (val < lo || val > hi)
        return FIELD_BAD;
    if (out)
        *out = val;
    return FIELD_OK;
}

enum rec_field rec_get_date(const json_t *obj, const char *key, char iso[20], char raw[15])
{
    const json_t *v = json_object_get(obj, key);
    char digits[32];
    char tmp[20];

    if (rec_is_absent(v))
        return FIELD_ABSENT;
    if (json_is_string(v)) {
        if (json_string_length(v) != 14)
            return FIELD_BAD;
        memcpy(digits, json_string_value(v), 15);
    } else if (json_is_integer(v)) {
        /* Some exports drop the quotes; the 14 digits are the same date. */
        json_int_t i = json_integer_value(v);
        if (i < 0)
            return FIELD_BAD;
        snprintf(digits, sizeof(digits), "%" JSON_INTEGER_FORMAT, i);
        if (strlen(digits) != 14)
            return FIELD_BAD;
    } else {
        return FIELD_BAD;
    }
    if (util_dvc_time(digits, tmp) != 0)
        return FIELD_BAD;
    if (iso)
        memcpy(iso, tmp, 20);
    if (raw)
        memcpy(raw, digits, 15);
    return FIELD_OK;
}

char *rec_json_string(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v), nul = 0;
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++)
        nul += s[i] == '\0';
    char *out = malloc(n + 2 * nul + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\0') {
            memcpy(o, "\xEF\xBF\xBD", 3); /* U+FFFD: text columns cannot hold NUL */
            o += 3;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* jansson's dump of a real (strconv.c jsonp_dtostr, precision 17): the shortest "%.17g",
 * a ".0" when that reads as an integer, and no '+' or leading zeros in the exponent. */
static void rec_json_real(struct buf *b, double v)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof tmp - 3) {
        buf_puts(b, "null");
        return;
    }
    if (!strchr(tmp, '.') && !strchr(tmp, 'e')) {
        memcpy(tmp + n, ".0", 3);
        n += 2;
    }
    char *e = strchr(tmp, 'e');
    if (e) {
        char *start = e + 1, *end = e + 2;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start)
            memmove(start, end, strlen(end) + 1);
    }
    buf_puts(b, tmp);
}

/* A JSON string as jansson writes it (compact, UTF-8 kept), except that NUL, which jsonb
 * refuses as \u0000, becomes U+FFFD. jansson only holds valid UTF-8, so only the bytes
 * below 0x20, the quote and the backslash need an escape. */
static void rec_json_str(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0;

    buf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        size_t len = 2;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_append(b, s + run, i - run);
        run = i + 1;
        esc[0] = '\\';
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case 0:
            memcpy(esc, "\\ufffd", 6);
            len = 6;
            break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            len = 6;
            break;
        }
        buf_append(b, esc, len);
    }
    buf_append(b, s + run, n - run);
    buf_append(b, "\"", 1);
}

void rec_json_write(struct buf *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        int first = 1;
        buf_append(b, "{", 1);
        /* Insertion order, as jansson's own dump. */
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            key = json_object_iter_key(it);
            val = json_object_iter_value(it);
            if (!first)
                buf_append(b, ",", 1);
            first = 0;
            rec_json_str(b, key, json_object_iter_key_len(it));
            buf_append(b, ":", 1);
            rec_json_write(b, val);
        }
        buf_append(b, "}", 1);
        break;
    }
    case JSON_ARRAY:
        buf_append(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i > 0)
                buf_append(b, ",", 1);
            rec_json_write(b, json_array_get(v, i));
        }
        buf_append(b, "]", 1);
        break;
    case JSON_STRING:
        rec_json_str(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        rec_json_real(b, json_real_value(v));
        break;
    case JSON_TRUE:
        buf_append(b, "true", 4);
        break;
    case JSON_FALSE:
        buf_append(b, "false", 5);
        break;
    case JSON_NULL:
        buf_append(b, "null", 4);
        break;
    }
}

char *rec_json_dump(const json_t *item)
{
    /* Written directly rather than by json_dumps, which checks every object and array
     * for cycles through a hash table and walks strings code point by code point: the
     * dump of each record was a sixth of the daemon's CPU. */
    struct buf b;
    buf_init(&b);
    buf_reserve(&b, 1024);
    if (item)
        rec_json_write(&b, item);
    /* A page's records wait in the pipeline for a while: give back the doubling's slack,
     * up to half of what was reserved. */
    if (!b.oom && b.cap > b.len + 1) {
        char *p = realloc(b.data, b.len + 1);
        if (p) {
            b.data = p;
            b.cap = b.len + 1;
        }
    }
    return buf_steal(&b, NULL);
}

enum rec_field rec_get_text(const json_t *obj, const char *key, char **out)
{
    const json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (rec_is_absent(v))
        return FIELD_ABSENT;
    if (json_is_string(v)) {
        char *plain = rec_json_string(v);
        *out = rec_nfc(plain);
        free(plain);
    } else if (json_is_integer(v)) {
        *out = xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else {
        return FIELD_BAD;
    }
    /* jansson only holds valid UTF-8, so a NULL here is out of memory. */
    return *out ? FIELD_OK : FIELD_BAD;
}

/* The names of a feed repeat from record to record (agencies, procedures, fields), and
 * NFC normalisation costs a decomposition and a recomposition with allocations each time:
 * each thread keeps its last results, by a hash of the text. */
#define REC_NFC_CACHE 128

struct rec_nfc_cache {
    char *in[REC_NFC_CACHE], *out[REC_NFC_CACHE];
};

static pthread_key_t rec_nfc_key;
static pthread_once_t rec_nfc_once = PTHREAD_ONCE_INIT;
static int rec_nfc_key_ok;

static void rec_nfc_cache_free(void *p)
{
    struct rec_nfc_cache *c = p;
    if (!c)
        return;
    for (size_t i = 0; i < REC_NFC_CACHE; i++) {
        free(c->in[i]);
        free(c->out[i]);
    }
    free(c);
}

static void rec_nfc_key_init(void)
{
    rec_nfc_key_ok = pthread_key_create(&rec_nfc_key, rec_nfc_cache_free) == 0;
}

static struct rec_nfc_cache *rec_nfc_cache_get(void)
{
    struct rec_nfc_cache *c;
    pthread_once(&rec_nfc_once, rec_nfc_key_init);
    if (!rec_nfc_key_ok)
        return NULL;
    c = pthread_getspecific(rec_nfc_key);
    if (!c && (c = calloc(1, sizeof *c)) != NULL && pthread_setspecific(rec_nfc_key, c) != 0) {
        free(c);
        c = NULL;
    }
    return c;
}

char *rec_nfc(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    int ascii = 1;

    if (!s)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h = (h ^ *p) * 16777619u;
        ascii &= *p < 0x80;
    }
    if (ascii)
        return xstrdup(s); /* ASCII is its own normal form */
    struct rec_nfc_cache *c = rec_nfc_cache_get();
    size_t i = h % REC_NFC_CACHE;
    if (c && c->in[i] && strcmp(c->in[i], s) == 0)
        return xstrdup(c->out[i]);
    char *out = (char *)utf8proc_NFC((const utf8proc_uint8_t *)s);
    if (c && out) {
        char *in_copy = xstrdup(s), *out_copy = xstrdup(out);
        if (in_copy && out_copy) {
            free(c->in[i]);
            free(c->out[i]);
            c->in[i] = in_copy;
            c->out[i] = out_copy;
        } else {
            free(in_copy);
            free(out_copy);
        }
    }
    return out;
}

/* The bytes as valid UTF-8 for reading: each byte that starts no valid character (and
 * NUL, which no PostgreSQL text holds) becomes U+FFFD. */
static char *rec_utf8_lossy(const char *s, size_t n)
{
    struct buf b;
    size_t i = 0;

    buf_init(&b);
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0 || cp == 0) {
            buf_puts(&b, "\xEF\xBF\xBD");
            i++;
            continue;
        }
        buf_append(&b, s + i, (size_t)k);
        i += (size_t)k;
    }
    return buf_steal(&b, NULL);
}

static char *rec_base64(const unsigned char *s, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1), *p = out;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        *p++ = tab[v >> 18 & 63];
        *p++ = tab[v >> 12 & 63];
        *p++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *p++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *p = '\0';
    return out;
}

/* A key read from raw bytes names the record only if the store can hold it as text. */
static int rec_key_usable(const char *key)
{
    size_t n = strlen(key);
    const char *p = key;

    if (n == 0)
        return 0;
    while (*p) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)p, -1, &cp);
        if (k <= 0 || cp < 0x20 || cp == 0x7f)
            return 0;
        p += k;
    }
    return 1;
}

int rec_batch_reject_undecodable(struct record_batch *b, const char *bytes, size_t len,
                                 const char *key, const char *dvc_time, const char *why)
{
    struct reject j = {0};
    char iso[20];
    json_t *raw = NULL;
    char *text = NULL, *b64 = NULL;
    int rc = -1;

    text = rec_utf8_lossy(bytes, len);
    b64 = rec_base64((const unsigned char *)bytes, len);
    if (!text || !b64)
        goto cleanup;
    /* jsonb holds only valid JSON: the text to read, and the bytes themselves, losslessly. */
    raw = json_pack("{s:s,s:s}", "undecodable", text, "bytes_base64", b64);
    if (!raw || !(j.raw = json_dumps(raw, JSON_COMPACT)))
        goto cleanup;
    if (key && rec_key_usable(key) && !(j.key = xstrdup(key)))
        goto cleanup;
    if (dvc_time && util_dvc_time(dvc_time, iso) == 0 && !(j.updated = xstrdup(iso)))
        goto cleanup;
    j.reason = REASON_BAD_JSON;
    if (!(j.detail = xasprintf("item does not decode: %s", why)))
        goto cleanup;
    /* The cursor moves past it like past any bad record whose key and time are known. */
    if (j.key && j.updated)
        rec_batch_offer_cursor(b, dvc_time, j.key);
    rc = rec_batch_reject(b, &j);
cleanup:
    if (rc != 0) {
        free(j.key);
        free(j.updated);
        free(j.detail);
        free(j.raw);
    }
    json_decref(raw);
    free(text);
    free(b64);
    return rc;
}
