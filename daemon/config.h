/* SPDX-License-Identifier: Apache-2.0 */
/* cfg: the configuration: its table of sections and keys, loading and checking a file. */
#ifndef ONESTOP_CONFIG_H
#define ONESTOP_CONFIG_H

#include <stddef.h>

#include "cfgopt.h"
#include "period.h"
#include "source.h"

#define CFG_DEFAULT_PATH "/etc/onestopd/onestopd.conf"

struct config {
    char *path;

    /* [database] */
    char *db_conninfo;      /* libpq conninfo, must not contain a password */
    char *db_password_file; /* optional */
    char *db_password;      /* loaded from db_password_file */

    /* [http] */
    char *http_listen; /* "127.0.0.1:9787" */
    long http_max_connections;
    long http_timeout_s;
    long http_header_timeout_s;
    char *http_tls_cert_file;         /* PEM; with http_tls_key_file: HTTPS only */
    char *http_tls_key_file;          /* PEM, unencrypted */
    char *http_basic_auth_users_file; /* htpasswd, bcrypt: basic auth on all but /healthz */

    /* [metrics] */
    long metrics_interval_s;
    char *as_of; /* "YYYY-MM-DD" or NULL: pins "now" */
    enum period_mode period_mode;
    char *province; /* shown on the status page; NULL = none */

    /* [targets] */
    double target_online_dossier;   /* 0.25 */
    double target_online_procedure; /* 0.75 */
    double target_postal_procedure; /* 0.60 */
    double on_time_baseline;        /* NaN when unset: use last year's stored ratio */

    /* [daemon] */
    char *log_level; /* NULL = info */

    /* [alert] */
    char *alert_webhook_urls;      /* space-separated http(s) URLs; NULL = no webhook */
    char *alert_bearer_token_file; /* optional */
    char *alert_bearer_token;      /* loaded from alert_bearer_token_file; never logged */
    char *alert_alertmanager_urls; /* space-separated Alertmanager base URLs; NULL = none */
    char *alert_external_url;      /* externalURL of the payloads; NULL = from [http] listen */
    long alert_for_s;              /* pending time before firing, 15m; 0 allowed */
    long alert_repeat_interval_s;  /* 24h */
    double alert_drop_points;      /* percentage points, 2 */
    long alert_drop_window_s;      /* 7d; whole days */
    long alert_stale_after_s;      /* 0 = 3 x each source's interval */
    long alert_down_after;         /* failed attempts in a row, 3 */
    long alert_timeout_s;          /* per delivery request, 10s */
    long alert_max_retries;        /* retries of one delivery, 3 */

    struct source_cfg *sources;
    size_t nsources;
};

/*
 * What the loader knows of the adapters, from the caller (main passes the registry's), so
 * that the config module depends on none: [source.NAME] sections take the generic keys of
 * the table plus the keys of the adapters.
 */
struct cfg_hooks {
    /* The i-th adapter's name, NULL past the last; *keys gets the keys it adds to its
     * sections and the struct they fill (source_cfg.opts). */
    const char *(*adapter)(size_t i, const struct cfgopt_table **keys);
    /* Checks a finished section as the adapter will at start-up: 0, or -1 with err
     * ("source.NAME: why"). NULL: no check. */
    int (*check)(const struct source_cfg *sc, char *err, size_t errlen);
};

/*
 * Parses and validates path. On success returns 0 and *out (caller frees with
 * cfg_free). On error returns -1 and writes "FILE:LINE: message" (or "FILE: message"
 * when no line applies) into err. Secret files are read here; a bare file name in a
 * *_file key is looked up in $CREDENTIALS_DIRECTORY when that is set. hooks may be NULL
 * (no adapter is known: a [source.NAME] section is then an error).
 */
int cfg_load(const char *path, const struct cfg_hooks *hooks, struct config **out, char *err,
             size_t errlen);
void cfg_free(struct config *cfg);

const struct source_cfg *cfg_find_source(const struct config *cfg, const char *name);

/*
 * Names the keys whose value differs between old and new but that a reload cannot apply
 * (CFGOPT_RESTART), as "[http] listen, timeout" (sections separated by "; "). Returns how
 * many; out is "" when none.
 */
int cfg_restart_keys(const struct config *old, const struct config *new, char *out, size_t outlen);

/* The table, for the printers (cfgprint.c). */
struct cfg_section {
    const char *name;
    const struct cfgopt *opts;
    size_t nopts;
};
/* The global sections ([daemon], [database], ...) in file order; n gets their number. */
const struct cfg_section *cfg_sections(size_t *n);
/* The generic keys of every [source.NAME] section; name is "source". */
const struct cfg_section *cfg_source_section(void);

#endif
