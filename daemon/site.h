/* SPDX-License-Identifier: Apache-2.0 */
/* site: the status pages in the snapshot. The computation thread renders every page (the province
 * and each agency, in each current period) whenever it publishes a computation, on its own
 * thread; GET / then only looks a page up and copies it, like /metrics. */
#ifndef ONESTOP_SITE_H
#define ONESTOP_SITE_H

#include <libpq-fe.h>
#include <stddef.h>

#include "config.h"
#include "model.h"
#include "sitepages.h"
#include "snapshot.h"

/* The computation thread's state for the pages (the trend's cache of past days). */
struct site;

struct site *site_new(void);
void site_free(struct site *s);

/*
 * Renders every page from m (computed or not) and the sources, with the trend read through
 * conn (may be NULL: the days read before are kept), and hands them to snap. Computation thread.
 * 0, or -1 when out of memory (snap keeps the pages it had; a failed trend read only logs).
 */
int site_publish(struct site *s, PGconn *conn, const struct config *cfg, const struct model *m,
                 const struct source_status *src, size_t nsrc, struct snapshot *snap);

#endif
