/* SPDX-License-Identifier: Apache-2.0 */
/* snapshot: what the HTTP thread serves, swapped atomically by the computation thread. */
#ifndef ONESTOP_SNAPSHOT_H
#define ONESTOP_SNAPSHOT_H

#include <stddef.h>

#include "gz.h"

struct snapshot;

struct snapshot *snapshot_new(void);
void snapshot_free(struct snapshot *s);

/* Replaces the rendered /metrics page; takes ownership of page (malloc'd). Also gzips it
 * (gz.h) once for every scrape that accepts gzip. */
void snapshot_set_metrics(struct snapshot *s, char *page, size_t len);
/* Readiness inputs and a one-line status text (copied). */
void snapshot_set_state(struct snapshot *s, int db_up, int all_synced, const char *status);
/* Replaces the GET /api/v1/alerts body (JSON); takes ownership of json (malloc'd). */
void snapshot_set_alerts(struct snapshot *s, char *json, size_t len);
/* Replaces the rendered status pages (site.h); takes ownership of pages. */
struct site_pages;
void snapshot_set_pages(struct snapshot *s, struct site_pages *pages);
/* The main loop calls this every tick; /healthz fails when it stops for too long. */
void snapshot_heartbeat(struct snapshot *s);

/* Copies of the current state for a request (caller frees *page / *status).
 * snapshot_get_metrics returns 1 with a NUL-terminated copy, 0 when no page was set yet,
 * -1 when out of memory (*page is then NULL). *status may be NULL (never set). */
int snapshot_get_metrics(struct snapshot *s, char **page, size_t *len);
/* Like snapshot_get_metrics, for the gzip prefix of the page and what gz_finish needs. */
int snapshot_get_metrics_gz(struct snapshot *s, char **gz, size_t *len,
                            struct gz_prefix_info *info);
/* Like snapshot_get_metrics, for the alerts JSON. */
int snapshot_get_alerts(struct snapshot *s, char **json, size_t *len);
/* A copy of the status page for agency and period (site_pages_copy() says which and sets
 * *status). 1 with the copy, 0 when no pages were set yet, -1 when out of memory. */
int snapshot_get_page(struct snapshot *s, const char *agency, const char *period, char **html,
                      size_t *len, unsigned *status);
void snapshot_get_state(struct snapshot *s, int *db_up, int *all_synced, char **status,
                        double *heartbeat_age_s);

#endif
