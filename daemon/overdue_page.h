/* SPDX-License-Identifier: Apache-2.0 */
/* overdue_page: GET /qua-han[?agency=CODE], the dossiers overdue now as an HTML page. It
 * is a view of GET /api/v1/overdue: the API (its database pool, its checks, its one
 * definition of the list) answers, and this module turns the JSON into HTML. */
#ifndef ONESTOP_OVERDUE_PAGE_H
#define ONESTOP_OVERDUE_PAGE_H

#include <stddef.h>

#include "http.h"
#include "util.h"

/* The most dossiers the page lists (the API's own cap). */
#define OVERDUE_PAGE_LIMIT 1000

/* Handles GET /qua-han on an HTTP thread: api is the http_api_fn that serves
 * /api/v1/overdue, ctx its context. Always fills out with an HTML reply. */
void overdue_page_handle(http_api_fn api, void *ctx, const struct http_request *req,
                         struct http_reply *out);

/* Renders the page from the API's JSON body (exposed for tests); agency NULL for the whole
 * province. 0, or -1 when json is not the API's shape or memory ran out. */
int overdue_page_render(const char *json, size_t len, const char *agency, struct buf *out);

#endif
