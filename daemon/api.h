/* SPDX-License-Identifier: Apache-2.0 */
/* api: the JSON/CSV report endpoints. Runs on HTTP threads with a small pool of its own
 * database connections, so a slow report never touches the main loop's connection. */
#ifndef ONESTOP_API_H
#define ONESTOP_API_H

#include "config.h"
#include "http.h"
#include "rates.h"

#define API_POOL_SIZE 2
#define API_STATEMENT_TIMEOUT_MS 15000
#define API_OVERDUE_DEFAULT_LIMIT 100
#define API_OVERDUE_MAX_LIMIT 1000

struct api;

/* Copies what it needs from cfg. NULL on allocation failure. */
struct api *api_new(const struct config *cfg);
void api_free(struct api *a);
/* Takes the database settings and "as_of" of a reloaded config (thread-safe). */
void api_update(struct api *a, const struct config *cfg);

/* Cancels the queries the pool is running (at shutdown, before the HTTP threads are
 * joined), so a stop does not wait for a long report. Thread-safe. */
void api_cancel_all(struct api *a);

/* http_api_fn: GET /api/v1/report, /api/v1/overdue. */
void api_handle(void *ctx, const struct http_request *req, struct http_reply *out);

/* The parameters of GET /api/v1/report, checked. */
struct api_report_query {
    struct ldate from, to;
    const char *agency; /* borrowed from the request; NULL: every agency */
    int csv;
};

/* Reads and checks the report's parameters (pure: no database, for tests and the fuzzer).
 * 0, or -1 with the 400 reply written into rep. */
int api_parse_report(const struct http_request *req, struct api_report_query *q,
                     struct http_reply *rep);

/* Renders a table as the report JSON / CSV (exposed for tests). New string. */
char *api_report_json(const struct b06_table *t, size_t *len);
char *api_report_csv(const struct b06_table *t, size_t *len);

#endif
