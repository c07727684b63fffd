/* SPDX-License-Identifier: Apache-2.0 */
/* redact: the one place that decides which parts of a URL may be logged or printed. */
#include "redact.h"

#include <stdio.h>
#include <string.h>

int redact_url_split(const char *url, struct redact_url *out)
{
    const char *sep = url ? strstr(url, "://") : NULL;

    memset(out, 0, sizeof *out);
    if (sep == NULL || sep == url || (size_t)(sep - url) > 16)
        return -1;
    out->scheme_len = (size_t)(sep - url);
    out->auth = out->scheme_len + 3;
    out->path = out->auth + strcspn(url + out->auth, "/?#");
    out->host = out->auth;
    for (size_t i = out->auth; i < out->path; i++) {
        if (url[i] == '@') {
            out->host = i + 1;
            out->userinfo_ats++;
        }
    }
    out->query = out->path + strcspn(url + out->path, "?#");
    return 0;
}

void redact_url_for_log(const char *url, int keep_path, char *out, size_t outlen)
{
    struct redact_url u;

    if (outlen == 0)
        return;
    if (redact_url_split(url, &u) < 0) {
        snprintf(out, outlen, "(unparsable URL)");
        return;
    }
    snprintf(out, outlen, "%.*s://%.*s", (int)u.scheme_len, url,
             (int)((keep_path ? u.query : u.path) - u.host), url + u.host);
}

int redact_userinfo_ambiguous(const char *url)
{
    struct redact_url u;

    return redact_url_split(url, &u) == 0 && u.userinfo_ats > 1;
}
