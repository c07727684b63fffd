/* SPDX-License-Identifier: Apache-2.0 */
/* ini: reads an INI file as a sequence of sections and key = value lines, knowing no key. */
#include "ini.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

struct ini {
    FILE *fp;
    char *line; /* getline's buffer */
    size_t cap;
    int lineno;
    int in_section; /* a section header was read */
};

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims leading and trailing blanks in place; returns the new start. */
static char *trim(char *s)
{
    char *e;

    while (is_ws(*s))
        s++;
    e = s + strlen(s);
    while (e > s && is_ws(e[-1]))
        *--e = '\0';
    return s;
}

/* Rest of a line after a value or a section header: blank or a comment. */
static int rest_is_empty(const char *s)
{
    while (is_ws(*s))
        s++;
    return *s == '\0' || *s == ';' || *s == '#';
}

/* The value part after '=': strips an inline comment (a ';' or '#' at the start or after
 * a blank), blanks, and one pair of double quotes. Returns the value (inside s) or NULL
 * with msg. */
static char *parse_value(char *s, char *msg, size_t msglen)
{
    char *v = s;

    while (is_ws(*v))
        v++;
    if (*v == '"') {
        char *close = strchr(v + 1, '"');
        if (close == NULL) {
            snprintf(msg, msglen, "unterminated quoted value");
            return NULL;
        }
        if (!rest_is_empty(close + 1)) {
            snprintf(msg, msglen, "unexpected text after the closing quote");
            return NULL;
        }
        *close = '\0';
        return v + 1;
    }
    for (char *p = v; *p; p++) {
        if ((*p == ';' || *p == '#') && (p == v || is_ws(p[-1]))) {
            *p = '\0';
            break;
        }
    }
    return trim(v);
}

static int valid_key(const char *k)
{
    if (*k == '\0')
        return 0;
    for (; *k; k++) {
        if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
            return 0;
    }
    return 1;
}

/* One line that is not a comment: 1 with it filled, or -1 with err. */
static int parse_line(struct ini *r, char *p, struct ini_item *it, char *err, size_t errlen)
{
    char *eq, *key, *val;
    char msg[512];

    if (*p == '[') {
        char *close = strchr(p, ']');
        if (close == NULL || !rest_is_empty(close + 1)) {
            snprintf(err, errlen, "malformed section header (expected [name])");
            return -1;
        }
        *close = '\0';
        it->kind = INI_SECTION;
        it->name = trim(p + 1);
        r->in_section = 1;
        return 1;
    }

    eq = strchr(p, '=');
    if (eq == NULL) {
        snprintf(err, errlen, "malformed line (expected key = value or [section])");
        return -1;
    }
    *eq = '\0';
    key = trim(p);
    if (!valid_key(key)) {
        snprintf(err, errlen, "malformed line (expected key = value, a key being a-z 0-9 and _)");
        return -1;
    }
    val = parse_value(eq + 1, msg, sizeof(msg));
    if (val == NULL) {
        snprintf(err, errlen, "%s: %s", key, msg);
        return -1;
    }
    if (!r->in_section) {
        snprintf(err, errlen, "key \"%s\" outside any section", key);
        return -1;
    }
    it->kind = INI_KEY;
    it->key = key;
    it->value = val;
    return 1;
}

struct ini *ini_open(const char *path, char *err, size_t errlen)
{
    struct ini *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->fp = fopen(path, "re");
    if (r->fp == NULL) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        free(r);
        return NULL;
    }
    return r;
}

struct ini *ini_open_mem(const char *buf, size_t len, char *err, size_t errlen)
{
    struct ini *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* fmemopen refuses a size of 0; an empty text is a file with no line. */
    r->fp = len ? fmemopen((void *)buf, len, "r") : fopen("/dev/null", "re");
    if (r->fp == NULL) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        free(r);
        return NULL;
    }
    return r;
}

int ini_next(struct ini *r, struct ini_item *it, char *err, size_t errlen)
{
    ssize_t n;

    memset(it, 0, sizeof(*it));
    while ((n = getline(&r->line, &r->cap, r->fp)) >= 0) {
        char *s = r->line;

        r->lineno++;
        it->line = r->lineno;
        if ((size_t)n != strlen(r->line)) {
            snprintf(err, errlen, "malformed line (contains a NUL byte)");
            return -1;
        }
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
            s[--n] = '\0';
        if (r->lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3; /* a UTF-8 byte order mark, as some editors write */
        s = trim(s);
        if (*s == '\0' || *s == ';' || *s == '#')
            continue;
        return parse_line(r, s, it, err, errlen);
    }
    it->line = 0;
    if (ferror(r->fp)) {
        snprintf(err, errlen, "read error: %s", strerror(errno));
        return -1;
    }
    return 0;
}

void ini_close(struct ini *r)
{
    if (r == NULL)
        return;
    if (r->line) {
        explicit_bzero(r->line, r->cap); /* the buffer held every line, keep no copy around */
        free(r->line);
    }
    if (r->fp)
        fclose(r->fp);
    free(r);
}
