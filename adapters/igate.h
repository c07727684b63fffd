/* SPDX-License-Identifier: Apache-2.0 */
/* igate: the keys an iGate [source.NAME] section adds, as the config loader fills them. */
#ifndef ONESTOP_IGATE_H
#define ONESTOP_IGATE_H

/* source_cfg.opts of an igate source; the defaults are in igate.c's key table. */
struct igate_cfg {
    char *token_url;          /* OAuth2 token endpoint (required) */
    char *client_id;          /* required */
    char *client_secret_file; /* required */
    char *client_secret;      /* loaded from client_secret_file; never logged */
    char *dossier_path;       /* "/pa/dossier/search" */
    char *procedure_path;     /* "/pa/procedure/search"; "" disables the catalogue */
};

#endif
