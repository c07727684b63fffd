/* SPDX-License-Identifier: Apache-2.0 */
/* cli: command-line options (getopt_long). */
#ifndef ONESTOP_CLI_H
#define ONESTOP_CLI_H

#include <stddef.h>
#include <stdio.h>

enum cli_action {
    CLI_RUN = 0,
    CLI_CHECK_CONFIG,
    CLI_PRINT_CONFIG,
    CLI_PRINT_REFERENCE,
    CLI_MIGRATE,
    CLI_REBUILD_ROLLUPS,
    CLI_CHECK_ROLLUPS,
    CLI_VERSION,
    CLI_HELP,
};

struct cli_options {
    enum cli_action action;
    const char *config_path; /* borrowed from argv or the default */
    const char *log_level;   /* NULL: from the config, else info */
    int once;                /* sync every source once, compute, print /metrics, exit */
    char **days;             /* --check-rollups: the days to check (argv), ndays of them */
    int ndays;
};

/* Returns 0, or -1 with err for a usage error (exit 64). */
int cli_parse(int argc, char **argv, struct cli_options *o, char *err, size_t errlen);
void cli_usage(FILE *f);

#endif
