/* SPDX-License-Identifier: Apache-2.0 */
/* http over TLS with basic authentication: the certificate set (tlsc) and its errors,
 * HTTPS only, a reload that changes the served certificate while an open connection goes
 * on, a bad certificate that keeps the old one, and the 401s with their counter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "httptest.h"
#include "snapshot.h"
#include "testcert.h"
#include "tlscred.h"
#include "util.h"

struct files {
    char dir[64];
    char cert1[128], key1[128], cert2[128], key2[128], users[128], junk[128];
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Two certificates (one.test, two.test), a users file with prom:secret (bcrypt cost 4),
 * and a file that is no PEM. */
static int setup(void **state)
{
    struct files *t = calloc(1, sizeof *t);
    char salt[CRYPT_GENSALT_OUTPUT_SIZE], line[CRYPT_OUTPUT_SIZE + 64];
    struct crypt_data cd;

    assert_non_null(t);
    snprintf(t->dir, sizeof t->dir, "/tmp/onestop-tls-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->cert1, sizeof t->cert1, "%s/one.pem", t->dir);
    snprintf(t->key1, sizeof t->key1, "%s/one.key", t->dir);
    snprintf(t->cert2, sizeof t->cert2, "%s/two.pem", t->dir);
    snprintf(t->key2, sizeof t->key2, "%s/two.key", t->dir);
    snprintf(t->users, sizeof t->users, "%s/users", t->dir);
    snprintf(t->junk, sizeof t->junk, "%s/junk.pem", t->dir);
    assert_int_equal(testcert_make(t->cert1, t->key1, "one.test"), 0);
    assert_int_equal(testcert_make(t->cert2, t->key2, "two.test"), 0);
    memset(&cd, 0, sizeof cd);
    assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof salt));
    assert_non_null(crypt_rn("secret", salt, &cd, sizeof cd));
    snprintf(line, sizeof line, "# scrapers\nprom:%s\n", cd.output);
    write_file(t->users, line);
    write_file(t->junk,
               "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct files *t = *state;
    const char *names[] = {t->cert1, t->key1, t->cert2, t->key2, t->users, t->junk};
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        unlink(names[i]);
    rmdir(t->dir);
    free(t);
    return 0;
}

static void test_tlsc_load(void **state)
{
    struct files *t = *state;
    struct tlsc_creds *c = NULL;
    char err[512];
    gnutls_pcert_st *pc;
    unsigned int n;
    gnutls_privkey_t key;

    assert_int_equal(tlsc_load(t->cert1, t->key1, &c, err, sizeof err), 0);
    assert_non_null(strstr(tlsc_describe(c), "CN=one.test"));
    assert_non_null(strstr(tlsc_describe(c), "SHA-256 "));
    tlsc_use(c, &pc, &n, &key);
    assert_int_equal(n, 1);
    assert_non_null(key);
    assert_ptr_equal(tlsc_ref(c), c);
    tlsc_unref(c);
    tlsc_unref(c);
    tlsc_unref(NULL);
    assert_null(tlsc_ref(NULL));
    assert_string_equal(tlsc_describe(NULL), "");

    /* the key of another certificate */
    assert_int_equal(tlsc_load(t->cert1, t->key2, &c, err, sizeof err), -1);
    assert_null(c);
    char want[512];
    snprintf(want, sizeof want, "%s: the private key does not belong to the certificate in %s",
             t->key2, t->cert1);
    assert_string_equal(err, want);
    /* not PEM, missing, swapped */
    assert_int_equal(tlsc_load(t->junk, t->key1, &c, err, sizeof err), -1);
    assert_int_equal(strncmp(err, t->junk, strlen(t->junk)), 0);
    assert_int_equal(tlsc_load(t->cert1, t->junk, &c, err, sizeof err), -1);
    assert_int_equal(strncmp(err, t->junk, strlen(t->junk)), 0);
    assert_int_equal(tlsc_load("/nonexistent/c.pem", t->key1, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/c.pem: No such file"));
    assert_int_equal(tlsc_load(t->key1, t->cert1, &c, err, sizeof err), -1);
    assert_int_equal(strncmp(err, t->key1, strlen(t->key1)), 0);
}

static void test_https_auth_reload(void **state)
{
    struct files *t = *state;
    struct snapshot *snap = snapshot_new();
    char err[512];
    struct resp r;
    struct http_options o = {.listen = "127.0.0.1:0",
                             .tls_cert_file = t->cert1,
                             .tls_key_file = t->key1,
                             .users_file = t->users,
                             .snap = snap,
                             .stale_after_s = 0};
    struct http_server *srv;
    struct req good = {.https = 1, .userpwd = "prom:secret"};

    snapshot_set_metrics(snap, xstrdup("onestop_leader 1\n"), 17);
    srv = http_start(&o, err, sizeof err);
    if (!srv)
        fail_msg("http_start: %s", err);
    unsigned port = http_port(srv);
    assert_true(http_is_tls(srv));

    /* HTTPS, authenticated */
    assert_int_equal(fetch_ex("GET", port, "/metrics", &good, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.subject, "one.test"));
    assert_memory_equal(r.body.data, "onestop_leader 1\n", 17);
    resp_free(&r);
    /* again: from the cache this time (the answer is the same) */
    assert_int_equal(fetch_ex("GET", port, "/metrics", &good, &r), 0);
    assert_int_equal(r.status, 200);
    resp_free(&r);

    /* no credentials, a wrong password, an unknown user: 401 with the challenge */
    static const char *const bad[] = {NULL, "prom:wrong", "nobody:secret", "prom:", ":secret"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct req q = {.https = 1, .userpwd = bad[i]};
        assert_int_equal(fetch_ex("GET", port, "/metrics", &q, &r), 0);
        if (r.status != 401)
            fail_msg("%s: %ld", bad[i] ? bad[i] : "(none)", r.status);
        ASSERT_HEADER(&r, "WWW-Authenticate", "Basic realm=\"onestopd\"");
        ASSERT_HEADER(&r, "X-Content-Type-Options", "nosniff");
        assert_null(strstr(r.body.data, "onestop_leader"));
        resp_free(&r);
    }
    assert_int_equal(http_auth_failures(srv), ARRAY_LEN(bad));
    /* every path but /healthz: the API, the landing page, an unknown path */
    static const char *const closed[] = {"/", "/readyz", "/api/v1/alerts", "/api/v1/report",
                                         "/nope"};
    for (size_t i = 0; i < ARRAY_LEN(closed); i++) {
        struct req q = {.https = 1};
        assert_int_equal(fetch_ex("GET", port, closed[i], &q, &r), 0);
        if (r.status != 401)
            fail_msg("%s: %ld", closed[i], r.status);
        resp_free(&r);
    }
    struct req anon = {.https = 1};
    assert_int_equal(fetch_ex("GET", port, "/healthz", &anon, &r), 0);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    /* the counter is on the page */
    assert_int_equal(fetch_ex("GET", port, "/metrics", &good, &r), 0);
    char want[64];
    snprintf(want, sizeof want, "\nonestop_http_auth_failures_total %zu\n",
             ARRAY_LEN(bad) + ARRAY_LEN(closed));
    assert_non_null(strstr(r.body.data, want));
    resp_free(&r);

    /* plain HTTP on the HTTPS port gets no HTTP answer */
    struct req plain = {0};
    assert_true(fetch_ex("GET", port, "/healthz", &plain, &r) != 0 || r.status == 0);
    resp_free(&r);

    /* A connection opened before the reload... */
    CURL *keep = curl_easy_init();
    struct req kept = good;
    kept.handle = keep;
    assert_int_equal(fetch_ex("GET", port, "/metrics", &kept, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.new_conns, 1);
    resp_free(&r);

    /* ...reload with the second certificate: new handshakes get it */
    struct http_options o2 = o;
    o2.tls_cert_file = t->cert2;
    o2.tls_key_file = t->key2;
    assert_int_equal(http_reload(srv, &o2, err, sizeof err), 0);
    assert_int_equal(fetch_ex("GET", port, "/metrics", &good, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.subject, "two.test"));
    resp_free(&r);
    /* ...and the old connection still works, with its old certificate */
    assert_int_equal(fetch_ex("GET", port, "/metrics", &kept, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.new_conns, 0);
    resp_free(&r);
    curl_easy_cleanup(keep);

    /* a bad certificate on reload keeps the current one */
    struct http_options o3 = o;
    o3.tls_cert_file = t->junk;
    assert_int_equal(http_reload(srv, &o3, err, sizeof err), -1);
    assert_non_null(strstr(err, t->junk));
    assert_non_null(strstr(err, "keeping the old certificate"));
    assert_int_equal(fetch_ex("GET", port, "/metrics", &good, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.subject, "two.test"));
    resp_free(&r);

    /* reload without users: authentication is off */
    struct http_options o4 = o2;
    o4.users_file = NULL;
    assert_int_equal(http_reload(srv, &o4, err, sizeof err), 0);
    assert_int_equal(fetch_ex("GET", port, "/metrics", &anon, &r), 0);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    /* a bad users file keeps the users (here: none) and says so */
    o4.users_file = t->junk;
    assert_int_equal(http_reload(srv, &o4, err, sizeof err), -1);
    assert_non_null(strstr(err, "keeping the old users"));

    http_stop(srv);
    snapshot_free(snap);
}

static void test_start_errors(void **state)
{
    struct files *t = *state;
    struct snapshot *snap = snapshot_new();
    char err[512];
    struct http_options o = {.listen = "127.0.0.1:0", .snap = snap};

    o.tls_cert_file = t->cert1; /* no key */
    assert_null(http_start(&o, err, sizeof err));
    assert_string_equal(err, "127.0.0.1:0: TLS needs both a certificate and a key file");
    o.tls_key_file = t->key2;
    assert_null(http_start(&o, err, sizeof err));
    assert_non_null(strstr(err, "does not belong to the certificate"));
    o.tls_cert_file = o.tls_key_file = NULL;
    o.users_file = t->junk;
    assert_null(http_start(&o, err, sizeof err));
    char want[256];
    snprintf(want, sizeof want, "%s:1: malformed line (expected NAME:HASH)", t->junk);
    assert_string_equal(err, want);
    snapshot_free(snap);
}

/* Authentication over plain HTTP too; 405 comes before it, 414 as well. */
static void test_plain_auth(void **state)
{
    struct files *t = *state;
    struct snapshot *snap = snapshot_new();
    char err[512];
    struct resp r;
    struct http_options o = {.listen = "127.0.0.1:0", .users_file = t->users, .snap = snap};
    struct http_server *srv = http_start(&o, err, sizeof err);

    if (!srv)
        fail_msg("%s", err);
    unsigned port = http_port(srv);
    get(port, "/metrics", &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    struct req q = {.userpwd = "prom:secret"};
    assert_int_equal(fetch_ex("GET", port, "/metrics", &q, &r), 0);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    assert_int_equal(fetch_ex("DELETE", port, "/metrics", &q, &r), 0);
    assert_int_equal(r.status, 405);
    resp_free(&r);
    http_stop(srv);
    snapshot_free(snap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tlsc_load),
        cmocka_unit_test(test_https_auth_reload),
        cmocka_unit_test(test_start_errors),
        cmocka_unit_test(test_plain_auth),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
