/* SPDX-License-Identifier: Apache-2.0 */
/* netaddr: the syntax of a listen address, shared by the config check and the server. */
#ifndef ONESTOP_NETADDR_H
#define ONESTOP_NETADDR_H

#include <stddef.h>

struct netaddr_listen {
    char host[256]; /* without brackets; "" for "*" (every address) */
    int port;
    int ipv6; /* written in brackets */
    int any;  /* "*" */
};

/*
 * Splits "HOST:PORT", "[IPV6]:PORT" or "*:PORT". With literal_only (what the config
 * accepts) HOST must be an IPv4 address, the bracketed one an IPv6 address, and PORT
 * 1-65535; without it (the server, whose tests ask for port 0) HOST may be a name to
 * resolve and PORT 0-65535. 0, or -1 when s is none of these.
 */
int netaddr_parse_listen(const char *s, int literal_only, struct netaddr_listen *out);

#endif
