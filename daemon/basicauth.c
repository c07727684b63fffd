/* SPDX-License-Identifier: Apache-2.0 */
/* ba: basic authentication with a cache of recent successes (see basicauth.h). */
#include "basicauth.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAC_LEN 32 /* SHA-256 */

struct slot {
    unsigned char mac[MAC_LEN];
    int64_t expires_ms; /* 0: empty */
};

struct ba {
    pthread_mutex_t mu;
    struct htp_users *users; /* NULL: authentication off */
    unsigned generation;     /* bumped by ba_set_users, so a slow check of old users is not
                                cached for the new ones */
    unsigned char key[MAC_LEN];
    struct slot cache[BA_CACHE_SLOTS];
};

struct ba *ba_new(void)
{
    struct ba *a = calloc(1, sizeof *a);

    if (!a)
        return NULL;
    if (gnutls_rnd(GNUTLS_RND_KEY, a->key, sizeof a->key) != 0) {
        free(a);
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

void ba_free(struct ba *a)
{
    if (!a)
        return;
    htp_free(a->users);
    pthread_mutex_destroy(&a->mu);
    explicit_bzero(a, sizeof *a);
    free(a);
}

void ba_set_users(struct ba *a, struct htp_users *u)
{
    struct htp_users *old;

    pthread_mutex_lock(&a->mu);
    old = a->users;
    a->users = u;
    a->generation++;
    memset(a->cache, 0, sizeof a->cache);
    pthread_mutex_unlock(&a->mu);
    htp_free(old);
}

int ba_enabled(struct ba *a)
{
    int on;

    pthread_mutex_lock(&a->mu);
    on = a->users != NULL;
    pthread_mutex_unlock(&a->mu);
    return on;
}

/* HMAC(key, user NUL password): the NUL keeps ("ab", "c") and ("a", "bc") apart. */
static int mac_of(const struct ba *a, const char *user, const char *password,
                  unsigned char out[MAC_LEN])
{
    gnutls_hmac_hd_t h;

    if (gnutls_hmac_init(&h, GNUTLS_MAC_SHA256, a->key, sizeof a->key) != 0)
        return -1;
    if (gnutls_hmac(h, user, strlen(user) + 1) != 0 ||
        gnutls_hmac(h, password, strlen(password)) != 0) {
        gnutls_hmac_deinit(h, out);
        return -1;
    }
    gnutls_hmac_deinit(h, out);
    return 0;
}

int ba_cached(struct ba *a, const char *user, const char *password)
{
    unsigned char mac[MAC_LEN];
    int64_t now = util_now_ms();
    int hit = 0;

    if (!user || !password || mac_of(a, user, password, mac) != 0)
        return 0;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < BA_CACHE_SLOTS; i++) {
        const struct slot *s = &a->cache[i];
        if (s->expires_ms > now && htp_ct_equal(s->mac, MAC_LEN, mac, MAC_LEN))
            hit = 1;
    }
    hit = hit && a->users != NULL;
    pthread_mutex_unlock(&a->mu);
    return hit;
}

/* Remembers a success in an empty or expired slot, else in the one closest to expiry. */
static void remember(struct ba *a, const unsigned char mac[MAC_LEN], int64_t now)
{
    struct slot *victim = &a->cache[0];

    for (size_t i = 0; i < BA_CACHE_SLOTS; i++) {
        struct slot *s = &a->cache[i];
        if (htp_ct_equal(s->mac, MAC_LEN, mac, MAC_LEN) && s->expires_ms > now) {
            victim = s; /* already there: refresh */
            break;
        }
        if (s->expires_ms < victim->expires_ms)
            victim = s;
    }
    memcpy(victim->mac, mac, MAC_LEN);
    victim->expires_ms = now + BA_CACHE_TTL_MS;
}

int ba_verify(struct ba *a, const char *user, const char *password)
{
    char hash[128];
    unsigned char mac[MAC_LEN];
    unsigned gen;
    int known = 0, ok;

    if (!user || !password)
        return 0;
    /* Copy the hash and check outside the lock: a bcrypt must not hold up the cache, and
     * a reload may free these users meanwhile. */
    pthread_mutex_lock(&a->mu);
    const char *h = htp_hash(a->users, user, &known);
    gen = a->generation;
    if (h)
        snprintf(hash, sizeof hash, "%s", h);
    pthread_mutex_unlock(&a->mu);
    if (!h)
        return 0; /* authentication is off: nothing to verify against */
    ok = htp_check(hash, password) && known;
    if (ok && mac_of(a, user, password, mac) == 0) {
        pthread_mutex_lock(&a->mu);
        if (a->generation == gen)
            remember(a, mac, util_now_ms());
        pthread_mutex_unlock(&a->mu);
    }
    explicit_bzero(hash, sizeof hash);
    return ok;
}
