/* SPDX-License-Identifier: Apache-2.0 */
/* cfg: the configuration: its table of sections and keys, loading and checking a file. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgopt.h"
#include "ini.h"
#include "tlscred.h"
#include "util.h"

/* The structs the rows' values go to. */
#define CONF struct config
#define SRC struct source_cfg

static const struct cfgopt daemon_opts[] = {
    CFGOPT_LOG_LEVEL("log_level", CONF, log_level, "info", 0,
                     "Log level: error, warning, notice, info or debug."),
};

static const struct cfgopt database_opts[] = {
    CFGOPT_CONNINFO("conninfo", CONF, db_conninfo, "dbname=onestop", CFGOPT_EMPTY_OK,
                    "libpq connection string (key=value pairs or a postgresql:// URI). It must "
                    "not hold a password: use password_file. Empty: libpq defaults and PG* "
                    "environment only."),
    CFGOPT_SECRET_FILE("password_file", CONF, db_password_file, db_password, 0,
                       "File holding the database password. A bare name is looked up in "
                       "$CREDENTIALS_DIRECTORY (systemd LoadCredential=) when set, a relative "
                       "path is relative to the config file."),
};

/* The listening socket and the server's limits are set up once, at start-up. */
static const struct cfgopt http_opts[] = {
    CFGOPT_LISTEN("listen", CONF, http_listen, "127.0.0.1:9787", CFGOPT_RESTART,
                  "Address of the metrics endpoint: IPV4:PORT, [IPV6]:PORT, or *:PORT for all "
                  "addresses."),
    CFGOPT_LONG("max_connections", CONF, http_max_connections, "512", 1, 10000, CFGOPT_RESTART,
                "Most concurrent HTTP connections (each costs a file descriptor, not a "
                "thread), at most 64 from one client address."),
    CFGOPT_DURATION("timeout", CONF, http_timeout_s, "10s", CFGOPT_RESTART,
                    "Idle timeout of an HTTP connection."),
    CFGOPT_DURATION("header_timeout", CONF, http_header_timeout_s, "5s", CFGOPT_RESTART,
                    "A new connection that has not sent a request's complete headers within "
                    "this long is closed (a kept-alive one: within the longer of this and "
                    "timeout after its last answer)."),
    /* The TLS files and the users are re-read on reload, the listener kept. */
    CFGOPT_FILE("tls_cert_file", CONF, http_tls_cert_file, 0,
                "PEM certificate (then any intermediates) of the endpoint. With tls_key_file "
                "(both or neither) it serves HTTPS only. Re-read on reload. Looked up like "
                "password_file."),
    CFGOPT_FILE("tls_key_file", CONF, http_tls_key_file, 0,
                "Unencrypted PEM private key of tls_cert_file. Re-read on reload."),
    CFGOPT_HTPASSWD("basic_auth_users_file", CONF, http_basic_auth_users_file, 0,
                    "Users allowed in, as NAME:HASH lines with bcrypt hashes (htpasswd -nBC 10 "
                    "NAME). Set: every path but /healthz needs one of them (HTTP basic auth). "
                    "Re-read on reload."),
};

static const struct cfgopt metrics_opts[] = {
    CFGOPT_DURATION("interval", CONF, metrics_interval_s, "60s", 0,
                    "How often the ratios are recomputed from the database."),
    CFGOPT_DATE("as_of", CONF, as_of, NULL, 0,
                "Pins \"today\" to this date (YYYY-MM-DD) for reports on a closed period. Unset: "
                "the current date in Vietnam."),
    CFGOPT_PERIOD_MODE("period_mode", CONF, period_mode, "calendar", 0,
                       "calendar, or report: the national reporting cut-off (month M runs from "
                       "the 15th of M-1 to the 14th of M; labels get a report: prefix)."),
    CFGOPT_STRING("province", CONF, province, NULL, 0,
                  "Name shown at the top of the status page (GET /), e.g. Tỉnh Quảng Nam. "
                  "Unset: no name."),
};

static const struct cfgopt targets_opts[] = {
    CFGOPT_RATIO("online_dossier_ratio", CONF, target_online_dossier, "0.25", 0,
                 "Target of onestop_online_dossier_ratio (0 to 1)."),
    CFGOPT_RATIO("online_procedure_ratio", CONF, target_online_procedure, "0.75", 0,
                 "Target of onestop_online_procedure_ratio (0 to 1)."),
    CFGOPT_RATIO("postal_procedure_ratio", CONF, target_postal_procedure, "0.60", 0,
                 "Target of onestop_postal_procedure_ratio (0 to 1)."),
    CFGOPT_RATIO("on_time_baseline", CONF, on_time_baseline, NULL, 0,
                 "On-time target (0 to 1), to be beaten. Unset: the previous year's "
                 "province-wide on-time ratio from the stored data."),
};

static const struct cfgopt alert_opts[] = {
    CFGOPT_URL_LIST("webhook_url", CONF, alert_webhook_urls, NULL, 0,
                    "Webhook(s) that receive alert notifications in the Alertmanager webhook "
                    "format: one or more http:// or https:// URLs separated by spaces. Unset: no "
                    "webhook."),
    CFGOPT_SECRET_FILE("bearer_token_file", CONF, alert_bearer_token_file, alert_bearer_token, 0,
                       "File holding a token sent to the webhooks as \"Authorization: Bearer "
                       "TOKEN\" (looked up like password_file)."),
    CFGOPT_URL_LIST("alertmanager_url", CONF, alert_alertmanager_urls, NULL, 0,
                    "Alertmanager(s) to post active alerts to (POST URL/api/v2/alerts), "
                    "separated by spaces. Unset: none."),
    CFGOPT_URL("external_url", CONF, alert_external_url, NULL, CFGOPT_STRIP_SLASH,
               "This daemon's URL as receivers should link to it (externalURL, generatorURL). "
               "Unset: http://LISTEN from [http]."),
    CFGOPT_DURATION0("for", CONF, alert_for_s, "15m", 0,
                     "How long a rule's condition must hold (pending) before the alert fires; "
                     "0s fires at once."),
    CFGOPT_DURATION("repeat_interval", CONF, alert_repeat_interval_s, "24h", 0,
                    "A firing alert is notified again after this long while it lasts."),
    CFGOPT_POINTS("drop_points", CONF, alert_drop_points, "2", 0,
                  "OnTimeRatioDropped fires when the on-time ratio fell by at least this many "
                  "percentage points (more than 0, at most 100) since drop_window ago."),
    CFGOPT_DURATION("drop_window", CONF, alert_drop_window_s, "7d", 0,
                    "How far back OnTimeRatioDropped compares the on-time ratio (whole days, at "
                    "least 1d)."),
    CFGOPT_DURATION("stale_after", CONF, alert_stale_after_s, NULL, 0,
                    "SourceStale fires when a source had no successful sync for this long. "
                    "Unset: 3 times that source's interval."),
    CFGOPT_LONG("down_after", CONF, alert_down_after, "3", 1, 1000, 0,
                "SourceDown fires after this many failed sync attempts in a row."),
    CFGOPT_DURATION("timeout", CONF, alert_timeout_s, "10s", 0,
                    "Timeout of one delivery request to a webhook or an Alertmanager."),
    CFGOPT_LONG("max_retries", CONF, alert_max_retries, "3", 0, 10, 0,
                "Retries of a failed delivery, with exponential backoff, before it is put off "
                "to a later cycle."),
};

/* The keys every [source.NAME] section has; its adapter adds its own (cfg_hooks), which
 * listings show after base_url. */
static const struct cfgopt source_opts[] = {
    CFGOPT_STRING("adapter", SRC, adapter, NULL, CFGOPT_REQUIRED,
                  "Adapter that speaks this source's protocol: igate or vnpost."),
    CFGOPT_URL("base_url", SRC, base_url, NULL,
               CFGOPT_REQUIRED | CFGOPT_STRIP_SLASH | CFGOPT_SUB_AFTER,
               "Base URL of the API (http:// or https://); the paths below are appended to it."),
    CFGOPT_DURATION("interval", SRC, interval_s, "300s", 0,
                    "Time between two sync cycles of this source."),
    CFGOPT_LONG("page_size", SRC, page_size, "500", 1, 1000, 0,
                "Records per page (servers cap pages at 1000)."),
    CFGOPT_DURATION("timeout", SRC, timeout_s, "30s", 0, "Timeout of one HTTP request."),
    CFGOPT_LONG("max_retries", SRC, max_retries, "5", 0, 20, 0,
                "Retries of a failed page (5xx, 429, timeouts, bodies that are not JSON) before "
                "the cycle gives up."),
    CFGOPT_DURATION("backoff_max", SRC, backoff_max_s, "60s", 0,
                    "Cap of the exponential backoff between retries (also caps Retry-After)."),
    CFGOPT_DURATION0("overlap", SRC, overlap_s, "0s", 0,
                     "Keyset feeds: each cycle starts this long before the stored cursor and "
                     "reads that stretch again (upserts make it harmless), to catch records "
                     "whose update time equals the cursor's but that the server committed "
                     "after it was read. 0s follows the protocol exactly."),
    CFGOPT_SIZE("max_body", SRC, max_body, "64MiB", 1L << 10, 1L << 30, 0,
                "Largest page body accepted, from 1KiB to 1024MiB; a larger one fails the page "
                "(naming the source and the size) instead of filling the memory."),
};

#undef CONF
#undef SRC

#define SECTION(name, rows)                                                                        \
    {                                                                                              \
        (name), (rows), ARRAY_LEN(rows)                                                            \
    }

/* The global sections, in the order listings show them. */
static const struct cfg_section sections[] = {
    SECTION("daemon", daemon_opts),   SECTION("database", database_opts),
    SECTION("http", http_opts),       SECTION("metrics", metrics_opts),
    SECTION("targets", targets_opts), SECTION("alert", alert_opts),
};

static const struct cfg_section source_section = SECTION("source", source_opts);

#define NSECTIONS ARRAY_LEN(sections)

const struct cfg_section *cfg_sections(size_t *n)
{
    *n = NSECTIONS;
    return sections;
}

const struct cfg_section *cfg_source_section(void)
{
    return &source_section;
}

/* ---- loading ---- */

/* An adapter as the hooks describe it. */
struct adapter_keys {
    const char *name;
    const struct cfgopt_table *keys;
};

struct parser {
    const char *path;
    const struct cfg_hooks *hooks;
    struct cfgopt_env env;
    char *dir; /* directory of the config file */
    struct config *cfg;

    struct adapter_keys *adapters;
    size_t nadapters;
    char *adapter_names; /* "igate, vnpost", for messages */

    /* the open section */
    const struct cfg_section *section; /* NULL before the first header */
    int sec_line;
    struct source_cfg *src; /* when the open section is a [source.NAME] */
    int *seen;              /* lines its keys were set on (0 = not yet) */
    /* [source.NAME]: its adapter may come after its keys, so the keys of every adapter
     * are read, each into its adapter's struct; closing the section keeps its adapter's */
    void **blocks; /* parallel to adapters */

    int sec_opened[NSECTIONS]; /* line each global section was opened on; 0 = not yet */
    int *global_seen;          /* the global sections' rows, one after the other */
    int *source_seen;          /* source_opts, then each adapter's rows */

    char *err;
    size_t errlen;
};

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
    if (ps->src != NULL)
        snprintf(out, outlen, "[source.%s]", ps->src->name);
    else
        snprintf(out, outlen, "[%s]", ps->section ? ps->section->name : "");
}

/* Learns the adapters from the hooks. 0, or -1 when out of memory. */
static int load_adapters(struct parser *ps)
{
    const struct cfgopt_table *keys;
    size_t n = 0, nrows = source_section.nopts;
    struct buf names;

    while (ps->hooks && ps->hooks->adapter && ps->hooks->adapter(n, &keys) != NULL)
        n++;
    ps->adapters = calloc(n ? n : 1, sizeof(*ps->adapters));
    ps->blocks = calloc(n ? n : 1, sizeof(*ps->blocks));
    if (ps->adapters == NULL || ps->blocks == NULL)
        return -1;
    buf_init(&names);
    for (size_t i = 0; i < n; i++) {
        ps->adapters[i].name = ps->hooks->adapter(i, &ps->adapters[i].keys);
        nrows += ps->adapters[i].keys->nopts;
        buf_printf(&names, "%s%s", i ? ", " : "", ps->adapters[i].name);
    }
    ps->nadapters = n;
    ps->adapter_names = buf_steal(&names, NULL);
    ps->source_seen = calloc(nrows, sizeof(*ps->source_seen));
    return ps->adapter_names == NULL || ps->source_seen == NULL ? -1 : 0;
}

static const struct adapter_keys *find_adapter(const struct parser *ps, const char *name)
{
    for (size_t i = 0; i < ps->nadapters; i++) {
        if (strcmp(ps->adapters[i].name, name) == 0)
            return &ps->adapters[i];
    }
    return NULL;
}

/* Frees the adapter structs of the open source section that it did not keep. */
static void drop_blocks(struct parser *ps)
{
    for (size_t i = 0; i < ps->nadapters; i++) {
        cfgopt_free(ps->adapters[i].keys, ps->blocks[i]);
        ps->blocks[i] = NULL;
    }
}

static int *seen_of_section(const struct parser *ps, size_t section)
{
    int *p = ps->global_seen;

    for (size_t i = 0; i < section; i++)
        p += sections[i].nopts;
    return p;
}

/* Line where the global key was set, 0 when it was not. */
static int line_of(const struct parser *ps, const char *section, const char *key)
{
    for (size_t i = 0; i < NSECTIONS; i++) {
        const struct cfgopt *o = cfgopt_find(sections[i].opts, sections[i].nopts, key);
        if (strcmp(sections[i].name, section) == 0 && o != NULL)
            return seen_of_section(ps, i)[o - sections[i].opts];
    }
    return 0;
}

/* Reports the first required row of opts not seen, at the section header. */
static int check_required(struct parser *ps, const struct cfgopt *opts, size_t n, const int *seen)
{
    char label[96];

    for (size_t i = 0; i < n; i++) {
        if ((opts[i].flags & CFGOPT_REQUIRED) && seen[i] == 0) {
            section_label(ps, label, sizeof(label));
            return perr(ps, ps->sec_line, "%s: missing required key \"%s\"", label, opts[i].name);
        }
    }
    return 0;
}

/* Keeps the struct of the section's adapter, then lets the hooks check the whole section
 * (the keys an adapter needs depend on each other: igate wants token_url, client_id and
 * client_secret_file), so that --check-config, the start and a reload all reject what the
 * daemon would, at the section's header line. */
static int end_source(struct parser *ps)
{
    struct source_cfg *sc = ps->src;
    const struct adapter_keys *ak = find_adapter(ps, sc->adapter);
    size_t k = ak ? (size_t)(ak - ps->adapters) : 0;
    const int *seen = ps->source_seen + source_section.nopts;
    char msg[512], label[96], prefix[96];
    const char *why = msg;

    if (ak == NULL) /* cannot be: set_key checked the name */
        return perr(ps, sc->line, "unknown adapter \"%s\"", sc->adapter);
    for (size_t i = 0; i < k; i++)
        seen += ps->adapters[i].keys->nopts;
    if (check_required(ps, ak->keys->opts, ak->keys->nopts, seen) < 0)
        return -1;
    sc->keys = ak->keys;
    sc->opts = ps->blocks[k];
    ps->blocks[k] = NULL;
    drop_blocks(ps);

    msg[0] = '\0';
    if (ps->hooks->check == NULL || ps->hooks->check(sc, msg, sizeof(msg)) == 0)
        return 0;
    /* The check says "source.NAME: ..."; the label below names the section already. */
    snprintf(prefix, sizeof(prefix), "source.%s: ", sc->name);
    if (strncmp(msg, prefix, strlen(prefix)) == 0)
        why = msg + strlen(prefix);
    section_label(ps, label, sizeof(label));
    return perr(ps, sc->line, "%s: %s", label, why[0] ? why : "rejected by its adapter");
}

/* Closes the open section: required keys are reported at its header line. */
static int end_section(struct parser *ps)
{
    int rc = 0;

    if (ps->section == NULL)
        return 0;
    rc = check_required(ps, ps->section->opts, ps->section->nopts, ps->seen);
    if (rc == 0 && ps->src != NULL)
        rc = end_source(ps);
    ps->section = NULL;
    ps->src = NULL;
    return rc;
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

static int start_source(struct parser *ps, const char *name, const char *sname, int line)
{
    struct source_cfg *ns, *src;
    size_t n = ps->cfg->nsources, nrows = source_section.nopts;
    char msg[256];

    if (!valid_source_name(sname))
        return perr(ps, line, "bad source name \"%s\": expected 1 to 63 of A-Z a-z 0-9 _ -", sname);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ps->cfg->sources[i].name, sname) == 0)
            return perr(ps, line, "duplicate section [%s] (first on line %d)", name,
                        ps->cfg->sources[i].line);
    }
    ns = realloc(ps->cfg->sources, (n + 1) * sizeof(*ns));
    if (ns == NULL)
        return perr(ps, line, "out of memory");
    ps->cfg->sources = ns;
    src = &ns[n];
    memset(src, 0, sizeof(*src));
    ps->cfg->nsources = n + 1; /* from here on cfg_free releases it */
    src->line = line;
    src->name = xstrdup(sname);
    if (src->name == NULL ||
        cfgopt_defaults(source_opts, ARRAY_LEN(source_opts), src, &ps->env, msg, sizeof(msg)) < 0)
        return perr(ps, line, "out of memory");
    for (size_t i = 0; i < ps->nadapters; i++) {
        ps->blocks[i] = cfgopt_new(ps->adapters[i].keys, &ps->env, msg, sizeof(msg));
        if (ps->blocks[i] == NULL)
            return perr(ps, line, "out of memory");
        nrows += ps->adapters[i].keys->nopts;
    }
    memset(ps->source_seen, 0, nrows * sizeof(*ps->source_seen));
    ps->section = &source_section;
    ps->src = src;
    ps->seen = ps->source_seen;
    return 0;
}

static int start_section(struct parser *ps, const char *name, int line)
{
    size_t plen = strlen(source_section.name);
    struct buf expected;

    ps->sec_line = line;
    if (strncmp(name, source_section.name, plen) == 0 && (name[plen] == '.' || name[plen] == '\0'))
        return start_source(ps, name, name[plen] ? name + plen + 1 : "", line);
    for (size_t i = 0; i < NSECTIONS; i++) {
        if (strcmp(sections[i].name, name) != 0)
            continue;
        if (ps->sec_opened[i] != 0)
            return perr(ps, line, "duplicate section [%s] (first on line %d)", name,
                        ps->sec_opened[i]);
        ps->sec_opened[i] = line;
        ps->section = &sections[i];
        ps->seen = seen_of_section(ps, i);
        return 0;
    }
    buf_init(&expected);
    for (size_t i = 0; i < NSECTIONS; i++)
        buf_printf(&expected, "%s%s", i > 0 ? ", " : "", sections[i].name);
    perr(ps, line, "unknown section [%s] (expected %s or %s.NAME)", name,
         expected.oom ? "..." : expected.data, source_section.name);
    buf_free(&expected);
    return -1;
}

/* A key of a [source.NAME] section that is no generic one: every adapter that has it
 * reads it (so each checks it as it did when all keys were one table), into its struct. */
static int set_adapter_key(struct parser *ps, const char *key, const char *val, int line)
{
    int *seen = ps->source_seen + source_section.nopts;
    int found = 0;
    char msg[768], label[96];

    for (size_t i = 0; i < ps->nadapters; i++) {
        const struct cfgopt_table *t = ps->adapters[i].keys;
        const struct cfgopt *o = cfgopt_find(t->opts, t->nopts, key);
        int *at = o ? &seen[o - t->opts] : NULL;

        seen += t->nopts;
        if (o == NULL)
            continue;
        if (*at != 0) {
            section_label(ps, label, sizeof(label));
            return perr(ps, line, "duplicate key \"%s\" in section %s (first on line %d)", key,
                        label, *at);
        }
        *at = line;
        found = 1;
        if (cfgopt_parse(o, ps->blocks[i], val, &ps->env, msg, sizeof(msg)) < 0)
            return perr(ps, line, "%s", msg);
    }
    if (!found) {
        section_label(ps, label, sizeof(label));
        return perr(ps, line, "unknown key \"%s\" in section %s", key, label);
    }
    return 0;
}

static int set_key(struct parser *ps, const char *key, const char *val, int line)
{
    const struct cfg_section *sec = ps->section;
    const struct cfgopt *o = cfgopt_find(sec->opts, sec->nopts, key);
    void *base = ps->src ? (void *)ps->src : (void *)ps->cfg;
    char msg[768], label[96];
    int *at;

    if (o == NULL && ps->src != NULL)
        return set_adapter_key(ps, key, val, line);
    section_label(ps, label, sizeof(label));
    if (o == NULL)
        return perr(ps, line, "unknown key \"%s\" in section %s", key, label);
    at = &ps->seen[o - sec->opts];
    if (*at != 0)
        return perr(ps, line, "duplicate key \"%s\" in section %s (first on line %d)", key, label,
                    *at);
    *at = line;
    if (cfgopt_parse(o, base, val, &ps->env, msg, sizeof(msg)) < 0)
        return perr(ps, line, "%s", msg);
    if (ps->src != NULL && o->offset == offsetof(struct source_cfg, adapter) &&
        find_adapter(ps, val) == NULL)
        return perr(ps, line, "%s: unknown adapter \"%s\" (known: %s)", o->name, val,
                    ps->adapter_names);
    return 0;
}

/* [http] tls_cert_file and tls_key_file: both or neither, and a pair that belongs
 * together (checked here, so --check-config and a reload refuse what the start would). */
static int check_tls(struct parser *ps)
{
    const char *cert = ps->cfg->http_tls_cert_file, *key = ps->cfg->http_tls_key_file;
    int lc = line_of(ps, "http", "tls_cert_file"), lk = line_of(ps, "http", "tls_key_file");
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

/* Checks that span keys, run once the whole file is read. */
static int check_global(struct parser *ps)
{
    if (check_tls(ps) < 0)
        return -1;
    /* The daily indicator rows are compared day to day: a window below a day compares a day
     * with itself. */
    if (ps->cfg->alert_drop_window_s % 86400 != 0)
        return perr(ps, line_of(ps, "alert", "drop_window"),
                    "drop_window: expected whole days like 1d or 7d");
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

/* Everything a load needs before the first line: 0, or -1 when out of memory. */
static int start_load(struct parser *ps)
{
    size_t nrows = 0;
    char msg[256];

    ps->cfg = calloc(1, sizeof(*ps->cfg));
    ps->dir = dir_of(ps->path);
    if (ps->cfg == NULL || ps->dir == NULL)
        return -1;
    ps->env.dir = ps->dir;
    ps->cfg->path = xstrdup(ps->path);
    for (size_t i = 0; i < NSECTIONS; i++)
        nrows += sections[i].nopts;
    ps->global_seen = calloc(nrows, sizeof(*ps->global_seen));
    if (ps->cfg->path == NULL || ps->global_seen == NULL || load_adapters(ps) < 0)
        return -1;
    for (size_t i = 0; i < NSECTIONS; i++) {
        if (cfgopt_defaults(sections[i].opts, sections[i].nopts, ps->cfg, &ps->env, msg,
                            sizeof(msg)) < 0)
            return -1; /* a bad default in the table, or out of memory */
    }
    return 0;
}

int cfg_load(const char *path, const struct cfg_hooks *hooks, struct config **out, char *err,
             size_t errlen)
{
    static const struct cfg_hooks no_hooks = {NULL, NULL};
    struct parser ps;
    struct ini *r = NULL;
    struct ini_item it = {0};
    char msg[768];
    int rc = -1, n;

    memset(&ps, 0, sizeof(ps));
    ps.path = path;
    ps.hooks = hooks ? hooks : &no_hooks;
    ps.err = err;
    ps.errlen = errlen;
    *out = NULL;

    ps.env.credsdir = getenv("CREDENTIALS_DIRECTORY");
    if (ps.env.credsdir != NULL && ps.env.credsdir[0] == '\0')
        ps.env.credsdir = NULL;
    if (start_load(&ps) < 0) {
        perr(&ps, 0, "out of memory");
        goto cleanup;
    }
    r = ini_open(path, msg, sizeof(msg));
    if (r == NULL) {
        perr(&ps, 0, "%s", msg);
        goto cleanup;
    }
    while ((n = ini_next(r, &it, msg, sizeof(msg))) > 0) {
        if (it.kind == INI_SECTION) {
            if (end_section(&ps) < 0 || start_section(&ps, it.name, it.line) < 0)
                goto cleanup;
        } else if (set_key(&ps, it.key, it.value, it.line) < 0) {
            goto cleanup;
        }
    }
    if (n < 0) {
        perr(&ps, it.line, "%s", msg);
        goto cleanup;
    }
    if (end_section(&ps) < 0 || check_global(&ps) < 0)
        goto cleanup;

    *out = ps.cfg;
    ps.cfg = NULL;
    rc = 0;

cleanup:
    ini_close(r);
    if (ps.blocks != NULL)
        drop_blocks(&ps);
    free(ps.blocks);
    free(ps.adapters);
    free(ps.adapter_names);
    free(ps.global_seen);
    free(ps.source_seen);
    free(ps.dir);
    cfg_free(ps.cfg);
    return rc;
}

void cfg_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->nsources; i++) {
        struct source_cfg *sc = &cfg->sources[i];
        cfgopt_release(source_opts, ARRAY_LEN(source_opts), sc);
        if (sc->keys != NULL)
            cfgopt_free(sc->keys, sc->opts);
        free(sc->name);
    }
    free(cfg->sources);
    for (size_t i = 0; i < NSECTIONS; i++)
        cfgopt_release(sections[i].opts, sections[i].nopts, cfg);
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

int cfg_restart_keys(const struct config *old, const struct config *new, char *out, size_t outlen)
{
    struct buf b;
    int n = 0;

    buf_init(&b);
    for (size_t i = 0; i < NSECTIONS; i++) {
        int in_section = 0;
        for (size_t j = 0; j < sections[i].nopts; j++) {
            const struct cfgopt *o = &sections[i].opts[j];
            if (!(o->flags & CFGOPT_RESTART) || !cfgopt_differs(o, old, new))
                continue;
            if (in_section)
                buf_printf(&b, ", %s", o->name);
            else
                buf_printf(&b, "%s[%s] %s", n > 0 ? "; " : "", sections[i].name, o->name);
            in_section = 1;
            n++;
        }
    }
    snprintf(out, outlen, "%s", b.data && !b.oom ? b.data : "");
    buf_free(&b);
    return n;
}
