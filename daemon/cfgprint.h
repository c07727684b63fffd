/* SPDX-License-Identifier: Apache-2.0 */
/* cfgprint: the configuration as text: its effective values, and the reference of its keys. */
#ifndef ONESTOP_CFGPRINT_H
#define ONESTOP_CFGPRINT_H

#include <stdio.h>

struct cfg_hooks;
struct config;

/* Writes the effective configuration (defaults filled in, secrets masked) to f, in the
 * INI syntax cfg_load reads: values that were not masked read back the same. */
void cfg_print(const struct config *cfg, FILE *f);

/* Writes the option reference (name, default, help) as Markdown, for the README: the
 * generic keys and the keys of every adapter hooks names (NULL: none). */
void cfg_print_reference(const struct cfg_hooks *hooks, FILE *f);

#endif
