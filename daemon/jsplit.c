/* SPDX-License-Identifier: Apache-2.0 */
/* jsplit: the items of a page whose body does not decode as a whole. */
#include "jsplit.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The scanner knows strings, escapes and nesting, and nothing of values' meaning: bytes
 * that are not valid UTF-8, lone surrogates or absurd numbers pass through it, and only
 * the item that holds them is then refused by jansson. It never recurses, so nesting
 * depth costs nothing. */

static size_t skip_ws(const char *b, size_t len, size_t i)
{
    while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'))
        i++;
    return i;
}

/* b[i] is '"': the index after the closing quote, or len + 1 when there is none. */
static size_t skip_string(const char *b, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (b[i] == '\\')
            i++;
        else if (b[i] == '"')
            return i + 1;
    }
    return len + 1;
}

static int is_delim(char c)
{
    return c == ',' || c == ']' || c == '}' || c == ':' || c == ' ' || c == '\t' || c == '\n' ||
           c == '\r';
}

/* One value starting at b[i]: the index after it, or len + 1 when it is truncated or its
 * brackets do not balance. */
static size_t skip_value(const char *b, size_t len, size_t i)
{
    size_t depth = 0;

    if (i >= len)
        return len + 1;
    if (b[i] != '{' && b[i] != '[') {
        if (b[i] == '"')
            return skip_string(b, len, i);
        while (i < len && !is_delim(b[i]) && b[i] != '{' && b[i] != '[' && b[i] != '"')
            i++;
        return i;
    }
    while (i < len) {
        char c = b[i];
        if (c == '"') {
            i = skip_string(b, len, i);
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return i + 1;
        }
        i++;
    }
    return len + 1;
}

/* In the object starting at b[obj] ('{'), the value of member name: its start in *vstart
 * and its end in *vend. 0, 1 when absent, -1 when the object is malformed. */
static int find_member(const char *b, size_t len, size_t obj, const char *name, size_t *vstart,
                       size_t *vend)
{
    size_t nlen = strlen(name), i = skip_ws(b, len, obj + 1);

    if (i < len && b[i] == '}')
        return 1;
    while (i < len) {
        size_t k = i, kend, v, e;
        if (b[i] != '"' || (kend = skip_string(b, len, i)) > len)
            return -1;
        i = skip_ws(b, len, kend);
        if (i >= len || b[i] != ':')
            return -1;
        v = skip_ws(b, len, i + 1);
        if ((e = skip_value(b, len, v)) > len || e == v)
            return -1;
        if (kend - k - 2 == nlen && memcmp(b + k + 1, name, nlen) == 0) {
            *vstart = v;
            *vend = e;
            return 0;
        }
        i = skip_ws(b, len, e);
        if (i < len && b[i] == '}')
            return 1;
        if (i >= len || b[i] != ',')
            return -1;
        i = skip_ws(b, len, i + 1);
    }
    return -1;
}

int jsplit_number_overflows(const char *s, size_t n)
{
    char small[64], *copy = small, *end;
    int real = 0, over = 0;

    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.' || s[i] == 'e' || s[i] == 'E')
            real = 1;
        else if (!(s[i] == '-' || s[i] == '+' || (s[i] >= '0' && s[i] <= '9')))
            return 0; /* not a number: true, false, null, garbage */
    }
    if (n >= sizeof small && (copy = malloc(n + 1)) == NULL)
        return 0; /* cannot tell: jansson will say what is wrong */
    memcpy(copy, s, n);
    copy[n] = '\0';
    errno = 0;
    if (real) {
        double d = strtod(copy, &end);
        over = errno == ERANGE && isinf(d);
    } else {
        (void)strtoll(copy, &end, 10);
        over = errno == ERANGE;
    }
    if (copy != small)
        free(copy);
    return over;
}

/* The item with every number jansson cannot hold written as a string of its text, or
 * NULL when it has none (or memory ran out). */
static char *quote_big_numbers(const char *b, size_t len, size_t *outlen)
{
    struct buf out;
    size_t i = 0, done = 0;
    int changed = 0;

    buf_init(&out);
    while (i < len) {
        if (b[i] == '"') {
            i = skip_string(b, len, i);
            continue;
        }
        if (b[i] == '-' || (b[i] >= '0' && b[i] <= '9')) {
            size_t j = i;
            while (j < len && !is_delim(b[j]) && b[j] != '{' && b[j] != '[' && b[j] != '"')
                j++;
            if (jsplit_number_overflows(b + i, j - i)) {
                buf_append(&out, b + done, i - done);
                buf_puts(&out, "\"");
                buf_append(&out, b + i, j - i);
                buf_puts(&out, "\"");
                done = j;
                changed = 1;
            }
            i = j;
            continue;
        }
        i++;
    }
    if (!changed) {
        buf_free(&out);
        return NULL;
    }
    buf_append(&out, b + done, len - done);
    return buf_steal(&out, outlen);
}

/* A member of the item read from its raw bytes: a string without escapes, or a bare
 * token (a code sent as a number). */
static void raw_member(const char *b, size_t len, const char *name, char *out, size_t outlen)
{
    size_t v, e;

    out[0] = '\0';
    if (name == NULL || len == 0 || b[0] != '{' || find_member(b, len, 0, name, &v, &e) != 0)
        return;
    if (b[v] == '"') {
        v++;
        e--;
    }
    if (e <= v || e - v >= outlen || memchr(b + v, '\\', e - v) != NULL ||
        memchr(b + v, '\0', e - v) != NULL)
        return;
    memcpy(out, b + v, e - v);
    out[e - v] = '\0';
}

static void decode_item(const char *body, struct jsplit_item *it, const struct jsplit_spec *spec)
{
    const char *b = body + it->off;
    json_error_t jerr;
    size_t qlen = 0;
    char *quoted;

    raw_member(b, it->len, spec->key_name, it->key, sizeof it->key);
    raw_member(b, it->len, spec->time_name, it->time, sizeof it->time);
    it->value = json_loadb(b, it->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (it->value)
        return;
    snprintf(it->err, sizeof it->err, "byte %zu: %s", it->off + (size_t)jerr.position, jerr.text);
    quoted = quote_big_numbers(b, it->len, &qlen);
    if (quoted) {
        json_error_t qerr;
        it->value = json_loadb(quoted, qlen, JSON_DECODE_ANY | JSON_ALLOW_NUL, &qerr);
        free(quoted);
        if (it->value)
            it->err[0] = '\0';
    }
}

/* 0, or -1 when out of memory. */
static int keep_raw(const char *body, struct jsplit_item *it)
{
    if (it->value)
        return 0;
    if ((it->raw = malloc(it->len + 1)) == NULL)
        return -1;
    memcpy(it->raw, body + it->off, it->len);
    it->raw[it->len] = '\0';
    return 0;
}

int jsplit_page(const char *body, size_t len, const struct jsplit_spec *spec,
                struct jsplit_page *out, char *err, size_t errlen)
{
    size_t obj, v = 0, e = 0, i, cap = 0;
    char *env = NULL;
    json_error_t jerr;
    json_t *arr;
    int rc = -1;

    memset(out, 0, sizeof *out);
    obj = skip_ws(body, len, 0);
    if (obj >= len || body[obj] != '{') {
        snprintf(err, errlen, "the body is not a JSON object");
        goto cleanup;
    }
    for (size_t d = 0; d < spec->depth; d++) {
        int r = find_member(body, len, obj, spec->path[d], &v, &e);
        if (r != 0) {
            snprintf(err, errlen,
                     r < 0 ? "the body is truncated or its brackets do not balance"
                           : "no \"%s\" in the page",
                     spec->path[d]);
            goto cleanup;
        }
        if (d + 1 < spec->depth && body[v] != '{') {
            snprintf(err, errlen, "\"%s\" is not an object", spec->path[d]);
            goto cleanup;
        }
        obj = v;
    }
    if (body[v] != '[') {
        snprintf(err, errlen, "\"%s\" is not an array", spec->path[spec->depth - 1]);
        goto cleanup;
    }

    /* The items: spans between the commas at the array's own level. */
    i = skip_ws(body, e - 1, v + 1);
    while (i < e - 1) {
        size_t end = skip_value(body, e - 1, i);
        if (end > e - 1 || end == i) {
            snprintf(err, errlen, "item %zu at byte %zu does not end", out->nitems, i);
            goto cleanup;
        }
        if (out->nitems == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct jsplit_item *n = realloc(out->items, ncap * sizeof *n);
            if (n == NULL)
                goto oom;
            out->items = n;
            cap = ncap;
        }
        memset(&out->items[out->nitems], 0, sizeof out->items[0]);
        out->items[out->nitems].off = i;
        out->items[out->nitems].len = end - i;
        out->nitems++;
        i = skip_ws(body, e - 1, end);
        if (i < e - 1 && body[i] != ',') {
            snprintf(err, errlen, "unexpected byte after item %zu at byte %zu", out->nitems - 1, i);
            goto cleanup;
        }
        i = skip_ws(body, e - 1, i + 1);
    }

    /* The envelope without its items must decode: it holds the paging fields. */
    if ((env = malloc(len - (e - v) + 3)) == NULL)
        goto oom;
    memcpy(env, body, v);
    memcpy(env + v, "[]", 2);
    memcpy(env + v + 2, body + e, len - e);
    out->envelope = json_loadb(env, len - (e - v) + 2, JSON_ALLOW_NUL, &jerr);
    if (out->envelope == NULL) {
        snprintf(err, errlen, "the page outside its items does not decode: %s", jerr.text);
        goto cleanup;
    }
    arr = out->envelope;
    for (size_t d = 0; d < spec->depth; d++)
        arr = json_object_get(arr, spec->path[d]);
    if (!json_is_array(arr)) {
        /* A duplicate key in the envelope can hide the array the scanner found. */
        snprintf(err, errlen, "\"%s\" is not an array", spec->path[spec->depth - 1]);
        goto cleanup;
    }
    for (size_t k = 0; k < out->nitems; k++) {
        struct jsplit_item *it = &out->items[k];
        decode_item(body, it, spec);
        if (keep_raw(body, it) != 0)
            goto oom;
        if (it->value == NULL)
            continue;
        if (json_array_append(arr, it->value) != 0)
            goto oom;
        out->ngood++;
    }
    rc = 0;
    goto cleanup;
oom:
    snprintf(err, errlen, "out of memory");
cleanup:
    free(env);
    if (rc != 0)
        jsplit_page_free(out);
    return rc;
}

void jsplit_page_free(struct jsplit_page *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nitems; i++) {
        json_decref(p->items[i].value);
        free(p->items[i].raw);
    }
    free(p->items);
    json_decref(p->envelope);
    memset(p, 0, sizeof *p);
}
