/* SPDX-License-Identifier: Apache-2.0 */
/* redact: the one place that decides which parts of a URL may be logged or printed. */
#ifndef ONESTOP_REDACT_H
#define ONESTOP_REDACT_H

#include <stddef.h>

/* Offsets into a URL "scheme://[userinfo@]host[:port][/path][?query][#fragment]". The
 * userinfo ends at the LAST '@' before the path, so a raw '@' in a password cannot leak
 * the rest of it as a host name. */
struct redact_url {
    size_t scheme_len; /* up to, not including, "://" */
    size_t auth;       /* first byte after "://" */
    size_t host;       /* first byte of host[:port]; == auth when there is no userinfo */
    size_t path;       /* end of host[:port]: '/', '?', '#' or the end */
    size_t query;      /* end of the path: '?', '#' or the end */
    int userinfo_ats;  /* '@' bytes before the path: 0, 1, or more for a raw '@' */
};

/* 0, or -1 when url has no "scheme://" (with a scheme of 1 to 16 bytes). */
int redact_url_split(const char *url, struct redact_url *out);

/* Writes the URL as it may be logged: no userinfo, no query, no fragment; with keep_path
 * the path stays (feed URLs), without it only scheme://host[:port] (webhooks, whose
 * paths hold tokens). "(unparsable URL)" when it has no scheme. Always terminated. */
void redact_url_for_log(const char *url, int keep_path, char *out, size_t outlen);

/* 1 when the userinfo of url holds more than one '@': a password with a raw '@' that
 * must be written %40, which the config check refuses. 0 otherwise. */
int redact_userinfo_ambiguous(const char *url);

#endif
