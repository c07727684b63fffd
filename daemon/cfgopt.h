/* SPDX-License-Identifier: Apache-2.0 */
/* cfgopt: option rows (one configuration key each) and the value types behind them. */
#ifndef ONESTOP_CFGOPT_H
#define ONESTOP_CFGOPT_H

#include <stddef.h>

#include "period.h"
#include "util.h"

struct cfgopt;

/* What reading a value may need to know of the file it comes from. */
struct cfgopt_env {
    const char *dir;      /* directory of the config file: relative *_file paths */
    const char *credsdir; /* $CREDENTIALS_DIRECTORY, or NULL: bare *_file names */
};

/* A format() result: the key has no value (printed as "; KEY = (unset)"). */
#define CFGOPT_UNSET 1

/* One value type: every row names one, and nothing else switches on the type. */
struct cfgopt_type {
    /* Stores v into o's field of base, replacing what was there. v is non-empty (unless
     * CFGOPT_EMPTY_OK) and has no control characters. 0, or -1 with msg ("KEY: why"). */
    int (*parse)(const struct cfgopt *o, void *base, const char *v, const struct cfgopt_env *env,
                 char *msg, size_t msglen);
    /* Appends the value as --print-config shows it (secrets never, URLs masked) to out; may
     * put a comment into note. 0, CFGOPT_UNSET, or -1 when out of memory. */
    int (*format)(const struct cfgopt *o, const void *base, struct buf *out, char *note,
                  size_t notelen);
    /* 1 when the values in a and b differ, else 0. */
    int (*differs)(const struct cfgopt *o, const void *a, const void *b);
    /* Frees what parse stored (secrets wiped first). NULL: nothing to free. */
    void (*release)(const struct cfgopt *o, void *base);
    /* Sets the value of a key that has no default. NULL: all bits zero (NULL, 0). */
    void (*unset)(const struct cfgopt *o, void *base);
    /* Writes what --print-config-reference adds after the help text (" Range 1 to 9.").
     * NULL: nothing. */
    void (*describe)(const struct cfgopt *o, char *out, size_t outlen);
};

/* A row: one key of a section, where its value lives and how it is read. */
struct cfgopt {
    const char *name;
    const struct cfgopt_type *type;
    size_t offset;   /* of the value in the struct the table describes */
    size_t aux;      /* secret files: offset of the loaded content (char *) */
    const char *def; /* default as it would be written in the file; NULL = none */
    long min, max;   /* integers: the accepted range */
    unsigned flags;  /* CFGOPT_* */
    const char *help;
};

#define CFGOPT_REQUIRED 0x1    /* must be given (reported at the section header) */
#define CFGOPT_EMPTY_OK 0x2    /* an empty value is allowed */
#define CFGOPT_STRIP_SLASH 0x4 /* trailing '/' removed (base URLs get paths appended) */
#define CFGOPT_RESTART 0x8     /* a reload keeps the running value: next restart only */
/* Listings show the section's sub-table (a source's adapter keys) right after this row. */
#define CFGOPT_SUB_AFTER 0x10

/* Rows and the struct they fill, e.g. the keys an adapter adds to its sections. */
struct cfgopt_table {
    const struct cfgopt *opts;
    size_t nopts;
    size_t size; /* bytes of the struct the rows' offsets point into */
};
#define CFGOPT_TABLE(rows, T)                                                                      \
    {                                                                                              \
        (rows), ARRAY_LEN(rows), sizeof(T)                                                         \
    }

extern const struct cfgopt_type cfgopt_string;      /* any text */
extern const struct cfgopt_type cfgopt_url;         /* http:// or https:// URL */
extern const struct cfgopt_type cfgopt_url_list;    /* blank-separated http(s) URLs */
extern const struct cfgopt_type cfgopt_urlpath;     /* absolute path without query */
extern const struct cfgopt_type cfgopt_secret_file; /* path; the content goes to aux */
extern const struct cfgopt_type cfgopt_date;        /* "YYYY-MM-DD", kept as a string */
extern const struct cfgopt_type cfgopt_listen;      /* IPV4:PORT, [IPV6]:PORT or *:PORT */
extern const struct cfgopt_type cfgopt_log_level;   /* a log_parse_level() name */
extern const struct cfgopt_type cfgopt_conninfo;    /* libpq conninfo without a password */
extern const struct cfgopt_type cfgopt_duration;    /* long seconds: "90s", "5m", "1h", "7d" */
extern const struct cfgopt_type cfgopt_duration0;   /* the same, "0s" allowed */
extern const struct cfgopt_type cfgopt_long;        /* long in [min, max] */
extern const struct cfgopt_type cfgopt_size;        /* long bytes: "64MiB", "512KiB", "1GiB" */
extern const struct cfgopt_type cfgopt_ratio;       /* double in [0, 1]; NaN when unset */
extern const struct cfgopt_type cfgopt_points;      /* double in (0, 100] */
extern const struct cfgopt_type cfgopt_period_mode; /* enum period_mode */
/* A readable file, looked up like a secret file, kept as its path: its user reads it at
 * start and at each reload. */
extern const struct cfgopt_type cfgopt_file;
extern const struct cfgopt_type cfgopt_htpasswd; /* a file of basic-auth users (htpasswd.h) */

/* offsetof(T, f), and a compile error unless f has type FT: the types cast base + offset
 * to FT *, so a row naming a field of another type must not build. */
#define CFGOPT_AT_(T, f, FT) _Generic(((T *)0)->f, FT : offsetof(T, f))

#define CFGOPT_ROW_(n, ty, T, f, FT, d, fl, h)                                                     \
    {                                                                                              \
        .name = (n), .type = &(ty), .offset = CFGOPT_AT_(T, f, FT), .def = (d), .flags = (fl),     \
        .help = (h)                                                                                \
    }

/* One macro per type; each takes the key, the struct and field, the default (as written in
 * the file, or NULL), the CFGOPT_ flags and the help text of the reference. */
#define CFGOPT_STRING(n, T, f, d, fl, h) CFGOPT_ROW_(n, cfgopt_string, T, f, char *, d, fl, h)
#define CFGOPT_URL(n, T, f, d, fl, h) CFGOPT_ROW_(n, cfgopt_url, T, f, char *, d, fl, h)
#define CFGOPT_URL_LIST(n, T, f, d, fl, h) CFGOPT_ROW_(n, cfgopt_url_list, T, f, char *, d, fl, h)
#define CFGOPT_URLPATH(n, T, f, d, fl, h) CFGOPT_ROW_(n, cfgopt_urlpath, T, f, char *, d, fl, h)
#define CFGOPT_FILE(n, T, f, fl, h) CFGOPT_ROW_(n, cfgopt_file, T, f, char *, NULL, fl, h)
#define CFGOPT_HTPASSWD(n, T, f, fl, h) CFGOPT_ROW_(n, cfgopt_htpasswd, T, f, char *, NULL, fl, h)
#define CFGOPT_DATE(n, T, f, d, fl, h) CFGOPT_ROW_(n, cfgopt_date, T, f, char *, d, fl, h)
#define CFGOPT_LISTEN(n, T, f, d, fl, h) CFGOPT_ROW_(n, cfgopt_listen, T, f, char *, d, fl, h)
#define CFGOPT_LOG_LEVEL(n, T, f, d, fl, h) CFGOPT_ROW_(n, cfgopt_log_level, T, f, char *, d, fl, h)
#define CFGOPT_CONNINFO(n, T, f, d, fl, h) CFGOPT_ROW_(n, cfgopt_conninfo, T, f, char *, d, fl, h)
#define CFGOPT_DURATION(n, T, f, d, fl, h) CFGOPT_ROW_(n, cfgopt_duration, T, f, long, d, fl, h)
#define CFGOPT_DURATION0(n, T, f, d, fl, h) CFGOPT_ROW_(n, cfgopt_duration0, T, f, long, d, fl, h)
#define CFGOPT_RATIO(n, T, f, d, fl, h) CFGOPT_ROW_(n, cfgopt_ratio, T, f, double, d, fl, h)
#define CFGOPT_POINTS(n, T, f, d, fl, h) CFGOPT_ROW_(n, cfgopt_points, T, f, double, d, fl, h)
#define CFGOPT_PERIOD_MODE(n, T, f, d, fl, h)                                                      \
    CFGOPT_ROW_(n, cfgopt_period_mode, T, f, enum period_mode, d, fl, h)
/* An integer from lo to hi. */
#define CFGOPT_LONG(n, T, f, d, lo, hi, fl, h)                                                     \
    {                                                                                              \
        .name = (n), .type = &cfgopt_long, .offset = CFGOPT_AT_(T, f, long), .def = (d),           \
        .min = (lo), .max = (hi), .flags = (fl), .help = (h)                                       \
    }
/* A size in bytes from lo to hi. */
#define CFGOPT_SIZE(n, T, f, d, lo, hi, fl, h)                                                     \
    {                                                                                              \
        .name = (n), .type = &cfgopt_size, .offset = CFGOPT_AT_(T, f, long), .def = (d),           \
        .min = (lo), .max = (hi), .flags = (fl), .help = (h)                                       \
    }
/* A file holding a secret: its path goes to field f, its content to field content. No
 * default: a secret file is always named by the operator. */
#define CFGOPT_SECRET_FILE(n, T, f, content, fl, h)                                                \
    {                                                                                              \
        .name = (n), .type = &cfgopt_secret_file, .offset = CFGOPT_AT_(T, f, char *),              \
        .aux = CFGOPT_AT_(T, content, char *), .flags = (fl), .help = (h)                          \
    }

/* The row called name, or NULL. */
const struct cfgopt *cfgopt_find(const struct cfgopt *opts, size_t n, const char *name);

/* Reads v as o's value into base: the checks every key shares (empty, control
 * characters), then its type's. 0, or -1 with msg ("KEY: why", no FILE:LINE). */
int cfgopt_parse(const struct cfgopt *o, void *base, const char *v, const struct cfgopt_env *env,
                 char *msg, size_t msglen);

/* Sets every row of opts in base to its default, or to its unset value. 0, or -1 with msg
 * (out of memory, or a table whose default its own type rejects). */
int cfgopt_defaults(const struct cfgopt *opts, size_t n, void *base, const struct cfgopt_env *env,
                    char *msg, size_t msglen);

/* Frees what the rows stored in base (secrets wiped); base itself is the caller's. A NULL
 * base is a no-op. */
void cfgopt_release(const struct cfgopt *opts, size_t n, void *base);

/* A new struct of t->size bytes holding t's defaults (cfgopt_free frees it), or NULL with
 * msg. */
void *cfgopt_new(const struct cfgopt_table *t, const struct cfgopt_env *env, char *msg,
                 size_t msglen);
/* Releases and frees what cfgopt_new returned; NULL is a no-op. */
void cfgopt_free(const struct cfgopt_table *t, void *base);

/* The row's value as --print-config shows it: see cfgopt_type.format. */
int cfgopt_format(const struct cfgopt *o, const void *base, struct buf *out, char *note,
                  size_t notelen);
/* 1 when the row's value differs between a and b. */
int cfgopt_differs(const struct cfgopt *o, const void *a, const void *b);
/* What the reference adds after the row's help text; "" when nothing. */
void cfgopt_describe(const struct cfgopt *o, char *out, size_t outlen);

#endif
