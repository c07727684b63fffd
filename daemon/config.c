/* cfg: the INI configuration file, driven by one option table. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapter.h"
#include "htpasswd.h"
#include "log.h"
#include "netaddr.h"
#include "redact.h"
#include "tlscred.h"

enum opt_type {
    OT_STRING,      /* any non-empty text */
    OT_URL,         /* http:// or https:// URL */
    OT_URLPATH,     /* absolute path without query, e.g. /pa/dossier/search */
    OT_SECRET_FILE, /* path of a secret file; the content is loaded into `aux` */
    OT_DURATION,    /* long seconds, written "90s", "5m", "1h", "7d" */
    OT_LONG,        /* long in [min, max] */
    OT_RATIO,       /* double in [0, 1]; NaN when unset */
    OT_DATE,        /* "YYYY-MM-DD", kept as a string */
    OT_LISTEN,      /* IPV4:PORT, [IPV6]:PORT or *:PORT */
    OT_LOG_LEVEL,   /* log_parse_level() names */
    OT_PERIOD_MODE, /* enum period_mode */
    OT_ADAPTER,     /* a name adp_find() knows */
    OT_CONNINFO,    /* libpq conninfo without a password */
    OT_URL_LIST,    /* one or more http(s) URLs separated by blanks, kept as a string */
    OT_DURATION0,   /* like OT_DURATION, but 0 ("0s") is allowed */
    OT_POINTS,      /* double in (0, 100]: percentage points */
    OT_FILE,        /* path of a readable file, resolved like OT_SECRET_FILE; kept as the
                       path (its user reads it, at start and at each reload) */
    OT_HTPASSWD,    /* OT_FILE holding basic-auth users (htpasswd.h), checked here */
};

#define OPT_REQUIRED 0x1    /* must be given (reported at the section header) */
#define OPT_EMPTY_OK 0x2    /* an empty value is allowed */
#define OPT_STRIP_SLASH 0x4 /* trailing '/' removed (base URLs get paths appended) */

/* Options of every [source.NAME] section use this section name. */
#define SOURCE_SECTION "source"

struct cfg_option {
    const char *section;
    const char *name;
    enum opt_type type;
    size_t offset;   /* in struct config, or struct source_cfg for SOURCE_SECTION */
    const char *def; /* default as it would be written in the file; NULL = unset */
    long min, max;   /* OT_LONG bounds */
    unsigned flags;
    size_t aux; /* OT_SECRET_FILE: where the loaded secret goes */
    const char *help;
};

#define C(f) offsetof(struct config, f)
#define S(f) offsetof(struct source_cfg, f)

/* The one table: parsing, defaults, cfg_print and cfg_print_reference all walk it. */
static const struct cfg_option options[] = {
    {"daemon", "log_level", OT_LOG_LEVEL, C(log_level), "info", 0, 0, 0, 0,
     "Log level: error, warning, notice, info or debug."},

    {"database", "conninfo", OT_CONNINFO, C(db_conninfo), "dbname=onestop", 0, 0, OPT_EMPTY_OK, 0,
     "libpq connection string (key=value pairs or a postgresql:// URI). It must not hold a "
     "password: use password_file. Empty: libpq defaults and PG* environment only."},
    {"database", "password_file", OT_SECRET_FILE, C(db_password_file), NULL, 0, 0, 0,
     C(db_password),
     "File holding the database password. A bare name is looked up in "
     "$CREDENTIALS_DIRECTORY (systemd LoadCredential=) when set, a relative path is relative "
     "to the config file."},

    {"http", "listen", OT_LISTEN, C(http_listen), "127.0.0.1:9787", 0, 0, 0, 0,
     "Address of the metrics endpoint: IPV4:PORT, [IPV6]:PORT, or *:PORT for all addresses."},
    {"http", "max_connections", OT_LONG, C(http_max_connections), "512", 1, 10000, 0, 0,
     "Most concurrent HTTP connections (each costs a file descriptor, not a thread), at most "
     "64 from one client address."},
    {"http", "timeout", OT_DURATION, C(http_timeout_s), "10s", 0, 0, 0, 0,
     "Idle timeout of an HTTP connection."},
    {"http", "header_timeout", OT_DURATION, C(http_header_timeout_s), "5s", 0, 0, 0, 0,
     "A new connection that has not sent a request's complete headers within this long is "
     "closed (a kept-alive one: within the longer of this and timeout after its last answer)."},
    {"http", "tls_cert_file", OT_FILE, C(http_tls_cert_file), NULL, 0, 0, 0, 0,
     "PEM certificate (then any intermediates) of the endpoint. With tls_key_file (both or "
     "neither) it serves HTTPS only. Re-read on reload. Looked up like password_file."},
    {"http", "tls_key_file", OT_FILE, C(http_tls_key_file), NULL, 0, 0, 0, 0,
     "Unencrypted PEM private key of tls_cert_file. Re-read on reload."},
    {"http", "basic_auth_users_file", OT_HTPASSWD, C(http_basic_auth_users_file), NULL, 0, 0, 0, 0,
     "Users allowed in, as NAME:HASH lines with bcrypt hashes (htpasswd -nBC 10 NAME). Set: "
     "every path but /healthz needs one of them (HTTP basic auth). Re-read on reload."},

    {"metrics", "interval", OT_DURATION, C(metrics_interval_s), "60s", 0, 0, 0, 0,
     "How often the ratios are recomputed from the database."},
    {"metrics", "as_of", OT_DATE, C(as_of), NULL, 0, 0, 0, 0,
     "Pins \"today\" to this date (YYYY-MM-DD) for reports on a closed period. Unset: the "
     "current date in Vietnam."},
    {"metrics", "period_mode", OT_PERIOD_MODE, C(period_mode), "calendar", 0, 0, 0, 0,
     "calendar, or report: the national reporting cut-off (month M runs from the 15th of M-1 "
     "to the 14th of M; labels get a report: prefix)."},

    {"targets", "online_dossier_ratio", OT_RATIO, C(target_online_dossier), "0.25", 0, 0, 0, 0,
     "Target of onestop_online_dossier_ratio (0 to 1)."},
    {"targets", "online_procedure_ratio", OT_RATIO, C(target_online_procedure), "0.75", 0, 0, 0, 0,
     "Target of onestop_online_procedure_ratio (0 to 1)."},
    {"targets", "postal_procedure_ratio", OT_RATIO, C(target_postal_procedure), "0.60", 0, 0, 0, 0,
     "Target of onestop_postal_procedure_ratio (0 to 1)."},
    {"targets", "on_time_baseline", OT_RATIO, C(on_time_baseline), NULL, 0, 0, 0, 0,
     "On-time target (0 to 1), to be beaten. Unset: the previous year's province-wide "
     "on-time ratio from the stored data."},

    {"alert", "webhook_url", OT_URL_LIST, C(alert_webhook_urls), NULL, 0, 0, 0, 0,
     "Webhook(s) that receive alert notifications in the Alertmanager webhook format: one or "
     "more http:// or https:// URLs separated by spaces. Unset: no webhook."},
    {"alert", "bearer_token_file", OT_SECRET_FILE, C(alert_bearer_token_file), NULL, 0, 0, 0,
     C(alert_bearer_token),
     "File holding a token sent to the webhooks as \"Authorization: Bearer TOKEN\" (looked "
     "up like password_file)."},
    {"alert", "alertmanager_url", OT_URL_LIST, C(alert_alertmanager_urls), NULL, 0, 0, 0, 0,
     "Alertmanager(s) to post active alerts to (POST URL/api/v2/alerts), separated by spaces. "
     "Unset: none."},
    {"alert", "external_url", OT_URL, C(alert_external_url), NULL, 0, 0, OPT_STRIP_SLASH, 0,
     "This daemon's URL as receivers should link to it (externalURL, generatorURL). Unset: "
     "http://LISTEN from [http]."},
    {"alert", "for", OT_DURATION0, C(alert_for_s), "15m", 0, 0, 0, 0,
     "How long a rule's condition must hold (pending) before the alert fires; 0s fires at "
     "once."},
    {"alert", "repeat_interval", OT_DURATION, C(alert_repeat_interval_s), "24h", 0, 0, 0, 0,
     "A firing alert is notified again after this long while it lasts."},
    {"alert", "drop_points", OT_POINTS, C(alert_drop_points), "2", 0, 0, 0, 0,
     "OnTimeRatioDropped fires when the on-time ratio fell by at least this many percentage "
     "points (more than 0, at most 100) since drop_window ago."},
    {"alert", "drop_window", OT_DURATION, C(alert_drop_window_s), "7d", 0, 0, 0, 0,
     "How far back OnTimeRatioDropped compares the on-time ratio (whole days, at least 1d)."},
    {"alert", "stale_after", OT_DURATION, C(alert_stale_after_s), NULL, 0, 0, 0, 0,
     "SourceStale fires when a source had no successful sync for this long. Unset: 3 times "
     "that source's interval."},
    {"alert", "down_after", OT_LONG, C(alert_down_after), "3", 1, 1000, 0, 0,
     "SourceDown fires after this many failed sync attempts in a row."},
    {"alert", "timeout", OT_DURATION, C(alert_timeout_s), "10s", 0, 0, 0, 0,
     "Timeout of one delivery request to a webhook or an Alertmanager."},
    {"alert", "max_retries", OT_LONG, C(alert_max_retries), "3", 0, 10, 0, 0,
     "Retries of a failed delivery, with exponential backoff, before it is put off to a later "
     "cycle."},

    {SOURCE_SECTION, "adapter", OT_ADAPTER, S(adapter), NULL, 0, 0, OPT_REQUIRED, 0,
     "Adapter that speaks this source's protocol: igate or vnpost."},
    {SOURCE_SECTION, "base_url", OT_URL, S(base_url), NULL, 0, 0, OPT_REQUIRED | OPT_STRIP_SLASH, 0,
     "Base URL of the API (http:// or https://); the paths below are appended to it."},
    {SOURCE_SECTION, "token_url", OT_URL, S(token_url), NULL, 0, 0, 0, 0,
     "igate: OAuth2 client-credentials token endpoint (required by the igate adapter)."},
    {SOURCE_SECTION, "client_id", OT_STRING, S(client_id), NULL, 0, 0, 0, 0,
     "igate: OAuth2 client id."},
    {SOURCE_SECTION, "client_secret_file", OT_SECRET_FILE, S(client_secret_file), NULL, 0, 0, 0,
     S(client_secret),
     "igate: file holding the OAuth2 client secret (looked up like "
     "password_file)."},
    {SOURCE_SECTION, "api_key_file", OT_SECRET_FILE, S(api_key_file), NULL, 0, 0, 0, S(api_key),
     "vnpost: file holding the API key (looked up like password_file)."},
    {SOURCE_SECTION, "dossier_path", OT_URLPATH, S(dossier_path), "/pa/dossier/search", 0, 0, 0, 0,
     "igate: path of the dossier search."},
    {SOURCE_SECTION, "procedure_path", OT_URLPATH, S(procedure_path), "/pa/procedure/search", 0, 0,
     OPT_EMPTY_OK, 0, "igate: path of the procedure catalogue; empty disables the catalogue."},
    {SOURCE_SECTION, "shipment_path", OT_URLPATH, S(shipment_path), "/bcci/shipments", 0, 0, 0, 0,
     "vnpost: path of the shipment search."},
    {SOURCE_SECTION, "interval", OT_DURATION, S(interval_s), "300s", 0, 0, 0, 0,
     "Time between two sync cycles of this source."},
    {SOURCE_SECTION, "page_size", OT_LONG, S(page_size), "500", 1, 1000, 0, 0,
     "Records per page (servers cap pages at 1000)."},
    {SOURCE_SECTION, "timeout", OT_DURATION, S(timeout_s), "30s", 0, 0, 0, 0,
     "Timeout of one HTTP request."},
    {SOURCE_SECTION, "max_retries", OT_LONG, S(max_retries), "5", 0, 20, 0, 0,
     "Retries of a failed page (5xx, 429, timeouts, bodies that are not JSON) before the cycle "
     "gives up."},
    {SOURCE_SECTION, "backoff_max", OT_DURATION, S(backoff_max_s), "60s", 0, 0, 0, 0,
     "Cap of the exponential backoff between retries (also caps Retry-After)."},
    {SOURCE_SECTION, "overlap", OT_DURATION0, S(overlap_s), "0s", 0, 0, 0, 0,
     "Keyset feeds: each cycle starts this long before the stored cursor and reads that "
     "stretch again (upserts make it harmless), to catch records whose update time equals "
     "the cursor's but that the server committed after it was read. 0s follows the "
     "protocol exactly."},
};

#undef C
#undef S

#define NOPTS ARRAY_LEN(options)

/* Where each option of a section was first set (0 = not yet), for duplicate reports. */
struct seen {
    int line[NOPTS];
};

struct parser {
    const char *path;
    char *dir;            /* directory of the config file */
    const char *credsdir; /* $CREDENTIALS_DIRECTORY or NULL */
    struct config *cfg;
    int line;

    /* current section */
    const char *section; /* table section name, NULL before the first header */
    int sec_line;
    size_t src;        /* index in cfg->sources when section is SOURCE_SECTION */
    struct seen *seen; /* of the current section */

    struct seen global_seen;
    struct seen *src_seen; /* parallel to cfg->sources */
    struct {
        const char *name;
        int line;
    } sections[16]; /* global sections already opened (the table has 6) */
    size_t nsections;

    char *err;
    size_t errlen;
};

static int is_source(const struct cfg_option *o)
{
    return strcmp(o->section, SOURCE_SECTION) == 0;
}

static void *field(const struct cfg_option *o, void *base)
{
    return (char *)base + o->offset;
}

static int is_string_type(enum opt_type t)
{
    switch (t) {
    case OT_DURATION:
    case OT_DURATION0:
    case OT_LONG:
    case OT_RATIO:
    case OT_POINTS:
    case OT_PERIOD_MODE:
        return 0;
    default:
        return 1;
    }
}

static void free_secret(char **p)
{
    if (*p) {
        explicit_bzero(*p, strlen(*p));
        sfree(*p);
    }
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static int has_ctl(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    }
    return 0;
}

/* ---- value checks ---- */

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

static int parse_ratio(const char *s, double *out)
{
    const char *p = s;
    int ndig = 0;
    char *end;
    double v;

    /* Only plain decimals: strtod would also take "nan", "inf", "1e-1" and hex. */
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
    if (errno != 0 || *end != '\0' || !(v >= 0.0 && v <= 1.0))
        return -1;
    *out = v;
    return 0;
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

/* Percentage points: a plain decimal in (0, 100]. */
static int parse_points(const char *s, double *out)
{
    const char *p = s;
    int ndig = 0;
    double v;

    for (; *p >= '0' && *p <= '9'; p++)
        ndig++;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++)
            ndig++;
    }
    if (ndig == 0 || *p != '\0')
        return -1;
    v = strtod(s, NULL);
    if (!(v > 0.0 && v <= 100.0))
        return -1;
    *out = v;
    return 0;
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
static char *resolve_file(const struct parser *ps, const char *v)
{
    if (v[0] == '/')
        return xstrdup(v);
    if (strchr(v, '/') == NULL && ps->credsdir != NULL)
        return xasprintf("%s/%s", ps->credsdir, v);
    return xasprintf("%s/%s", ps->dir, v);
}

/* An OT_FILE must be readable now; an OT_HTPASSWD must also parse (its errors name
 * FILE:LINE of the users file). 0 or -1 with why. */
static int check_file(const struct cfg_option *o, const char *path, char *why, size_t whylen)
{
    struct htp_users *u = NULL;
    int fd;

    if (o->type == OT_HTPASSWD) {
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

/* Stores v into the option's field of base. 0, or -1 with msg (no "file:line:" prefix). */
static int set_value(const struct parser *ps, const struct cfg_option *o, void *base, const char *v,
                     char *msg, size_t msglen)
{
    void *dst = field(o, base);
    char *copy = NULL;
    long l;

    if (v[0] == '\0' && !(o->flags & OPT_EMPTY_OK)) {
        snprintf(msg, msglen, "%s: empty value", o->name);
        return -1;
    }
    if (has_ctl(v)) {
        snprintf(msg, msglen, "%s: control characters are not allowed", o->name);
        return -1;
    }

    switch (o->type) {
    case OT_STRING:
        break;
    case OT_URL:
    case OT_URL_LIST: {
        int rc = o->type == OT_URL ? check_url(v) : check_url_list(v);
        if (rc == -2) {
            snprintf(msg, msglen,
                     "%s: the user:password part of a URL holds a raw '@'; write it as %%40",
                     o->name);
            return -1;
        }
        if (rc < 0 && o->type == OT_URL) {
            snprintf(msg, msglen, "%s: expected a URL like https://host[:port][/path]", o->name);
            return -1;
        }
        if (rc < 0) {
            snprintf(msg, msglen,
                     "%s: expected one or more URLs like https://host[:port][/path], separated "
                     "by spaces",
                     o->name);
            return -1;
        }
        break;
    }
    case OT_URLPATH:
        if (v[0] != '\0' && (v[0] != '/' || strpbrk(v, "?# \t") != NULL)) {
            snprintf(msg, msglen, "%s: expected an absolute path like %s (no query string)",
                     o->name, o->def ? o->def : "/path");
            return -1;
        }
        break;
    case OT_SECRET_FILE: {
        char rerr[512];
        char *path = resolve_file(ps, v);
        char *secret;
        char **aux = (char **)((char *)base + o->aux);
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
        free_secret(aux);
        *aux = secret;
        free(*(char **)dst);
        *(char **)dst = path;
        return 0;
    }
    case OT_FILE:
    case OT_HTPASSWD: {
        char why[512];
        char *path = resolve_file(ps, v);
        if (path == NULL) {
            snprintf(msg, msglen, "out of memory");
            return -1;
        }
        if (check_file(o, path, why, sizeof(why)) < 0) {
            snprintf(msg, msglen, "%s: %s", o->name, why);
            free(path);
            return -1;
        }
        free(*(char **)dst);
        *(char **)dst = path;
        return 0;
    }
    case OT_DURATION:
        if (util_parse_duration(v, &l) < 0) {
            snprintf(msg, msglen, "%s: expected a duration like 90s, 5m, 1h or 7d (1s to 366d)",
                     o->name);
            return -1;
        }
        *(long *)dst = l;
        return 0;
    case OT_DURATION0:
        if (parse_duration0(v, &l) < 0) {
            snprintf(msg, msglen, "%s: expected a duration like 0s, 90s, 5m, 1h or 7d (0s to 366d)",
                     o->name);
            return -1;
        }
        *(long *)dst = l;
        return 0;
    case OT_POINTS: {
        double d;
        if (parse_points(v, &d) < 0) {
            snprintf(msg, msglen,
                     "%s: expected percentage points above 0 and at most 100 like 2 or 1.5, got "
                     "\"%s\"",
                     o->name, v);
            return -1;
        }
        *(double *)dst = d;
        return 0;
    }
    case OT_LONG:
        if (parse_long(v, &l) < 0 || l < o->min || l > o->max) {
            snprintf(msg, msglen, "%s: expected an integer from %ld to %ld, got \"%s\"", o->name,
                     o->min, o->max, v);
            return -1;
        }
        *(long *)dst = l;
        return 0;
    case OT_RATIO: {
        double d;
        if (parse_ratio(v, &d) < 0) {
            snprintf(msg, msglen, "%s: expected a number from 0 to 1 like 0.25, got \"%s\"",
                     o->name, v);
            return -1;
        }
        *(double *)dst = d;
        return 0;
    }
    case OT_DATE: {
        struct ldate d;
        if (ldate_parse(v, &d) < 0) {
            snprintf(msg, msglen, "%s: expected a date YYYY-MM-DD, got \"%s\"", o->name, v);
            return -1;
        }
        break;
    }
    case OT_LISTEN:
        if (netaddr_parse_listen(v, 1, &(struct netaddr_listen){0}) < 0) {
            snprintf(msg, msglen,
                     "%s: expected IPV4:PORT, [IPV6]:PORT or *:PORT like 127.0.0.1:9787, got "
                     "\"%s\"",
                     o->name, v);
            return -1;
        }
        break;
    case OT_LOG_LEVEL: {
        enum log_level lvl;
        if (log_parse_level(v, &lvl) < 0) {
            snprintf(msg, msglen, "%s: expected error, warning, notice, info or debug, got \"%s\"",
                     o->name, v);
            return -1;
        }
        break;
    }
    case OT_PERIOD_MODE:
        if (strcmp(v, "calendar") == 0) {
            *(enum period_mode *)dst = PERIOD_CALENDAR;
        } else if (strcmp(v, "report") == 0) {
            *(enum period_mode *)dst = PERIOD_REPORT;
        } else {
            snprintf(msg, msglen, "%s: expected calendar or report, got \"%s\"", o->name, v);
            return -1;
        }
        return 0;
    case OT_ADAPTER:
        if (adp_find(v) == NULL) {
            snprintf(msg, msglen, "%s: unknown adapter \"%s\" (known: %s)", o->name, v,
                     adp_names());
            return -1;
        }
        break;
    case OT_CONNINFO: {
        char why[512];
        if (check_conninfo(v, why, sizeof(why)) < 0) {
            snprintf(msg, msglen, "%s: %s", o->name, why);
            return -1;
        }
        break;
    }
    }

    /* the string types */
    copy = xstrdup(v);
    if (copy == NULL) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    if (o->flags & OPT_STRIP_SLASH) {
        /* "https://host/" + "/pa/..." would give "//pa/..."; never touch the "://" */
        size_t n = strlen(copy), min = (size_t)(strstr(copy, "://") - copy) + 4;
        while (n > min && copy[n - 1] == '/')
            copy[--n] = '\0';
    }
    free(*(char **)dst);
    *(char **)dst = copy;
    return 0;
}

/* Fills the defaults of one scope (global options or one source). */
static int apply_defaults(const struct parser *ps, void *base, int source)
{
    char msg[256];

    for (size_t i = 0; i < NOPTS; i++) {
        const struct cfg_option *o = &options[i];
        if (is_source(o) != source)
            continue;
        if (o->def == NULL) {
            if (o->type == OT_RATIO)
                *(double *)field(o, base) = NAN;
            continue;
        }
        if (set_value(ps, o, base, o->def, msg, sizeof(msg)) < 0)
            return -1; /* a bad default in the table, or out of memory */
    }
    return 0;
}

/* ---- the parser ---- */

static int perr(struct parser *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int perr(struct parser *ps, int line, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(ps->err, ps->errlen, "%s:%d: %s", ps->path, line, msg);
    else
        snprintf(ps->err, ps->errlen, "%s: %s", ps->path, msg);
    return -1;
}

static void section_label(const struct parser *ps, char *out, size_t outlen)
{
    if (ps->section && strcmp(ps->section, SOURCE_SECTION) == 0)
        snprintf(out, outlen, "[source.%s]", ps->cfg->sources[ps->src].name);
    else
        snprintf(out, outlen, "[%s]", ps->section ? ps->section : "");
}

/* The keys a source needs depend on its adapter (igate: token_url, client_id and
 * client_secret_file; vnpost: api_key_file), and the adapter's init() is what checks them.
 * It runs here too, on a throwaway adapter, so that --check-config, the start and a reload
 * all reject what the daemon would, at the section's header line. */
static int check_adapter(struct parser *ps)
{
    const struct source_cfg *sc = &ps->cfg->sources[ps->src];
    char msg[512], label[96], prefix[96];
    const char *why = msg;
    struct adapter *ad;

    msg[0] = '\0';
    ad = adp_new(sc, msg, sizeof(msg));
    if (ad != NULL) {
        adp_free(ad);
        return 0;
    }
    /* init() says "source.NAME: ..."; the label below names the section already. */
    snprintf(prefix, sizeof(prefix), "source.%s: ", sc->name);
    if (strncmp(msg, prefix, strlen(prefix)) == 0)
        why = msg + strlen(prefix);
    section_label(ps, label, sizeof(label));
    return perr(ps, sc->line, "%s: %s", label, why[0] ? why : "rejected by its adapter");
}

/* Closes the current section: required keys are reported at its header line. */
static int end_section(struct parser *ps)
{
    char label[96];

    if (ps->section == NULL)
        return 0;
    for (size_t i = 0; i < NOPTS; i++) {
        const struct cfg_option *o = &options[i];
        if (strcmp(o->section, ps->section) != 0 || !(o->flags & OPT_REQUIRED))
            continue;
        if (ps->seen->line[i] == 0) {
            section_label(ps, label, sizeof(label));
            return perr(ps, ps->sec_line, "%s: missing required key \"%s\"", label, o->name);
        }
    }
    if (strcmp(ps->section, SOURCE_SECTION) == 0)
        return check_adapter(ps);
    return 0;
}

static size_t option_index(const char *section, const char *name)
{
    size_t i;

    for (i = 0; i < NOPTS; i++)
        if (strcmp(options[i].section, section) == 0 && strcmp(options[i].name, name) == 0)
            break;
    return i;
}

/* [http] tls_cert_file and tls_key_file: both or neither, and a pair that belongs
 * together (checked here, so --check-config and a reload refuse what the start would). */
static int check_tls(struct parser *ps)
{
    size_t ic = option_index("http", "tls_cert_file"), ik = option_index("http", "tls_key_file");
    int lc = ic < NOPTS ? ps->global_seen.line[ic] : 0,
        lk = ik < NOPTS ? ps->global_seen.line[ik] : 0;
    const char *cert = ps->cfg->http_tls_cert_file, *key = ps->cfg->http_tls_key_file;
    struct tlsc_creds *c = NULL;
    char why[768];

    if ((cert == NULL) != (key == NULL))
        return perr(ps, cert ? lc : lk, "%s: needs %s as well (HTTPS takes both or neither)",
                    cert ? "tls_cert_file" : "tls_key_file",
                    cert ? "tls_key_file" : "tls_cert_file");
    if (cert == NULL)
        return 0;
    if (tlsc_load(cert, key, &c, why, sizeof(why)) != 0)
        return perr(ps, strncmp(why, key, strlen(key)) == 0 ? lk : lc, "%s", why);
    tlsc_unref(c);
    return 0;
}

/* Checks that span options, run once the whole file is read. */
static int check_global(struct parser *ps)
{
    if (check_tls(ps) < 0)
        return -1;
    /* The daily indicator rows are compared day to day: a window below a day compares a day
     * with itself. */
    if (ps->cfg->alert_drop_window_s % 86400 != 0) {
        size_t i = option_index("alert", "drop_window");
        return perr(ps, i < NOPTS ? ps->global_seen.line[i] : 0,
                    "drop_window: expected whole days like 1d or 7d");
    }
    return 0;
}

static int valid_source_name(const char *s)
{
    size_t n = strlen(s);

    if (n < 1 || n > 63)
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int known_global_section(const char *name, const char **canon)
{
    for (size_t i = 0; i < NOPTS; i++) {
        if (!is_source(&options[i]) && strcmp(options[i].section, name) == 0) {
            *canon = options[i].section;
            return 1;
        }
    }
    return 0;
}

static int start_section(struct parser *ps, const char *name)
{
    const char *canon;

    size_t plen = strlen(SOURCE_SECTION);

    if (strncmp(name, SOURCE_SECTION, plen) == 0 && (name[plen] == '.' || name[plen] == '\0')) {
        const char *sname = name[plen] ? name + plen + 1 : "";
        struct source_cfg *ns, *src;
        struct seen *nseen;
        size_t n = ps->cfg->nsources;

        if (!valid_source_name(sname))
            return perr(ps, ps->line, "bad source name \"%s\": expected 1 to 63 of A-Z a-z 0-9 _ -",
                        sname);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(ps->cfg->sources[i].name, sname) == 0)
                return perr(ps, ps->line, "duplicate section [%s] (first on line %d)", name,
                            ps->cfg->sources[i].line);
        }
        ns = realloc(ps->cfg->sources, (n + 1) * sizeof(*ns));
        if (ns == NULL)
            return perr(ps, ps->line, "out of memory");
        ps->cfg->sources = ns;
        nseen = realloc(ps->src_seen, (n + 1) * sizeof(*nseen));
        if (nseen == NULL)
            return perr(ps, ps->line, "out of memory");
        ps->src_seen = nseen;
        memset(&nseen[n], 0, sizeof(nseen[n]));
        src = &ns[n];
        memset(src, 0, sizeof(*src));
        ps->cfg->nsources = n + 1; /* from here on cfg_free releases it */
        src->line = ps->line;
        src->name = xstrdup(sname);
        if (src->name == NULL || apply_defaults(ps, src, 1) < 0)
            return perr(ps, ps->line, "out of memory");
        ps->section = SOURCE_SECTION;
        ps->src = n;
        ps->seen = &ps->src_seen[n];
    } else if (known_global_section(name, &canon)) {
        for (size_t i = 0; i < ps->nsections; i++) {
            if (strcmp(ps->sections[i].name, canon) == 0)
                return perr(ps, ps->line, "duplicate section [%s] (first on line %d)", name,
                            ps->sections[i].line);
        }
        if (ps->nsections < ARRAY_LEN(ps->sections)) {
            ps->sections[ps->nsections].name = canon;
            ps->sections[ps->nsections].line = ps->line;
            ps->nsections++;
        }
        ps->section = canon;
        ps->seen = &ps->global_seen;
    } else {
        return perr(ps, ps->line,
                    "unknown section [%s] (expected daemon, database, http, metrics, targets, "
                    "alert or source.NAME)",
                    name);
    }
    ps->sec_line = ps->line;
    return 0;
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

static int parse_line(struct parser *ps, char *line)
{
    char *p = trim(line), *eq, *key, *val;
    char msg[640], label[96];
    const struct cfg_option *o = NULL;
    size_t idx = 0;
    void *base;

    if (*p == '\0' || *p == ';' || *p == '#')
        return 0;

    if (*p == '[') {
        char *close = strchr(p, ']');
        if (close == NULL || !rest_is_empty(close + 1))
            return perr(ps, ps->line, "malformed section header (expected [name])");
        *close = '\0';
        if (end_section(ps) < 0)
            return -1;
        return start_section(ps, trim(p + 1));
    }

    eq = strchr(p, '=');
    if (eq == NULL)
        return perr(ps, ps->line, "malformed line (expected key = value or [section])");
    *eq = '\0';
    key = trim(p);
    if (!valid_key(key))
        return perr(ps, ps->line,
                    "malformed line (expected key = value, a key being a-z 0-9 and _)");
    val = parse_value(eq + 1, msg, sizeof(msg));
    if (val == NULL)
        return perr(ps, ps->line, "%s: %s", key, msg);
    if (ps->section == NULL)
        return perr(ps, ps->line, "key \"%s\" outside any section", key);

    section_label(ps, label, sizeof(label));
    for (idx = 0; idx < NOPTS; idx++) {
        if (strcmp(options[idx].section, ps->section) == 0 && strcmp(options[idx].name, key) == 0) {
            o = &options[idx];
            break;
        }
    }
    if (o == NULL)
        return perr(ps, ps->line, "unknown key \"%s\" in section %s", key, label);
    if (ps->seen->line[idx] != 0)
        return perr(ps, ps->line, "duplicate key \"%s\" in section %s (first on line %d)", key,
                    label, ps->seen->line[idx]);
    ps->seen->line[idx] = ps->line;

    base = is_source(o) ? (void *)&ps->cfg->sources[ps->src] : (void *)ps->cfg;
    if (set_value(ps, o, base, val, msg, sizeof(msg)) < 0)
        return perr(ps, ps->line, "%s", msg);
    return 0;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return strndup(path, (size_t)(slash - path));
}

int cfg_load(const char *path, struct config **out, char *err, size_t errlen)
{
    struct parser ps;
    struct config *cfg = NULL;
    FILE *fp = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = -1;

    memset(&ps, 0, sizeof(ps));
    ps.path = path;
    ps.err = err;
    ps.errlen = errlen;
    *out = NULL;

    ps.credsdir = getenv("CREDENTIALS_DIRECTORY");
    if (ps.credsdir != NULL && ps.credsdir[0] == '\0')
        ps.credsdir = NULL;
    ps.dir = dir_of(path);
    cfg = calloc(1, sizeof(*cfg));
    if (ps.dir == NULL || cfg == NULL) {
        perr(&ps, 0, "out of memory");
        goto cleanup;
    }
    ps.cfg = cfg;
    cfg->path = xstrdup(path);
    if (cfg->path == NULL || apply_defaults(&ps, cfg, 0) < 0) {
        perr(&ps, 0, "out of memory");
        goto cleanup;
    }

    fp = fopen(path, "re");
    if (fp == NULL) {
        perr(&ps, 0, "cannot open: %s", strerror(errno));
        goto cleanup;
    }
    while ((n = getline(&line, &cap, fp)) >= 0) {
        char *s = line;
        ps.line++;
        if ((size_t)n != strlen(line)) {
            perr(&ps, ps.line, "malformed line (contains a NUL byte)");
            goto cleanup;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (ps.line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3; /* a UTF-8 byte order mark, as some editors write */
        if (parse_line(&ps, s) < 0)
            goto cleanup;
    }
    if (ferror(fp)) {
        perr(&ps, 0, "read error: %s", strerror(errno));
        goto cleanup;
    }
    if (end_section(&ps) < 0 || check_global(&ps) < 0)
        goto cleanup;

    *out = cfg;
    cfg = NULL;
    rc = 0;

cleanup:
    if (line) {
        explicit_bzero(line, cap); /* the buffer held every line, keep no copy around */
        free(line);
    }
    if (fp)
        fclose(fp);
    free(ps.src_seen);
    free(ps.dir);
    cfg_free(cfg);
    return rc;
}

static void free_fields(void *base, int source)
{
    for (size_t i = 0; i < NOPTS; i++) {
        const struct cfg_option *o = &options[i];
        if (is_source(o) != source || !is_string_type(o->type))
            continue;
        sfree(*(char **)field(o, base));
        if (o->type == OT_SECRET_FILE)
            free_secret((char **)((char *)base + o->aux));
    }
}

void cfg_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->nsources; i++) {
        free_fields(&cfg->sources[i], 1);
        free(cfg->sources[i].name);
    }
    free(cfg->sources);
    free_fields(cfg, 0);
    free(cfg->path);
    free(cfg);
}

const struct source_cfg *cfg_find_source(const struct config *cfg, const char *name)
{
    if (cfg == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < cfg->nsources; i++) {
        if (strcmp(cfg->sources[i].name, name) == 0)
            return &cfg->sources[i];
    }
    return NULL;
}

/* ---- printing ---- */

static void format_duration(long s, char *out, size_t outlen)
{
    if (s > 0 && s % 86400 == 0)
        snprintf(out, outlen, "%ldd", s / 86400);
    else if (s > 0 && s % 3600 == 0)
        snprintf(out, outlen, "%ldh", s / 3600);
    else if (s > 0 && s % 60 == 0)
        snprintf(out, outlen, "%ldm", s / 60);
    else
        snprintf(out, outlen, "%lds", s);
}

/* A value as the file would hold it, quoted when it would not read back unquoted. */
static void print_value(FILE *f, const char *name, const char *v, const char *comment)
{
    int quote = v[0] == '\0' || is_ws(v[0]) || is_ws(v[strlen(v) - 1]) || v[0] == '"' ||
                v[0] == ';' || v[0] == '#' || strstr(v, " ;") || strstr(v, " #") ||
                strstr(v, "\t;") || strstr(v, "\t#");

    fprintf(f, quote ? "%s = \"%s\"" : "%s = %s", name, v);
    if (comment)
        fprintf(f, " ; %s", comment);
    fputc('\n', f);
}

#define MASK_USERINFO 0x1
#define MASK_PATH 0x2
#define MASK_QUERY 0x4

/* Appends one URL (that check_url() accepted) to b as cfg_print shows it. The userinfo
 * (user:password@) becomes "***@". With whole_path (webhook and Alertmanager URLs, where
 * Slack, Teams and others put the secret in the path) everything after host[:port]
 * becomes "/..."; otherwise only a query string becomes "?...". Returns the MASK_ bits of
 * the parts hidden. */
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

/* Prints an OT_URL or OT_URL_LIST value with mask_url() applied to each URL, and a
 * comment naming what was hidden. A masked value does not read back as the original (it
 * may even load as a different, wrong URL): --print-config is for reading; only values
 * printed without a "masked" comment round-trip. */
static void print_url_option(FILE *f, const struct cfg_option *o, const char *v)
{
    struct buf b;
    unsigned hidden = 0;
    char comment[64];
    char *one = NULL;

    buf_init(&b);
    if (o->type == OT_URL_LIST) {
        const char *p = v;
        while (*p) {
            size_t len = strcspn(p, " \t");
            if (len > 0) {
                one = strndup(p, len);
                if (one == NULL) {
                    b.oom = 1;
                    break;
                }
                if (b.len > 0)
                    buf_puts(&b, " ");
                hidden |= mask_url(&b, one, 1);
                sfree(one);
            }
            p += len;
            p += strspn(p, " \t");
        }
    } else {
        hidden |= mask_url(&b, v, 0);
    }
    if (b.oom || b.len == 0) {
        /* never fall back to the unmasked value */
        fprintf(f, "; %s = (not shown: out of memory)\n", o->name);
        goto cleanup;
    }
    if (hidden == 0) {
        print_value(f, o->name, v, NULL);
        goto cleanup;
    }
    /* MASK_PATH covers the query too, so at most one of the two is set */
    snprintf(comment, sizeof(comment), "masked: %s%s%s hidden",
             hidden & MASK_USERINFO ? "userinfo" : "",
             (hidden & MASK_USERINFO) && (hidden & (MASK_PATH | MASK_QUERY)) ? " and " : "",
             hidden & MASK_PATH    ? "path"
             : hidden & MASK_QUERY ? "query"
                                   : "");
    print_value(f, o->name, b.data, comment);

cleanup:
    buf_free(&b);
}

static void print_option(FILE *f, const struct cfg_option *o, const void *base)
{
    const void *src = (const char *)base + o->offset;
    char tmp[64];

    switch (o->type) {
    case OT_DURATION:
    case OT_DURATION0:
        if (o->type == OT_DURATION && *(const long *)src == 0 && o->def == NULL) {
            fprintf(f, "; %s = (unset)\n", o->name); /* optional, no default */
            return;
        }
        format_duration(*(const long *)src, tmp, sizeof(tmp));
        print_value(f, o->name, tmp, NULL);
        return;
    case OT_POINTS:
        snprintf(tmp, sizeof(tmp), "%g", *(const double *)src);
        print_value(f, o->name, tmp, NULL);
        return;
    case OT_LONG:
        snprintf(tmp, sizeof(tmp), "%ld", *(const long *)src);
        print_value(f, o->name, tmp, NULL);
        return;
    case OT_RATIO: {
        double d = *(const double *)src;
        if (isnan(d)) {
            fprintf(f, "; %s = (unset)\n", o->name);
            return;
        }
        snprintf(tmp, sizeof(tmp), "%g", d);
        print_value(f, o->name, tmp, NULL);
        return;
    }
    case OT_PERIOD_MODE:
        print_value(f, o->name,
                    *(const enum period_mode *)src == PERIOD_REPORT ? "report" : "calendar", NULL);
        return;
    default:
        break;
    }

    {
        const char *v = *(char *const *)src;
        if (v == NULL) {
            fprintf(f, "; %s = (unset)\n", o->name);
        } else if (o->type == OT_SECRET_FILE) {
            const char *secret = *(char *const *)((const char *)base + o->aux);
            /* the path is not secret; the content is only reported as loaded or not */
            print_value(f, o->name, v, secret ? "secret (set)" : "secret (unset)");
        } else if (o->type == OT_URL || o->type == OT_URL_LIST) {
            print_url_option(f, o, v);
        } else {
            print_value(f, o->name, v, NULL);
        }
    }
}

void cfg_print(const struct config *cfg, FILE *f)
{
    const char *last = NULL;

    fprintf(f, "; effective configuration of %s\n", cfg->path ? cfg->path : "(defaults)");
    for (size_t i = 0; i < NOPTS; i++) {
        const struct cfg_option *o = &options[i];
        if (is_source(o))
            continue;
        if (last == NULL || strcmp(last, o->section) != 0) {
            fprintf(f, "\n[%s]\n", o->section);
            last = o->section;
        }
        print_option(f, o, cfg);
    }
    for (size_t s = 0; s < cfg->nsources; s++) {
        fprintf(f, "\n[source.%s]\n", cfg->sources[s].name);
        for (size_t i = 0; i < NOPTS; i++) {
            if (is_source(&options[i]))
                print_option(f, &options[i], &cfg->sources[s]);
        }
    }
}

/* Markdown table cell text: '|' would end the cell. */
static void md_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else
            fputc(*s, f);
    }
}

void cfg_print_reference(FILE *f)
{
    fputs("| Section | Key | Default | Description |\n", f);
    fputs("|---|---|---|---|\n", f);
    for (size_t i = 0; i < NOPTS; i++) {
        const struct cfg_option *o = &options[i];

        if (is_source(o))
            fputs("| `[source.NAME]` | ", f);
        else
            fprintf(f, "| `[%s]` | ", o->section);
        fprintf(f, "`%s` | ", o->name);
        if (o->flags & OPT_REQUIRED)
            fputs("*required*", f);
        else if (o->def == NULL)
            fputs("*unset*", f);
        else
            fprintf(f, "`%s`", o->def);
        fputs(" | ", f);
        md_text(f, o->help);
        if (o->type == OT_LONG)
            fprintf(f, " Range %ld to %ld.", o->min, o->max);
        else if (o->type == OT_DURATION)
            fputs(" A duration: 90s, 5m, 1h, 7d.", f);
        else if (o->type == OT_DURATION0)
            fputs(" A duration: 0s, 90s, 5m, 1h, 7d.", f);
        fputs(" |\n", f);
    }
}
