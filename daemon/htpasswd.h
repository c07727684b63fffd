/* SPDX-License-Identifier: Apache-2.0 */
/* htp: the basic-auth users file, "name:HASH" lines where HASH is bcrypt as written by
 * `htpasswd -nBC 10` (the users of the Prometheus exporters' web config, in a file of
 * their own). Parsing is pure (no I/O, no hashing), for the unit tests and a fuzzer;
 * password checks use libxcrypt's crypt_rn. */
#ifndef ONESTOP_HTPASSWD_H
#define ONESTOP_HTPASSWD_H

#include <stddef.h>

/* Longest user name accepted, in bytes. */
#define HTP_MAX_NAME 255

struct htp_users;

/*
 * Parses an htpasswd buffer (not necessarily NUL-terminated). Empty lines and lines that
 * start with '#' are skipped; every other line must be "NAME:HASH" with a bcrypt HASH
 * ($2a$, $2b$ or $2y$, cost 04-31), NAME non-empty without control characters and used
 * once; at least one user. 0 with *out (free with htp_free), or -1 with err
 * "ORIGIN:LINE: message" (or "ORIGIN: message"); a message never holds a hash.
 */
int htp_parse(const char *buf, size_t len, const char *origin, struct htp_users **out, char *err,
              size_t errlen);

/* Reads path (at most 64 KiB) and parses it with path as the origin. 0 or -1 with err. */
int htp_load(const char *path, struct htp_users **out, char *err, size_t errlen);

void htp_free(struct htp_users *u);

size_t htp_count(const struct htp_users *u);

/*
 * The hash to check user's password against: the stored one, or for an unknown user a
 * dummy bcrypt hash as costly as the most costly stored one, so that a check takes as long
 * whether the user exists or not. *known tells which (the caller must fail a check that
 * "succeeds" against the dummy). Names are compared in constant time. Valid while u lives.
 */
const char *htp_hash(const struct htp_users *u, const char *user, int *known);

/* Whether crypt(password, hash) reproduces hash, compared in constant time. 1 or 0 (also
 * when crypt fails). Costs one bcrypt: tens of milliseconds at cost 10. Thread-safe. */
int htp_check(const char *hash, const char *password);

/* Constant-time equality of two byte strings (the time depends on the lengths only). */
int htp_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

#endif
