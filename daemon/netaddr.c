/* SPDX-License-Identifier: Apache-2.0 */
/* netaddr: the syntax of a listen address, shared by the config check and the server. */
#include "netaddr.h"

#include <arpa/inet.h>
#include <string.h>

static int parse_port(const char *s, int *out)
{
    long v = 0;
    size_t n = strlen(s);

    if (n == 0 || n > 5)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v > 65535)
        return -1;
    *out = (int)v;
    return 0;
}

int netaddr_parse_listen(const char *s, int literal_only, struct netaddr_listen *out)
{
    unsigned char bin[16];
    const char *hs, *port_s;
    size_t hl;

    memset(out, 0, sizeof *out);
    if (s == NULL)
        return -1;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        hs = s + 1;
        hl = (size_t)(close - hs);
        port_s = close + 2;
        out->ipv6 = 1;
    } else {
        const char *colon = strchr(s, ':');
        /* A second ':' is an IPv6 address without brackets. */
        if (colon == NULL || strchr(colon + 1, ':') != NULL)
            return -1;
        hs = s;
        hl = (size_t)(colon - s);
        port_s = colon + 1;
    }
    if (hl == 0 || hl >= sizeof out->host || parse_port(port_s, &out->port) < 0)
        return -1;
    memcpy(out->host, hs, hl);
    out->host[hl] = '\0';
    if (!out->ipv6 && strcmp(out->host, "*") == 0) {
        out->any = 1;
        out->host[0] = '\0';
    }
    if (!literal_only)
        return 0;
    if (out->port == 0)
        return -1;
    if (out->ipv6)
        return inet_pton(AF_INET6, out->host, bin) == 1 ? 0 : -1;
    if (out->any)
        return 0;
    return inet_pton(AF_INET, out->host, bin) == 1 ? 0 : -1;
}
