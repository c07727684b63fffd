/* SPDX-License-Identifier: Apache-2.0 */
/* A self-signed certificate and its key, made with GnuTLS for the TLS tests (no files in
 * the repository, no openssl binary). Header-only: included by the tests that need it. */
#ifndef ONESTOP_TEST_TESTCERT_H
#define ONESTOP_TEST_TESTCERT_H

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Writes PEM to path. 0 or -1. */
static int testcert_write(const char *path, const gnutls_datum_t *d)
{
    FILE *f = fopen(path, "wb");
    int rc;

    if (!f)
        return -1;
    rc = fwrite(d->data, 1, d->size, f) == d->size ? 0 : -1;
    return fclose(f) == 0 ? rc : -1;
}

/* An EC P-256 key and a certificate for cn (also its DNS name and 127.0.0.1), valid from
 * an hour ago for a year. 0 or -1. */
static int testcert_make(const char *cert_path, const char *key_path, const char *cn)
{
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t out = {NULL, 0};
    unsigned char serial[8];
    unsigned char ip[4] = {127, 0, 0, 1};
    time_t now = time(NULL);
    int rc = -1;

    if (gnutls_x509_privkey_init(&key) < 0 ||
        gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0)
        goto cleanup;
    if (gnutls_x509_crt_init(&crt) < 0 || gnutls_x509_crt_set_version(crt, 3) < 0 ||
        gnutls_x509_crt_set_key(crt, key) < 0)
        goto cleanup;
    gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial);
    serial[0] &= 0x7f;
    if (gnutls_x509_crt_set_serial(crt, serial, sizeof serial) < 0 ||
        gnutls_x509_crt_set_activation_time(crt, now - 3600) < 0 ||
        gnutls_x509_crt_set_expiration_time(crt, now + 365L * 86400) < 0 ||
        gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                      (unsigned)strlen(cn)) < 0 ||
        gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, cn, (unsigned)strlen(cn),
                                             GNUTLS_FSAN_APPEND) < 0 ||
        gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, sizeof ip,
                                             GNUTLS_FSAN_APPEND) < 0 ||
        gnutls_x509_crt_set_basic_constraints(crt, 0, -1) < 0 ||
        gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0)
        goto cleanup;
    if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &out) < 0 ||
        testcert_write(cert_path, &out) != 0)
        goto cleanup;
    gnutls_free(out.data);
    out.data = NULL;
    if (gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &out) <
            0 ||
        testcert_write(key_path, &out) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    gnutls_free(out.data);
    if (crt)
        gnutls_x509_crt_deinit(crt);
    if (key)
        gnutls_x509_privkey_deinit(key);
    return rc;
}

#endif
