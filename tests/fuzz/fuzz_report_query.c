/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the report API's query parser takes any parameters (as libmicrohttpd
 * hands them over, already percent-decoded: any bytes but NUL) and either accepts them
 * with from <= to or answers a 400 that is valid JSON. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input is "key=value" pairs separated by NUL bytes; the first of a key wins. */
struct fq {
    const char *keys[16], *vals[16];
    size_t n;
};

static const char *fq_arg(void *conn, const char *name)
{
    const struct fq *q = conn;
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->keys[i], name) == 0)
            return q->vals[i];
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    struct fq q = {0};
    struct api_report_query rq;
    struct http_reply rep;

    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (char *p = buf; p < buf + size && q.n < 16; p += strlen(p) + 1) {
        char *eq = strchr(p, '=');
        if (!eq)
            continue;
        *eq = '\0';
        q.keys[q.n] = p;
        q.vals[q.n++] = eq + 1;
    }
    memset(&rep, 0, sizeof rep);
    struct http_request req = {.path = "/api/v1/report", .arg = fq_arg, .conn = &q};
    if (api_parse_report(&req, &rq, &rep) == 0) {
        if (rep.body || ldate_cmp(&rq.from, &rq.to) > 0)
            abort();
    } else {
        json_error_t jerr;
        json_t *j = rep.body ? json_loadb(rep.body, rep.len, 0, &jerr) : NULL;
        if (rep.status != 400 || !j)
            abort();
        json_decref(j);
    }
    free(rep.body);
    free(buf);
    return 0;
}
