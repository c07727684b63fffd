/* SPDX-License-Identifier: Apache-2.0 */
/* cli: getopt_long front end. */
#include "cli.h"

#include <getopt.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "util.h"

enum {
    OPT_PRINT_CONFIG = 256,
    OPT_PRINT_REFERENCE,
    OPT_MIGRATE,
    OPT_ONCE,
    OPT_REBUILD_ROLLUPS,
    OPT_CHECK_ROLLUPS
};

static const struct option LONG_OPTS[] = {
    {"config", required_argument, NULL, 'c'},
    {"check-config", no_argument, NULL, 't'},
    {"print-config", no_argument, NULL, OPT_PRINT_CONFIG},
    {"print-config-reference", no_argument, NULL, OPT_PRINT_REFERENCE},
    {"migrate", no_argument, NULL, OPT_MIGRATE},
    {"once", no_argument, NULL, OPT_ONCE},
    {"rebuild-rollups", no_argument, NULL, OPT_REBUILD_ROLLUPS},
    {"check-rollups", no_argument, NULL, OPT_CHECK_ROLLUPS},
    {"log-level", required_argument, NULL, 'l'},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void cli_usage(FILE *f)
{
    fprintf(f, "Usage: onestopd [OPTION]...\n"
               "  or:  onestopd [-c FILE] --check-rollups [YYYY-MM-DD]...\n"
               "Pull iGate dossiers, the procedure catalogue and VNPost shipments into\n"
               "PostgreSQL and serve the administrative-reform indicators to Prometheus.\n"
               "\n"
               "  -c, --config=FILE         configuration file (default " CFG_DEFAULT_PATH ")\n"
               "  -t, --check-config        validate the configuration and exit (0, or 78)\n"
               "      --print-config        print the effective configuration and exit\n"
               "      --print-config-reference  print every option as Markdown and exit\n"
               "      --migrate             apply database migrations and exit\n"
               "      --rebuild-rollups     recompute the indicator rollups from the stored\n"
               "                            records and exit\n"
               "      --check-rollups       compare the rollups with the stored records and\n"
               "                            the reference SQL around each day given (default\n"
               "                            today) and exit: 0 agree, 1 differ\n"
               "      --once                sync every source once, compute the indicators,\n"
               "                            print the /metrics page to stdout and exit\n"
               "  -l, --log-level=LEVEL     error, warning, notice, info or debug\n"
               "  -V, --version             print the version and exit\n"
               "  -h, --help                print this help and exit\n"
               "\n"
               "Exit status: 0 ok, 64 usage, 69 database or source unavailable,\n"
               "70 internal error, 71 OS error (e.g. the HTTP port), 78 configuration error.\n");
}

int cli_parse(int argc, char **argv, struct cli_options *o, char *err, size_t errlen)
{
    int c;
    enum log_level lvl;

    memset(o, 0, sizeof *o);
    o->config_path = CFG_DEFAULT_PATH;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:tl:Vh", LONG_OPTS, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config_path = optarg;
            break;
        case 't':
            o->action = CLI_CHECK_CONFIG;
            break;
        case OPT_PRINT_CONFIG:
            o->action = CLI_PRINT_CONFIG;
            break;
        case OPT_PRINT_REFERENCE:
            o->action = CLI_PRINT_REFERENCE;
            break;
        case OPT_MIGRATE:
            o->action = CLI_MIGRATE;
            break;
        case OPT_ONCE:
            o->once = 1;
            break;
        case OPT_REBUILD_ROLLUPS:
            o->action = CLI_REBUILD_ROLLUPS;
            break;
        case OPT_CHECK_ROLLUPS:
            o->action = CLI_CHECK_ROLLUPS;
            break;
        case 'l':
            if (log_parse_level(optarg, &lvl) != 0) {
                snprintf(err, errlen, "--log-level: unknown level '%s'", optarg);
                return -1;
            }
            o->log_level = optarg;
            break;
        case 'V':
            o->action = CLI_VERSION;
            break;
        case 'h':
            o->action = CLI_HELP;
            break;
        case ':':
            snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
            return -1;
        default:
            snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]);
            return -1;
        }
    }
    if (o->action == CLI_CHECK_ROLLUPS) {
        /* The days to check; only this action takes arguments. */
        for (int i = optind; i < argc; i++) {
            struct ldate d;
            if (strlen(argv[i]) != 10 || ldate_parse(argv[i], &d) != 0) {
                snprintf(err, errlen, "--check-rollups: '%s' is not a date (YYYY-MM-DD)", argv[i]);
                return -1;
            }
        }
        o->days = argv + optind;
        o->ndays = argc - optind;
    } else if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    return 0;
}
