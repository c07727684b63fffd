/* SPDX-License-Identifier: Apache-2.0 */
/* cfgopt: the value types of configuration keys: read, show, compare and free each. */
#include "cfgopt.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "htpasswd.h"
#include "log.h"
#include "netaddr.h"
#include "redact.h"

static void *field(const struct cfgopt *o, void *base)
{
    return (char *)base + o->offset;
}

static const void *cfield(const struct cfgopt *o, const void *base)
{
    return (const char *)base + o->offset;
}

static int has_ctl(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    }
    return 0;
}

static void free_secret(char **p)
{
    if (*p) {
        explicit_bzero(*p, strlen(*p));
        sfree(*p);
    }
}

/* ---- checks of a value's text ---- */

static int parse_long(const char *s, long *out)
{
    long v = 0;

    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (LONG_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

/* Only plain decimals: strtod would also take "nan", "inf", "1e-1" and hex. 0, 1 when
 * strtod reported a range error (*out is set all the same), or -1. */
static int parse_decimal(const char *s, double *out)
{
    const char *p = s;
    int ndig = 0;
    char *end;
    double v;

    for (; *p >= '0' && *p <= '9'; p++)
        ndig++;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++)
            ndig++;
    }
    if (ndig == 0 || *p != '\0')
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (*end != '\0')
        return -1;
    *out = v;
    return errno != 0 ? 1 : 0;
}

static int check_url(const char *v)
{
    const char *host;

    if (strncmp(v, "http://", 7) == 0)
        host = v + 7;
    else if (strncmp(v, "https://", 8) == 0)
        host = v + 8;
    else
        return -1;
    if (*host == '\0' || *host == '/' || strpbrk(v, " \t") != NULL || has_ctl(v))
        return -1;
    /* Two readings of a raw '@' in a password would disagree on where the host starts. */
    if (redact_userinfo_ambiguous(v))
        return -2;
    return 0;
}

/* Blank-separated URLs, at least one, each one check_url() accepts; its -2 passes on. */
static int check_url_list(const char *v)
{
    char one[2048];
    int n = 0, rc;

    while (*v) {
        size_t len = strcspn(v, " \t");
        if (len > 0) {
            if (len >= sizeof(one))
                return -1;
            memcpy(one, v, len);
            one[len] = '\0';
            if ((rc = check_url(one)) < 0)
                return rc;
            n++;
        }
        v += len;
        v += strspn(v, " \t");
    }
    return n > 0 ? 0 : -1;
}

/* A duration that may be zero: "0", "0s", "0m", ... or anything util_parse_duration takes. */
static int parse_duration0(const char *v, long *out)
{
    const char *p = v;

    while (*p == '0')
        p++;
    if (p != v && (*p == '\0' || ((*p == 's' || *p == 'm' || *p == 'h' || *p == 'd') && !p[1]))) {
        *out = 0;
        return 0;
    }
    return util_parse_duration(v, out);
}

/* libpq's parser, so URIs (postgresql://user:secret@host/db) are caught as well. */
static int check_conninfo(const char *v, char *msg, size_t msglen)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(v, &perr);
    int rc = 0;

    if (opts == NULL) {
        size_t n;
        if (perr == NULL) {
            snprintf(msg, msglen, "out of memory");
            return -1;
        }
        n = strlen(perr);
        while (n > 0 && (perr[n - 1] == '\n' || perr[n - 1] == ' '))
            perr[--n] = '\0';
        snprintf(msg, msglen, "not a valid libpq connection string: %s", perr);
        PQfreemem(perr);
        return -1;
    }
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if ((strcmp(o->keyword, "password") == 0 || strcmp(o->keyword, "sslpassword") == 0) &&
            o->val != NULL && o->val[0] != '\0') {
            snprintf(msg, msglen,
                     "must not contain a %s: put it in a file named by password_file "
                     "(or use ~/.pgpass)",
                     o->keyword);
            rc = -1;
            break;
        }
    }
    PQconninfoFree(opts);
    return rc;
}

/* Where a *_file value points: a bare name goes to $CREDENTIALS_DIRECTORY when systemd
 * passes credentials, other relative paths to the config file's directory. */
static char *resolve_file(const struct cfgopt_env *env, const char *v)
{
    if (v[0] == '/')
        return xstrdup(v);
    if (strchr(v, '/') == NULL && env->credsdir != NULL)
        return xasprintf("%s/%s", env->credsdir, v);
    return xasprintf("%s/%s", env->dir ? env->dir : ".", v);
}

/* ---- the string types: a char * field holding a copy of the value ---- */

static int store_string(const struct cfgopt *o, void *base, const char *v, char *msg, size_t msglen)
{
    char **dst = field(o, base);
    char *copy = xstrdup(v);
    const char *sep;

    if (copy == NULL) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    sep = strstr(copy, "://");
    if ((o->flags & CFGOPT_STRIP_SLASH) && sep != NULL) {
        /* "https://host/" + "/pa/..." would give "//pa/..."; never touch the "://" */
        size_t n = strlen(copy), min = (size_t)(sep - copy) + 4;
        while (n > min && copy[n - 1] == '/')
            copy[--n] = '\0';
    }
    free(*dst);
    *dst = copy;
    return 0;
}

static int format_string(const struct cfgopt *o, const void *base, struct buf *out, char *note,
                         size_t notelen)
{
    const char *v = *(char *const *)cfield(o, base);

    if (v == NULL)
        return CFGOPT_UNSET;
    buf_puts(out, v);
    return out->oom ? -1 : 0;
}

static int same_string(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int differs_string(const struct cfgopt *o, const void *a, const void *b)
{
    return !same_string(*(char *const *)cfield(o, a), *(char *const *)cfield(o, b));
}

static void release_string(const struct cfgopt *o, void *base)
{
    sfree(*(char **)field(o, base));
}

static int parse_string(const struct cfgopt *o, void *base, const char *v,
                        const struct cfgopt_env *env, char *msg, size_t msglen)
{
    return store_string(o, base, v, msg, msglen);
}

/* The string types differ only in the check before the copy. */
#define STRING_TYPE(parse_fn)                                                                      \
    {                                                                                              \
        .parse = (parse_fn), .format = format_string, .differs = differs_string,                   \
        .release = release_string,                                                                 \
    }

const struct cfgopt_type cfgopt_string = STRING_TYPE(parse_string);

static int parse_urlpath(const struct cfgopt *o, void *base, const char *v,
                         const struct cfgopt_env *env, char *msg, size_t msglen)
{
    if (v[0] != '\0' && (v[0] != '/' || strpbrk(v, "?# \t") != NULL)) {
        snprintf(msg, msglen, "%s: expected an absolute path like %s (no query string)", o->name,
                 o->def ? o->def : "/path");
        return -1;
    }
    return store_string(o, base, v, msg, msglen);
}

const struct cfgopt_type cfgopt_urlpath = STRING_TYPE(parse_urlpath);

static int parse_date(const struct cfgopt *o, void *base, const char *v,
                      const struct cfgopt_env *env, char *msg, size_t msglen)
{
    struct ldate d;

    if (ldate_parse(v, &d) < 0) {
        snprintf(msg, msglen, "%s: expected a date YYYY-MM-DD, got \"%s\"", o->name, v);
        return -1;
    }
    return store_string(o, base, v, msg, msglen);
}

const struct cfgopt_type cfgopt_date = STRING_TYPE(parse_date);

static int parse_listen(const struct cfgopt *o, void *base, const char *v,
                        const struct cfgopt_env *env, char *msg, size_t msglen)
{
    if (netaddr_parse_listen(v, 1, &(struct netaddr_listen){0}) < 0) {
        snprintf(msg, msglen,
                 "%s: expected IPV4:PORT, [IPV6]:PORT or *:PORT like 127.0.0.1:9787, got \"%s\"",
                 o->name, v);
        return -1;
    }
    return store_string(o, base, v, msg, msglen);
}

const struct cfgopt_type cfgopt_listen = STRING_TYPE(parse_listen);

static int parse_log_level(const struct cfgopt *o, void *base, const char *v,
                           const struct cfgopt_env *env, char *msg, size_t msglen)
{
    enum log_level lvl;

    if (log_parse_level(v, &lvl) < 0) {
        snprintf(msg, msglen, "%s: expected error, warning, notice, info or debug, got \"%s\"",
                 o->name, v);
        return -1;
    }
    return store_string(o, base, v, msg, msglen);
}

const struct cfgopt_type cfgopt_log_level = STRING_TYPE(parse_log_level);

static int parse_conninfo(const struct cfgopt *o, void *base, const char *v,
                          const struct cfgopt_env *env, char *msg, size_t msglen)
{
    char why[512];

    if (check_conninfo(v, why, sizeof(why)) < 0) {
        snprintf(msg, msglen, "%s: %s", o->name, why);
        return -1;
    }
    return store_string(o, base, v, msg, msglen);
}

const struct cfgopt_type cfgopt_conninfo = STRING_TYPE(parse_conninfo);

/* ---- URLs: checked, and masked when printed ---- */

#define MASK_USERINFO 0x1
#define MASK_PATH 0x2
#define MASK_QUERY 0x4

/* Appends one URL (that check_url() accepted) to b as --print-config shows it. The
 * userinfo (user:password@) becomes "***@". With whole_path (webhook and Alertmanager
 * URLs, where Slack, Teams and others put the secret in the path) everything after
 * host[:port] becomes "/..."; otherwise only a query string becomes "?...". Returns the
 * MASK_ bits of the parts hidden. */
static unsigned mask_url(struct buf *b, const char *url, int whole_path)
{
    struct redact_url u;
    const char *auth, *host, *rest;
    unsigned hidden = 0;

    if (redact_url_split(url, &u) < 0) {
        buf_puts(b, "...");
        return MASK_PATH;
    }
    auth = url + u.auth;
    host = url + u.host;
    rest = url + u.path;
    buf_append(b, url, (size_t)(auth - url));
    if (host != auth) {
        buf_puts(b, "***@");
        hidden |= MASK_USERINFO;
    }
    buf_append(b, host, (size_t)(rest - host));
    if (whole_path) {
        if (rest[0] != '\0' && strcmp(rest, "/") != 0) {
            buf_puts(b, "/...");
            hidden |= MASK_PATH;
        } else {
            buf_puts(b, rest);
        }
    } else {
        size_t plen = strcspn(rest, "?");
        buf_append(b, rest, plen);
        if (rest[plen] != '\0') {
            buf_puts(b, "?...");
            hidden |= MASK_QUERY;
        }
    }
    return hidden;
}

/* A URL or a URL list with mask_url() applied to each URL, and a note naming what was
 * hidden. A masked value does not read back as the original (it may even load as a
 * different, wrong URL): --print-config is for reading; only values printed without a
 * "masked" note round-trip. */
static int format_url(const struct cfgopt *o, const void *base, struct buf *out, char *note,
                      size_t notelen)
{
    const char *v = *(char *const *)cfield(o, base);
    unsigned hidden = 0;

    if (v == NULL)
        return CFGOPT_UNSET;
    if (o->type == &cfgopt_url_list) {
        for (const char *p = v; *p;) {
            size_t len = strcspn(p, " \t");
            if (len > 0) {
                char *one = strndup(p, len);
                if (one == NULL)
                    return -1;
                if (out->len > 0)
                    buf_puts(out, " ");
                hidden |= mask_url(out, one, 1);
                free(one);
            }
            p += len;
            p += strspn(p, " \t");
        }
    } else {
        hidden |= mask_url(out, v, 0);
    }
    /* never fall back to the unmasked value */
    if (out->oom || out->len == 0)
        return -1;
    if (hidden == 0) {
        buf_reset(out);
        buf_puts(out, v);
        return out->oom ? -1 : 0;
    }
    /* MASK_PATH covers the query too, so at most one of the two is set */
    snprintf(note, notelen, "masked: %s%s%s hidden", hidden & MASK_USERINFO ? "userinfo" : "",
             (hidden & MASK_USERINFO) && (hidden & (MASK_PATH | MASK_QUERY)) ? " and " : "",
             hidden & MASK_PATH    ? "path"
             : hidden & MASK_QUERY ? "query"
                                   : "");
    return 0;
}

/* cfgopt_url takes one URL, cfgopt_url_list one or more separated by blanks. */
static int parse_url(const struct cfgopt *o, void *base, const char *v,
                     const struct cfgopt_env *env, char *msg, size_t msglen)
{
    int list = o->type == &cfgopt_url_list;
    int rc = list ? check_url_list(v) : check_url(v);

    if (rc == -2) {
        snprintf(msg, msglen,
                 "%s: the user:password part of a URL holds a raw '@'; write it as %%40", o->name);
        return -1;
    }
    if (rc < 0) {
        snprintf(msg, msglen, "%s: expected %s like https://host[:port][/path]%s", o->name,
                 list ? "one or more URLs" : "a URL", list ? ", separated by spaces" : "");
        return -1;
    }
    return store_string(o, base, v, msg, msglen);
}

/* The two differ only in what parse_url accepts. */
#define URL_TYPE                                                                                   \
    {                                                                                              \
        .parse = parse_url, .format = format_url, .differs = differs_string,                       \
        .release = release_string,                                                                 \
    }

const struct cfgopt_type cfgopt_url = URL_TYPE;
const struct cfgopt_type cfgopt_url_list = URL_TYPE;

/* ---- secret files: the path in the field, the content in aux ---- */

static char **secret_of(const struct cfgopt *o, const void *base)
{
    return (char **)((const char *)base + o->aux);
}

static int parse_secret_file(const struct cfgopt *o, void *base, const char *v,
                             const struct cfgopt_env *env, char *msg, size_t msglen)
{
    char rerr[512];
    char **path_field = field(o, base);
    char *path = resolve_file(env, v);
    char *secret;

    if (path == NULL) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    secret = util_read_secret(path, rerr, sizeof(rerr));
    if (secret == NULL) {
        /* util_read_secret names the path and the reason, never the content */
        snprintf(msg, msglen, "%s: cannot read secret: %s", o->name, rerr);
        free(path);
        return -1;
    }
    free_secret(secret_of(o, base));
    *secret_of(o, base) = secret;
    free(*path_field);
    *path_field = path;
    return 0;
}

/* The path is not secret; the content is only reported as loaded or not. */
static int format_secret_file(const struct cfgopt *o, const void *base, struct buf *out, char *note,
                              size_t notelen)
{
    int rc = format_string(o, base, out, note, notelen);

    if (rc == 0)
        snprintf(note, notelen, "%s", *secret_of(o, base) ? "secret (set)" : "secret (unset)");
    return rc;
}

static int differs_secret_file(const struct cfgopt *o, const void *a, const void *b)
{
    return differs_string(o, a, b) || !same_string(*secret_of(o, a), *secret_of(o, b));
}

static void release_secret_file(const struct cfgopt *o, void *base)
{
    release_string(o, base);
    free_secret(secret_of(o, base));
}

const struct cfgopt_type cfgopt_secret_file = {
    .parse = parse_secret_file,
    .format = format_secret_file,
    .differs = differs_secret_file,
    .release = release_secret_file,
};

/* ---- files read by their user (at start and at each reload): the path in the field ---- */

/* The file must be readable now; an htpasswd file must also parse (its errors name
 * USERS_FILE:LINE). 0 or -1 with why. */
static int check_file(const struct cfgopt *o, const char *path, char *why, size_t whylen)
{
    struct htp_users *u = NULL;
    int fd;

    if (o->type == &cfgopt_htpasswd) {
        if (htp_load(path, &u, why, whylen) != 0)
            return -1;
        htp_free(u);
        return 0;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

static int parse_file(const struct cfgopt *o, void *base, const char *v,
                      const struct cfgopt_env *env, char *msg, size_t msglen)
{
    char why[512];
    char **dst = field(o, base);
    char *path = resolve_file(env, v);

    if (path == NULL) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    if (check_file(o, path, why, sizeof(why)) < 0) {
        snprintf(msg, msglen, "%s: %s", o->name, why);
        free(path);
        return -1;
    }
    free(*dst);
    *dst = path;
    return 0;
}

const struct cfgopt_type cfgopt_file = STRING_TYPE(parse_file);
const struct cfgopt_type cfgopt_htpasswd = STRING_TYPE(parse_file);

/* ---- numbers ---- */

static int differs_long(const struct cfgopt *o, const void *a, const void *b)
{
    return *(const long *)cfield(o, a) != *(const long *)cfield(o, b);
}

/* The largest whole unit: 86400 prints as "1d", 90 as "90s". */
static int format_duration(const struct cfgopt *o, const void *base, struct buf *out, char *note,
                           size_t notelen)
{
    long s = *(const long *)cfield(o, base);

    /* 0 is how an optional duration without default (stale_after) says unset */
    if (o->type == &cfgopt_duration && s == 0 && o->def == NULL)
        return CFGOPT_UNSET;
    if (s > 0 && s % 86400 == 0)
        buf_printf(out, "%ldd", s / 86400);
    else if (s > 0 && s % 3600 == 0)
        buf_printf(out, "%ldh", s / 3600);
    else if (s > 0 && s % 60 == 0)
        buf_printf(out, "%ldm", s / 60);
    else
        buf_printf(out, "%lds", s);
    return out->oom ? -1 : 0;
}

static void describe_duration(const struct cfgopt *o, char *out, size_t outlen)
{
    snprintf(out, outlen, " A duration: %s90s, 5m, 1h, 7d.",
             o->type == &cfgopt_duration0 ? "0s, " : "");
}

/* cfgopt_duration takes 1s to 366d; cfgopt_duration0 also 0s. */
static int parse_duration(const struct cfgopt *o, void *base, const char *v,
                          const struct cfgopt_env *env, char *msg, size_t msglen)
{
    int zero_ok = o->type == &cfgopt_duration0;

    if ((zero_ok ? parse_duration0(v, field(o, base)) : util_parse_duration(v, field(o, base))) <
        0) {
        snprintf(msg, msglen, "%s: expected a duration like %s90s, 5m, 1h or 7d (%s to 366d)",
                 o->name, zero_ok ? "0s, " : "", zero_ok ? "0s" : "1s");
        return -1;
    }
    return 0;
}

/* The two differ only in what parse_duration accepts. */
#define DURATION_TYPE                                                                              \
    {                                                                                              \
        .parse = parse_duration, .format = format_duration, .differs = differs_long,               \
        .describe = describe_duration,                                                             \
    }

const struct cfgopt_type cfgopt_duration = DURATION_TYPE;
const struct cfgopt_type cfgopt_duration0 = DURATION_TYPE;

static int parse_range(const struct cfgopt *o, void *base, const char *v,
                       const struct cfgopt_env *env, char *msg, size_t msglen)
{
    long l;

    if (parse_long(v, &l) < 0 || l < o->min || l > o->max) {
        snprintf(msg, msglen, "%s: expected an integer from %ld to %ld, got \"%s\"", o->name,
                 o->min, o->max, v);
        return -1;
    }
    *(long *)field(o, base) = l;
    return 0;
}

static int format_long(const struct cfgopt *o, const void *base, struct buf *out, char *note,
                       size_t notelen)
{
    buf_printf(out, "%ld", *(const long *)cfield(o, base));
    return out->oom ? -1 : 0;
}

static void describe_range(const struct cfgopt *o, char *out, size_t outlen)
{
    snprintf(out, outlen, " Range %ld to %ld.", o->min, o->max);
}

const struct cfgopt_type cfgopt_long = {
    .parse = parse_range,
    .format = format_long,
    .differs = differs_long,
    .describe = describe_range,
};

/* A size in bytes: "64MiB", "512KiB", "1GiB", or a bare number of bytes. */
static int parse_size(const struct cfgopt *o, void *base, const char *v,
                      const struct cfgopt_env *env, char *msg, size_t msglen)
{
    static const struct {
        const char *suffix;
        long mult;
    } units[] = {{"GiB", 1L << 30}, {"MiB", 1L << 20}, {"KiB", 1L << 10}, {"", 1}};
    char digits[32];
    size_t n = strspn(v, "0123456789");
    long num;

    for (size_t i = 0; i < ARRAY_LEN(units); i++) {
        if (strcmp(v + n, units[i].suffix) != 0)
            continue;
        if (n == 0 || n >= sizeof digits)
            break;
        memcpy(digits, v, n);
        digits[n] = '\0';
        if (parse_long(digits, &num) < 0 || num > o->max / units[i].mult ||
            num * units[i].mult < o->min)
            break;
        *(long *)field(o, base) = num * units[i].mult;
        return 0;
    }
    snprintf(msg, msglen, "%s: expected a size like 64MiB, 512KiB or 1GiB, from %ldKiB to %ldMiB",
             o->name, o->min >> 10, o->max >> 20);
    return -1;
}

static int format_size(const struct cfgopt *o, const void *base, struct buf *out, char *note,
                       size_t notelen)
{
    long v = *(const long *)cfield(o, base);

    if (v % (1L << 20) == 0)
        buf_printf(out, "%ldMiB", v >> 20);
    else if (v % (1L << 10) == 0)
        buf_printf(out, "%ldKiB", v >> 10);
    else
        buf_printf(out, "%ld", v);
    return out->oom ? -1 : 0;
}

const struct cfgopt_type cfgopt_size = {
    .parse = parse_size,
    .format = format_size,
    .differs = differs_long,
};

/* NaN is the unset value (a target of 0 is a real one). */
static int format_double(const struct cfgopt *o, const void *base, struct buf *out, char *note,
                         size_t notelen)
{
    double d = *(const double *)cfield(o, base);

    if (isnan(d))
        return CFGOPT_UNSET;
    buf_printf(out, "%g", d);
    return out->oom ? -1 : 0;
}

static int differs_double(const struct cfgopt *o, const void *a, const void *b)
{
    double x = *(const double *)cfield(o, a), y = *(const double *)cfield(o, b);

    return isnan(x) != isnan(y) || (!isnan(x) && x != y);
}

static void unset_double(const struct cfgopt *o, void *base)
{
    *(double *)field(o, base) = NAN;
}

static int parse_ratio(const struct cfgopt *o, void *base, const char *v,
                       const struct cfgopt_env *env, char *msg, size_t msglen)
{
    double d;

    if (parse_decimal(v, &d) != 0 || !(d >= 0.0 && d <= 1.0)) {
        snprintf(msg, msglen, "%s: expected a number from 0 to 1 like 0.25, got \"%s\"", o->name,
                 v);
        return -1;
    }
    *(double *)field(o, base) = d;
    return 0;
}

const struct cfgopt_type cfgopt_ratio = {
    .parse = parse_ratio,
    .format = format_double,
    .differs = differs_double,
    .unset = unset_double,
};

static int parse_points(const struct cfgopt *o, void *base, const char *v,
                        const struct cfgopt_env *env, char *msg, size_t msglen)
{
    double d;

    if (parse_decimal(v, &d) < 0 || !(d > 0.0 && d <= 100.0)) {
        snprintf(msg, msglen,
                 "%s: expected percentage points above 0 and at most 100 like 2 or 1.5, got "
                 "\"%s\"",
                 o->name, v);
        return -1;
    }
    *(double *)field(o, base) = d;
    return 0;
}

const struct cfgopt_type cfgopt_points = {
    .parse = parse_points,
    .format = format_double,
    .differs = differs_double,
    .unset = unset_double,
};

static int parse_period_mode(const struct cfgopt *o, void *base, const char *v,
                             const struct cfgopt_env *env, char *msg, size_t msglen)
{
    enum period_mode *dst = field(o, base);

    if (strcmp(v, "calendar") == 0) {
        *dst = PERIOD_CALENDAR;
    } else if (strcmp(v, "report") == 0) {
        *dst = PERIOD_REPORT;
    } else {
        snprintf(msg, msglen, "%s: expected calendar or report, got \"%s\"", o->name, v);
        return -1;
    }
    return 0;
}

static int format_period_mode(const struct cfgopt *o, const void *base, struct buf *out, char *note,
                              size_t notelen)
{
    const enum period_mode *v = cfield(o, base);

    buf_puts(out, *v == PERIOD_REPORT ? "report" : "calendar");
    return out->oom ? -1 : 0;
}

static int differs_period_mode(const struct cfgopt *o, const void *a, const void *b)
{
    return *(const enum period_mode *)cfield(o, a) != *(const enum period_mode *)cfield(o, b);
}

const struct cfgopt_type cfgopt_period_mode = {
    .parse = parse_period_mode,
    .format = format_period_mode,
    .differs = differs_period_mode,
};

/* ---- rows and tables ---- */

const struct cfgopt *cfgopt_find(const struct cfgopt *opts, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(opts[i].name, name) == 0)
            return &opts[i];
    }
    return NULL;
}

int cfgopt_parse(const struct cfgopt *o, void *base, const char *v, const struct cfgopt_env *env,
                 char *msg, size_t msglen)
{
    static const struct cfgopt_env none = {NULL, NULL};

    if (v[0] == '\0' && !(o->flags & CFGOPT_EMPTY_OK)) {
        snprintf(msg, msglen, "%s: empty value", o->name);
        return -1;
    }
    if (has_ctl(v)) {
        snprintf(msg, msglen, "%s: control characters are not allowed", o->name);
        return -1;
    }
    return o->type->parse(o, base, v, env ? env : &none, msg, msglen);
}

int cfgopt_defaults(const struct cfgopt *opts, size_t n, void *base, const struct cfgopt_env *env,
                    char *msg, size_t msglen)
{
    for (size_t i = 0; i < n; i++) {
        const struct cfgopt *o = &opts[i];
        if (o->def != NULL) {
            if (cfgopt_parse(o, base, o->def, env, msg, msglen) < 0)
                return -1;
        } else if (o->type->unset != NULL) {
            o->type->unset(o, base);
        }
    }
    return 0;
}

void cfgopt_release(const struct cfgopt *opts, size_t n, void *base)
{
    if (base == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        if (opts[i].type->release != NULL)
            opts[i].type->release(&opts[i], base);
    }
}

void *cfgopt_new(const struct cfgopt_table *t, const struct cfgopt_env *env, char *msg,
                 size_t msglen)
{
    void *base = calloc(1, t->size ? t->size : 1);

    if (base == NULL) {
        snprintf(msg, msglen, "out of memory");
        return NULL;
    }
    if (cfgopt_defaults(t->opts, t->nopts, base, env, msg, msglen) < 0) {
        cfgopt_free(t, base);
        return NULL;
    }
    return base;
}

void cfgopt_free(const struct cfgopt_table *t, void *base)
{
    if (base == NULL)
        return;
    cfgopt_release(t->opts, t->nopts, base);
    free(base);
}

int cfgopt_format(const struct cfgopt *o, const void *base, struct buf *out, char *note,
                  size_t notelen)
{
    if (notelen > 0)
        note[0] = '\0';
    return o->type->format(o, base, out, note, notelen);
}

int cfgopt_differs(const struct cfgopt *o, const void *a, const void *b)
{
    return o->type->differs(o, a, b);
}

void cfgopt_describe(const struct cfgopt *o, char *out, size_t outlen)
{
    if (outlen > 0)
        out[0] = '\0';
    if (o->type->describe != NULL)
        o->type->describe(o, out, outlen);
}
