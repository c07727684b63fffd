/* SPDX-License-Identifier: Apache-2.0 */
/* cfgprint: the configuration as text: its effective values, and the reference of its keys. */
#include "cfgprint.h"

#include <string.h>

#include "cfgopt.h"
#include "config.h"
#include "util.h"

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
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

static void print_row(FILE *f, const struct cfgopt *o, const void *base)
{
    struct buf b;
    char note[96];
    int rc;

    buf_init(&b);
    rc = cfgopt_format(o, base, &b, note, sizeof(note));
    if (rc == CFGOPT_UNSET)
        fprintf(f, "; %s = (unset)\n", o->name);
    else if (rc < 0 || b.oom)
        fprintf(f, "; %s = (not shown: out of memory)\n", o->name); /* never unmasked */
    else
        print_value(f, o->name, b.data ? b.data : "", note[0] ? note : NULL);
    buf_free(&b);
}

/* The rows of one section, with the sub-table (a source's adapter keys, in their own
 * struct) after the row flagged CFGOPT_SUB_AFTER, or at the end. */
static void print_rows(FILE *f, const struct cfg_section *sec, const void *base,
                       const struct cfgopt_table *sub, const void *sub_base)
{
    int sub_done = sub == NULL;

    for (size_t i = 0; i < sec->nopts; i++) {
        print_row(f, &sec->opts[i], base);
        if (!sub_done && (sec->opts[i].flags & CFGOPT_SUB_AFTER)) {
            for (size_t j = 0; j < sub->nopts; j++)
                print_row(f, &sub->opts[j], sub_base);
            sub_done = 1;
        }
    }
    for (size_t j = 0; !sub_done && j < sub->nopts; j++)
        print_row(f, &sub->opts[j], sub_base);
}

void cfg_print(const struct config *cfg, FILE *f)
{
    size_t n;
    const struct cfg_section *secs = cfg_sections(&n);

    fprintf(f, "; effective configuration of %s\n", cfg->path ? cfg->path : "(defaults)");
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "\n[%s]\n", secs[i].name);
        print_rows(f, &secs[i], cfg, NULL, NULL);
    }
    for (size_t s = 0; s < cfg->nsources; s++) {
        const struct source_cfg *sc = &cfg->sources[s];
        fprintf(f, "\n[source.%s]\n", sc->name);
        print_rows(f, cfg_source_section(), sc, sc->opts ? sc->keys : NULL, sc->opts);
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

/* One row of the reference; an adapter's keys say whose they are before their help. */
static void reference_row(FILE *f, const char *section, const struct cfgopt *o, const char *adapter)
{
    char extra[128];

    fprintf(f, "| `[%s]` | `%s` | ", section, o->name);
    if (o->flags & CFGOPT_REQUIRED)
        fputs("*required*", f);
    else if (o->def == NULL)
        fputs("*unset*", f);
    else
        fprintf(f, "`%s`", o->def);
    fputs(" | ", f);
    if (adapter != NULL) {
        md_text(f, adapter);
        fputs(": ", f);
    }
    md_text(f, o->help);
    cfgopt_describe(o, extra, sizeof(extra));
    md_text(f, extra);
    fputs(" |\n", f);
}

/* Every adapter's keys, in the order the hooks name the adapters. */
static void reference_adapters(FILE *f, const struct cfg_hooks *hooks, const char *section)
{
    const struct cfgopt_table *keys;
    const char *name;

    for (size_t i = 0; hooks && hooks->adapter && (name = hooks->adapter(i, &keys)) != NULL; i++) {
        for (size_t j = 0; j < keys->nopts; j++)
            reference_row(f, section, &keys->opts[j], name);
    }
}

void cfg_print_reference(const struct cfg_hooks *hooks, FILE *f)
{
    size_t n;
    const struct cfg_section *secs = cfg_sections(&n);
    const struct cfg_section *src = cfg_source_section();
    char section[32];
    int adapters_done = 0;

    fputs("| Section | Key | Default | Description |\n", f);
    fputs("|---|---|---|---|\n", f);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < secs[i].nopts; j++)
            reference_row(f, secs[i].name, &secs[i].opts[j], NULL);
    }
    snprintf(section, sizeof(section), "%s.NAME", src->name);
    for (size_t j = 0; j < src->nopts; j++) {
        reference_row(f, section, &src->opts[j], NULL);
        if (!adapters_done && (src->opts[j].flags & CFGOPT_SUB_AFTER)) {
            reference_adapters(f, hooks, section);
            adapters_done = 1;
        }
    }
    if (!adapters_done)
        reference_adapters(f, hooks, section);
}
