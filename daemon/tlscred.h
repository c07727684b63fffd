/* SPDX-License-Identifier: Apache-2.0 */
/* tlsc: a certificate chain and its private key, loaded from PEM files, as the HTTPS
 * endpoint hands them to GnuTLS from its certificate callback. A loaded set never changes;
 * a reload loads a new one and swaps the pointer. Each TLS connection holds a reference to
 * the set its handshake used (GnuTLS keeps pointers into it for the session's life), so the
 * old set is freed when its last connection closes. */
#ifndef ONESTOP_TLSCRED_H
#define ONESTOP_TLSCRED_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stddef.h>

/* Most certificates in a chain file. */
#define TLSC_MAX_CHAIN 16

struct tlsc_creds;

/*
 * Reads cert_path (PEM: the server certificate first, then any intermediates) and
 * key_path (PEM, unencrypted: PKCS#8, RSA or EC) and checks that the key belongs to the
 * first certificate. 0 with *out (one reference), or -1 with err naming the file.
 */
int tlsc_load(const char *cert_path, const char *key_path, struct tlsc_creds **out, char *err,
              size_t errlen);

/* One more reference; returns c. NULL-safe. */
struct tlsc_creds *tlsc_ref(struct tlsc_creds *c);
/* Drops a reference; the last one frees. NULL-safe. */
void tlsc_unref(struct tlsc_creds *c);

/* What a gnutls_certificate_retrieve_function2 returns; valid while a reference is held. */
void tlsc_use(struct tlsc_creds *c, gnutls_pcert_st **pcert, unsigned int *n,
              gnutls_privkey_t *key);

/* "subject CN=..., expires 2030-01-01T00:00:00Z, SHA-256 AB:CD:..." for the log. */
const char *tlsc_describe(const struct tlsc_creds *c);

#endif
