/* cfg: the INI configuration file, driven by one option table (config.c). */
#ifndef ONESTOP_CONFIG_H
#define ONESTOP_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "util.h"

#define CFG_DEFAULT_PATH "/etc/onestopd/onestopd.conf"

enum period_mode {
    PERIOD_CALENDAR = 0,
    PERIOD_REPORT = 1,
};

/* One [source.NAME] section. Strings are owned by the config. */
struct source_cfg {
    char *name;      /* NAME of [source.NAME] */
    int line;        /* line of the section header, for messages */
    char *adapter;   /* "igate" | "vnpost" */
    char *base_url;  /* required */
    char *token_url; /* igate: OAuth2 token endpoint (required for igate) */
    char *client_id; /* igate */
    char *client_secret_file;
    char *client_secret;  /* loaded from client_secret_file; never logged */
    char *api_key_file;   /* vnpost */
    char *api_key;        /* loaded from api_key_file; never logged */
    char *dossier_path;   /* igate, default "/pa/dossier/search" */
    char *procedure_path; /* igate, default "/pa/procedure/search"; "" disables the catalogue */
    char *shipment_path;  /* vnpost, default "/bcci/shipments" */
    long interval_s;      /* default 300 */
    long page_size;       /* default 500, 1..1000 */
    long timeout_s;       /* per HTTP request, default 30 */
    long max_retries;     /* attempts after the first, default 5 */
    long backoff_max_s;   /* cap of the exponential backoff, default 60 */
    long overlap_s;       /* keyset feeds re-read this much before the cursor, default 0 */
};

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
 * Parses and validates path. On success returns 0 and *out (caller frees with
 * cfg_free). On error returns -1 and writes "FILE:LINE: message" (or "FILE: message"
 * when no line applies) into err. Secret files are read here; a bare file name in a
 * *_file key is looked up in $CREDENTIALS_DIRECTORY when that is set.
 */
int cfg_load(const char *path, struct config **out, char *err, size_t errlen);
void cfg_free(struct config *cfg);

/* Writes the effective configuration (defaults filled in, secrets masked) to f. */
void cfg_print(const struct config *cfg, FILE *f);

/* Writes the option reference (name, default, help) as Markdown, for the README. */
void cfg_print_reference(FILE *f);

const struct source_cfg *cfg_find_source(const struct config *cfg, const char *name);

#endif
