/* SPDX-License-Identifier: Apache-2.0 */
/* ba: HTTP basic authentication against an htpasswd users set, with a short cache of the
 * checks that passed. A bcrypt at cost 10 costs tens of milliseconds; Prometheus sends the
 * same credentials every scrape, so one full check per BA_CACHE_TTL_MS is enough. The
 * cache holds keyed hashes (HMAC-SHA-256 under a random per-process key), never a
 * password. Thread-safe. */
#ifndef ONESTOP_BASICAUTH_H
#define ONESTOP_BASICAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "htpasswd.h"

#define BA_CACHE_TTL_MS 60000
#define BA_CACHE_SLOTS 32

struct ba;

/* NULL when out of memory (or the random key cannot be drawn). Authentication is off until
 * ba_set_users gives it users. */
struct ba *ba_new(void);
void ba_free(struct ba *a);

/* Replaces the users (takes ownership; NULL turns authentication off) and forgets every
 * cached check. */
void ba_set_users(struct ba *a, struct htp_users *u);

/* Whether users are set (requests must authenticate). */
int ba_enabled(struct ba *a);

/* 1 when (user, password) passed a full check less than BA_CACHE_TTL_MS ago with the
 * current users; 0 otherwise. Cheap (one HMAC): fine on an event thread. */
int ba_cached(struct ba *a, const char *user, const char *password);

/* The full check: one bcrypt, against a dummy hash for an unknown user, compared in
 * constant time. A success is cached. 1 or 0. Slow: run it on a worker. */
int ba_verify(struct ba *a, const char *user, const char *password);

#endif
