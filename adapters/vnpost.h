/* SPDX-License-Identifier: Apache-2.0 */
/* vnpost: the keys a VNPost [source.NAME] section adds, as the config loader fills them. */
#ifndef ONESTOP_VNPOST_H
#define ONESTOP_VNPOST_H

/* source_cfg.opts of a vnpost source; the defaults are in vnpost.c's key table. */
struct vnpost_cfg {
    char *api_key_file;  /* required */
    char *api_key;       /* loaded from api_key_file; never logged */
    char *shipment_path; /* "/bcci/shipments" */
};

#endif
