/* SPDX-License-Identifier: Apache-2.0 */
/* tlsc: certificate and key sets for the HTTPS endpoint (see tlscred.h). */
#include "tlscred.h"

#include <gnutls/x509.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

struct tlsc_creds {
    atomic_uint refs;
    gnutls_pcert_st pcert[TLSC_MAX_CHAIN];
    unsigned int n;
    gnutls_privkey_t key;
    char desc[512];
};

static void creds_free(struct tlsc_creds *c)
{
    if (!c)
        return;
    for (unsigned int i = 0; i < c->n; i++)
        gnutls_pcert_deinit(&c->pcert[i]);
    if (c->key)
        gnutls_privkey_deinit(c->key);
    free(c);
}

struct tlsc_creds *tlsc_ref(struct tlsc_creds *c)
{
    if (c)
        atomic_fetch_add(&c->refs, 1);
    return c;
}

void tlsc_unref(struct tlsc_creds *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        creds_free(c);
}

void tlsc_use(struct tlsc_creds *c, gnutls_pcert_st **pcert, unsigned int *n, gnutls_privkey_t *key)
{
    *pcert = c->pcert;
    *n = c->n;
    *key = c->key;
}

const char *tlsc_describe(const struct tlsc_creds *c)
{
    return c ? c->desc : "";
}

/* The SHA-256 of a public key's SubjectPublicKeyInfo, to tell whether key and cert match. */
static int key_id(gnutls_pubkey_t pub, unsigned char out[32])
{
    size_t len = 32;

    return gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, out, &len) == 0 && len == 32 ? 0
                                                                                               : -1;
}

/* Subject, expiry and fingerprint of the first certificate, for the log. */
static void describe(struct tlsc_creds *c)
{
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t dn = {NULL, 0};
    unsigned char fp[32];
    size_t fplen = sizeof fp;
    char hex[3 * sizeof fp + 1] = "", when[32] = "?";
    struct tm tm;

    if (gnutls_x509_crt_init(&crt) != 0)
        return;
    if (gnutls_x509_crt_import(crt, &c->pcert[0].cert, GNUTLS_X509_FMT_DER) == 0) {
        time_t t = gnutls_x509_crt_get_expiration_time(crt);
        if (t != (time_t)-1 && gmtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &fplen) == 0)
            for (size_t i = 0, at = 0; i < fplen && at < sizeof hex; i++)
                at += (size_t)snprintf(hex + at, sizeof hex - at, i ? ":%02X" : "%02X", fp[i]);
        if (gnutls_x509_crt_get_dn3(crt, &dn, 0) != 0)
            dn.data = NULL;
    }
    snprintf(c->desc, sizeof c->desc, "subject %s, expires %s, SHA-256 %s",
             dn.data ? (const char *)dn.data : "?", when, hex[0] ? hex : "?");
    gnutls_free(dn.data);
    gnutls_x509_crt_deinit(crt);
}

int tlsc_load(const char *cert_path, const char *key_path, struct tlsc_creds **out, char *err,
              size_t errlen)
{
    struct tlsc_creds *c = NULL;
    char *cert = NULL, *key = NULL;
    gnutls_pubkey_t kpub = NULL;
    unsigned char id_cert[32], id_key[32];
    char rerr[512];
    int rc = -1, ret;

    *out = NULL;
    /* util_read_secret: at most 64 KiB, no NUL bytes, errors that never quote the data. */
    cert = util_read_secret(cert_path, rerr, sizeof rerr);
    if (!cert) {
        snprintf(err, errlen, "%s", rerr);
        goto cleanup;
    }
    key = util_read_secret(key_path, rerr, sizeof rerr);
    if (!key) {
        snprintf(err, errlen, "%s", rerr);
        goto cleanup;
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    atomic_init(&c->refs, 1);
    gnutls_datum_t cd = {(unsigned char *)cert, (unsigned int)strlen(cert)};
    c->n = TLSC_MAX_CHAIN;
    ret = gnutls_pcert_list_import_x509_raw(c->pcert, &c->n, &cd, GNUTLS_X509_FMT_PEM, 0);
    if (ret < 0 || c->n == 0) {
        c->n = 0;
        snprintf(err, errlen, "%s: not a PEM certificate chain (at most %d certificates): %s",
                 cert_path, TLSC_MAX_CHAIN, ret < 0 ? gnutls_strerror(ret) : "no certificate");
        goto cleanup;
    }
    gnutls_datum_t kd = {(unsigned char *)key, (unsigned int)strlen(key)};
    if ((ret = gnutls_privkey_init(&c->key)) < 0 ||
        (ret = gnutls_privkey_import_x509_raw(c->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        snprintf(err, errlen, "%s: not an unencrypted PEM private key: %s", key_path,
                 gnutls_strerror(ret));
        goto cleanup;
    }
    /* GnuTLS would only find a mismatch in the first handshake; tell it now, by file. */
    if (gnutls_pubkey_init(&kpub) < 0 || gnutls_pubkey_import_privkey(kpub, c->key, 0, 0) < 0 ||
        key_id(kpub, id_key) != 0 || key_id(c->pcert[0].pubkey, id_cert) != 0) {
        snprintf(err, errlen, "%s: cannot read the public key of the private key", key_path);
        goto cleanup;
    }
    if (memcmp(id_key, id_cert, sizeof id_key) != 0) {
        snprintf(err, errlen, "%s: the private key does not belong to the certificate in %s",
                 key_path, cert_path);
        goto cleanup;
    }
    describe(c);
    *out = c;
    c = NULL;
    rc = 0;
cleanup:
    if (kpub)
        gnutls_pubkey_deinit(kpub);
    creds_free(c);
    if (key) {
        explicit_bzero(key, strlen(key));
        free(key);
    }
    free(cert);
    return rc;
}
