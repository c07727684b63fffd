/* SPDX-License-Identifier: Apache-2.0 */
/* cfg: loading a file into the table, its defaults, its errors (with line numbers), the
 * adapters' keys and printing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapter.h"
#include "cfgopt.h"
#include "cfgprint.h"
#include "config.h"
#include "igate.h"
#include "testcert.h"
#include "util.h"
#include "vnpost.h"

/* The adapters, as main passes them to the loader. */
static const struct cfg_hooks hooks = {.adapter = adp_keys, .check = adp_check};

static char dir[64];
static char conf_path[128];

/* What each adapter's init() needs besides adapter and base_url; fixture.secret is made
 * by setup() next to the config file. */
#define IGATE_KEYS                                                                                 \
    "token_url = http://t.example/token\nclient_id = c\nclient_secret_file = fixture.secret\n"
#define VNPOST_KEYS "api_key_file = fixture.secret\n"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A file in the test directory; returns its path (caller frees). */
static char *put(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    write_file(path, text);
    return path;
}

static int load(const char *text, struct config **cfg, char *err, size_t errlen)
{
    write_file(conf_path, text);
    return cfg_load(conf_path, &hooks, cfg, err, errlen);
}

static struct config *load_ok(const char *text)
{
    struct config *cfg = NULL;
    char err[1024] = "";

    if (load(text, &cfg, err, sizeof(err)) != 0)
        fail_msg("unexpected error: %s", err);
    assert_non_null(cfg);
    return cfg;
}

/* The load fails with "PATH:LINE: ..." containing what. */
static void expect_error_at(const char *text, int line, const char *what)
{
    struct config *cfg = (struct config *)0x1;
    char err[1024] = "", prefix[256];

    assert_int_equal(load(text, &cfg, err, sizeof(err)), -1);
    assert_null(cfg);
    snprintf(prefix, sizeof(prefix), "%s:%d: ", conf_path, line);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("expected an error at line %d, got: %s", line, err);
    if (strstr(err, what) == NULL)
        fail_msg("expected \"%s\" in: %s", what, err);
    if (strstr(err, "@secret") != NULL)
        fail_msg("a password is echoed: %s", err);
}

static const char issue_example[] = "[database]\n"
                                    "conninfo = host=127.0.0.1 port=5432 dbname=onestop "
                                    "user=onestop\n"
                                    "[http]\n"
                                    "listen = 127.0.0.1:9787\n"
                                    "[metrics]\n"
                                    "interval = 60s\n"
                                    "; as_of = 2022-12-31\n"
                                    "[source.igate]\n"
                                    "adapter = igate\n"
                                    "base_url = https://apiigate.example.gov.vn\n"
                                    "token_url = https://lgsp.example.gov.vn/token\n"
                                    "client_id = onestopd\n"
                                    "client_secret_file = %s\n"
                                    "interval = 300s\n"
                                    "page_size = 500\n";

static void test_issue_example(void **state)
{
    char *secret = put("igate.secret", "s3cr3t-value\n");
    char *text = xasprintf(issue_example, secret);
    struct config *cfg = load_ok(text);
    const struct source_cfg *s;
    const struct igate_cfg *ig;

    assert_string_equal(cfg->path, conf_path);
    assert_string_equal(cfg->db_conninfo, "host=127.0.0.1 port=5432 dbname=onestop user=onestop");
    assert_null(cfg->db_password_file);
    assert_null(cfg->db_password);
    assert_string_equal(cfg->http_listen, "127.0.0.1:9787");
    assert_int_equal(cfg->metrics_interval_s, 60);
    assert_null(cfg->as_of);
    assert_int_equal(cfg->nsources, 1);

    s = cfg_find_source(cfg, "igate");
    assert_non_null(s);
    assert_ptr_equal(s, &cfg->sources[0]);
    assert_string_equal(s->name, "igate");
    assert_int_equal(s->line, 8);
    assert_string_equal(s->adapter, "igate");
    assert_string_equal(s->base_url, "https://apiigate.example.gov.vn");
    /* the igate keys, in igate's struct: an igate source holds no vnpost key (api_key) */
    assert_ptr_equal(s->keys, &adapter_igate_ops.keys);
    ig = s->opts;
    assert_string_equal(ig->token_url, "https://lgsp.example.gov.vn/token");
    assert_string_equal(ig->client_id, "onestopd");
    assert_string_equal(ig->client_secret_file, secret);
    assert_string_equal(ig->client_secret, "s3cr3t-value");
    assert_int_equal(s->interval_s, 300);
    assert_int_equal(s->page_size, 500);
    /* defaults of the keys not given (shipment_path's: test_defaults) */
    assert_string_equal(ig->dossier_path, "/pa/dossier/search");
    assert_string_equal(ig->procedure_path, "/pa/procedure/search");
    assert_int_equal(s->timeout_s, 30);
    assert_int_equal(s->max_retries, 5);
    assert_int_equal(s->backoff_max_s, 60);
    assert_null(cfg_find_source(cfg, "vnpost"));
    assert_null(cfg_find_source(cfg, NULL));

    cfg_free(cfg);
    free(text);
    free(secret);
}

static void test_defaults(void **state)
{
    struct config *cfg = load_ok("; nothing but a comment\n\n");

    assert_string_equal(cfg->log_level, "info");
    assert_string_equal(cfg->db_conninfo, "dbname=onestop");
    assert_null(cfg->db_password_file);
    assert_string_equal(cfg->http_listen, "127.0.0.1:9787");
    assert_int_equal(cfg->http_max_connections, 512);
    assert_int_equal(cfg->http_timeout_s, 10);
    assert_int_equal(cfg->http_header_timeout_s, 5);
    assert_null(cfg->http_tls_cert_file);
    assert_null(cfg->http_tls_key_file);
    assert_null(cfg->http_basic_auth_users_file);
    assert_int_equal(cfg->metrics_interval_s, 60);
    assert_null(cfg->as_of);
    assert_int_equal(cfg->period_mode, PERIOD_CALENDAR);
    assert_float_equal(cfg->target_online_dossier, 0.25, 1e-12);
    assert_float_equal(cfg->target_online_procedure, 0.75, 1e-12);
    assert_float_equal(cfg->target_postal_procedure, 0.60, 1e-12);
    assert_true(isnan(cfg->on_time_baseline));
    assert_int_equal(cfg->nsources, 0);
    assert_null(cfg->sources);
    cfg_free(cfg);

    /* the source defaults, on a minimal vnpost section */
    cfg = load_ok(
        "[source.vn]\nadapter = vnpost\nbase_url = http://vnpost.local:8080/\n" VNPOST_KEYS);
    assert_int_equal(cfg->nsources, 1);
    assert_string_equal(cfg->sources[0].base_url, "http://vnpost.local:8080"); /* slash gone */
    assert_ptr_equal(cfg->sources[0].keys, &adapter_vnpost_ops.keys);
    const struct vnpost_cfg *vn = cfg->sources[0].opts;
    assert_string_equal(vn->shipment_path, "/bcci/shipments");
    assert_int_equal(cfg->sources[0].interval_s, 300);
    assert_int_equal(cfg->sources[0].page_size, 500);
    assert_int_equal(cfg->sources[0].timeout_s, 30);
    assert_int_equal(cfg->sources[0].max_retries, 5);
    assert_int_equal(cfg->sources[0].backoff_max_s, 60);
    cfg_free(cfg);

    /* a vnpost source holds no igate key; igate's token_url has no default */
    char msg[128];
    struct igate_cfg *ig = cfgopt_new(&adapter_igate_ops.keys, NULL, msg, sizeof(msg));
    assert_non_null(ig);
    assert_null(ig->token_url);
    assert_string_equal(ig->procedure_path, "/pa/procedure/search");
    cfgopt_free(&adapter_igate_ops.keys, ig);

    cfg_free(NULL);
}

static void test_all_keys(void **state)
{
    char *pw = put("dbpass", "pw\r\n");
    char *key = put("vn.key", "k3y");
    char *text = xasprintf("[daemon]\n"
                           "log_level = debug\n"
                           "[database]\n"
                           "conninfo = postgresql://onestop@db.local/onestop?sslmode=require\n"
                           "password_file = dbpass\n"
                           "[http]\n"
                           "listen = [::1]:9000\n"
                           "max_connections = 10000\n"
                           "timeout = 5s\n"
                           "[metrics]\n"
                           "interval = 2m\n"
                           "as_of = 2024-02-29\n"
                           "period_mode = report\n"
                           "[targets]\n"
                           "online_dossier_ratio = 0.3\n"
                           "online_procedure_ratio = 1\n"
                           "postal_procedure_ratio = .5\n"
                           "on_time_baseline = 0\n"
                           "[source.vn-post_1]\n"
                           "adapter = vnpost\n"
                           "base_url = https://vnpost.example.vn/api\n"
                           "api_key_file = %s\n"
                           "shipment_path = /v2/shipments\n"
                           "procedure_path =\n" /* igate's: accepted, as always */
                           "interval = 1h\n"
                           "page_size = 1000\n"
                           "timeout = 45\n"
                           "max_retries = 0\n"
                           "backoff_max = 2m\n",
                           key);
    struct config *cfg = load_ok(text);
    const struct source_cfg *s;

    assert_string_equal(cfg->log_level, "debug");
    assert_string_equal(cfg->db_password_file, pw); /* relative to the config file */
    assert_string_equal(cfg->db_password, "pw");
    assert_string_equal(cfg->http_listen, "[::1]:9000");
    assert_int_equal(cfg->http_max_connections, 10000);
    assert_int_equal(cfg->http_timeout_s, 5);
    assert_int_equal(cfg->metrics_interval_s, 120);
    assert_string_equal(cfg->as_of, "2024-02-29");
    assert_int_equal(cfg->period_mode, PERIOD_REPORT);
    assert_float_equal(cfg->target_online_dossier, 0.3, 1e-12);
    assert_float_equal(cfg->target_online_procedure, 1.0, 1e-12);
    assert_float_equal(cfg->target_postal_procedure, 0.5, 1e-12);
    assert_float_equal(cfg->on_time_baseline, 0.0, 1e-12);
    s = cfg_find_source(cfg, "vn-post_1");
    assert_non_null(s);
    const struct vnpost_cfg *vn = s->opts;
    assert_string_equal(vn->api_key, "k3y");
    assert_string_equal(vn->shipment_path, "/v2/shipments");
    assert_ptr_equal(s->keys, &adapter_vnpost_ops.keys); /* procedure_path: kept nowhere */
    assert_int_equal(s->interval_s, 3600);
    assert_int_equal(s->page_size, 1000);
    assert_int_equal(s->timeout_s, 45);
    assert_int_equal(s->max_retries, 0);
    assert_int_equal(s->backoff_max_s, 120);
    cfg_free(cfg);
    free(text);
    free(pw);
    free(key);
}

/* [http] TLS and basic auth: files resolved like the secret files, a cert/key pair that
 * belongs together (both or neither), a users file of bcrypt hashes with FILE:LINE errors. */
static void test_http_tls_auth(void **state)
{
    char *crt = xasprintf("%s/srv.pem", dir), *key = xasprintf("%s/srv.key", dir);
    char *crt2 = xasprintf("%s/other.pem", dir), *key2 = xasprintf("%s/other.key", dir);
    /* htpasswd -nbBC 10 prom secret */
    char *users =
        put("users", "prom:$2y$10$8iW8q.eB6GJqw1moqbDQ.OgmManKjlEzuXjVT5ARSRSnpQbr.LRSK\n");
    char *md5 = put("md5users", "# old file\nprom:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n");
    char *text;

    assert_int_equal(testcert_make(crt, key, "srv.test"), 0);
    assert_int_equal(testcert_make(crt2, key2, "other.test"), 0);

    struct config *cfg = load_ok("[http]\ntls_cert_file = srv.pem\ntls_key_file = srv.key\n"
                                 "basic_auth_users_file = users\nheader_timeout = 2s\n");
    assert_string_equal(cfg->http_tls_cert_file, crt); /* relative to the config file */
    assert_string_equal(cfg->http_tls_key_file, key);
    assert_string_equal(cfg->http_basic_auth_users_file, users);
    assert_int_equal(cfg->http_header_timeout_s, 2);
    cfg_free(cfg);

    expect_error_at("[http]\n\ntls_cert_file = srv.pem\n", 3,
                    "tls_cert_file: needs tls_key_file as well");
    expect_error_at("[http]\ntls_key_file = srv.key\n", 2,
                    "tls_key_file: needs tls_cert_file as well");
    expect_error_at("[http]\ntls_cert_file = srv.pem\ntls_key_file = other.key\n", 3,
                    "does not belong to the certificate");
    expect_error_at("[http]\ntls_cert_file = users\ntls_key_file = srv.key\n", 2,
                    "not a PEM certificate chain");
    expect_error_at("[http]\ntls_cert_file = srv.pem\ntls_key_file = users\n", 3,
                    "not an unencrypted PEM private key");
    expect_error_at("[http]\ntls_cert_file = nope.pem\n", 2, "nope.pem: No such file");
    text = xasprintf("%s:2: user \"prom\": an MD5 ($apr1$) hash", md5);
    expect_error_at("[http]\nbasic_auth_users_file = md5users\n", 2, text);
    free(text);
    expect_error_at("[http]\nbasic_auth_users_file = nobody\n", 2, "basic_auth_users_file: ");
    expect_error_at("[http]\nheader_timeout = 0s\n", 2, "header_timeout: expected a duration");

    unlink(crt);
    unlink(key);
    unlink(crt2);
    unlink(key2);
    unlink(users);
    unlink(md5);
    free(crt);
    free(key);
    free(crt2);
    free(key2);
    free(users);
    free(md5);
}

static void test_syntax(void **state)
{
    struct config *cfg;

    cfg = load_ok("\xEF\xBB\xBF# a BOM, then CRLF line ends\r\n"
                  "  [ http ]  ; section comment\r\n"
                  "\tlisten\t=\t*:9787\t\r\n"
                  "max_connections=7 # inline comment\r\n"
                  "[source.a]\n"
                  "adapter = \"igate\" ; quoted\n"
                  "base_url = https://h.example/x#frag-is-not-a-comment\n"
                  "client_id = \"my id ; not a comment\"\n"
                  "token_url = https://h.example/token;v=1\n"
                  "client_secret_file = fixture.secret\n"
                  "interval = 60s ; comment\n"
                  "dossier_path = \"/p\"\n"
                  "; comment\n"
                  "   # indented comment\n"
                  "\n");
    assert_string_equal(cfg->http_listen, "*:9787");
    assert_int_equal(cfg->http_max_connections, 7);
    assert_string_equal(cfg->sources[0].adapter, "igate");
    assert_string_equal(cfg->sources[0].base_url, "https://h.example/x#frag-is-not-a-comment");
    const struct igate_cfg *ig = cfg->sources[0].opts;
    assert_string_equal(ig->client_id, "my id ; not a comment");
    assert_string_equal(ig->token_url, "https://h.example/token;v=1");
    assert_int_equal(cfg->sources[0].interval_s, 60);
    assert_string_equal(ig->dossier_path, "/p");
    cfg_free(cfg);

    /* several sources, in file order */
    cfg = load_ok("[source.b]\nadapter=igate\nbase_url=http://b\n" IGATE_KEYS
                  "[source.a]\nadapter=vnpost\nbase_url=http://a\n" VNPOST_KEYS
                  "[source.c]\nadapter=igate\nbase_url=http://c\n" IGATE_KEYS);
    assert_int_equal(cfg->nsources, 3);
    assert_string_equal(cfg->sources[0].name, "b");
    assert_string_equal(cfg->sources[1].name, "a");
    assert_string_equal(cfg->sources[2].name, "c");
    assert_int_equal(cfg->sources[2].line, 11);
    assert_string_equal(cfg_find_source(cfg, "a")->adapter, "vnpost");
    cfg_free(cfg);
}

static void test_errors_with_lines(void **state)
{
    /* unknown section */
    expect_error_at("[http]\nlisten = *:1\n[htp]\n", 3, "unknown section [htp]");
    /* unknown key, naming the section */
    expect_error_at("[http]\n\nport = 80\n", 3, "unknown key \"port\" in section [http]");
    expect_error_at("[source.x]\nadapter = igate\nbase_url = http://x\nbogus = 1\n", 4,
                    "unknown key \"bogus\" in section [source.x]");
    /* a source key in a global section */
    expect_error_at("[metrics]\npage_size = 10\n", 2,
                    "unknown key \"page_size\" in section [metrics]");
    /* duplicate key */
    expect_error_at("[metrics]\ninterval = 60s\n; c\ninterval = 90s\n", 4,
                    "duplicate key \"interval\" in section [metrics] (first on line 2)");
    /* the same key in two sources is fine, twice in one is not */
    expect_error_at("[source.a]\nadapter=igate\nbase_url=http://a\n" IGATE_KEYS
                    "[source.b]\nadapter=igate\nbase_url=http://b\nadapter=vnpost\n",
                    10, "duplicate key \"adapter\" in section [source.b]");
    /* duplicate section */
    expect_error_at("[http]\n[metrics]\n[http]\n", 3, "duplicate section [http] (first on line 1)");
    expect_error_at("[source.a]\nadapter=igate\nbase_url=http://a\n" IGATE_KEYS "[source.a]\n", 7,
                    "duplicate section [source.a] (first on line 1)");
    /* key outside a section */
    expect_error_at("# header comment\nlisten = *:1\n[http]\n", 2,
                    "key \"listen\" outside any section");
    /* malformed lines */
    expect_error_at("[http]\nlisten\n", 2, "malformed line");
    expect_error_at("[http]\nlisten = *:1\n\n[metrics\n", 4, "malformed section header");
    expect_error_at("[http] x\n", 1, "malformed section header");
    expect_error_at("[http]\nmax connections = 5\n", 2, "malformed line");
    expect_error_at("[http]\n= 5\n", 2, "malformed line");
    expect_error_at("[http]\nlisten = \"*:1\n", 2, "unterminated quoted value");
    expect_error_at("[http]\nlisten = \"*:1\" x\n", 2, "after the closing quote");
    /* bad source names */
    expect_error_at("[source.a b]\n", 1, "bad source name");
    expect_error_at("[source.]\n", 1, "bad source name");
    expect_error_at("[source]\n", 1, "bad source name");
    expect_error_at("[source.1234567890123456789012345678901234567890123456789012345678901234]\n",
                    1, "bad source name");
    /* missing required keys, at the section header line */
    expect_error_at("[http]\n\n[source.x]\nbase_url = http://x\n[metrics]\n", 3,
                    "[source.x]: missing required key \"adapter\"");
    expect_error_at("[http]\n[source.x]\nadapter = igate\n", 2,
                    "[source.x]: missing required key \"base_url\"");
    /* a raw '@' in a URL's password: refused, naming the line, the password not echoed */
    expect_error_at("[source.x]\nadapter = vnpost\nbase_url = https://u:pre@secret@h/\n", 3,
                    "base_url: the user:password part of a URL holds a raw '@'");
    expect_error_at("[alert]\nwebhook_url = http://ok/ https://u:p@w@hook/x\n", 2,
                    "webhook_url: the user:password part of a URL holds a raw '@'");
}

/* The keys an adapter's init() requires are checked by cfg_load, so --check-config, the
 * start and a reload agree; the error names the [source.NAME] header line. */
static void test_adapter_keys(void **state)
{
    /* igate: each of its keys missing in turn, the section in the middle of the file */
    static const char *const igate_keys[] = {
        "token_url = http://t/token\n",
        "client_id = c\n",
        "client_secret_file = fixture.secret\n",
    };
    static const char *const igate_names[] = {"token_url", "client_id", "client_secret_file"};
    char text[1024], what[128];

    for (size_t skip = 0; skip < ARRAY_LEN(igate_keys); skip++) {
        snprintf(text, sizeof(text),
                 "[http]\nlisten = *:1\n\n[source.ig]\nadapter = igate\n"
                 "base_url = http://x\n");
        for (size_t i = 0; i < ARRAY_LEN(igate_keys); i++) {
            if (i != skip)
                strncat(text, igate_keys[i], sizeof(text) - strlen(text) - 1);
        }
        strncat(text, "[metrics]\ninterval = 60s\n", sizeof(text) - strlen(text) - 1);
        snprintf(what, sizeof(what), "[source.ig]: %s is required for adapter igate",
                 igate_names[skip]);
        expect_error_at(text, 4, what);
    }

    /* vnpost without its key, as the last section of the file */
    expect_error_at("[source.a]\nadapter = igate\nbase_url = http://a\n" IGATE_KEYS
                    "\n[source.vn]\nadapter = vnpost\nbase_url = http://v\n",
                    8, "[source.vn]: api_key_file is required for adapter vnpost");
    /* the first bad source stops the load, before a later section is read */
    expect_error_at("[source.vn]\nadapter = vnpost\nbase_url = http://v\n[bogus]\n", 1,
                    "[source.vn]: api_key_file is required for adapter vnpost");

    /* what init() rejects beyond a missing key: a control character in the API key */
    free(put("ctl.key", "abc\001def\n"));
    expect_error_at("[source.vn]\nadapter = vnpost\nbase_url = http://v\napi_key_file = ctl.key\n",
                    1, "[source.vn]: the API key (api_key_file) contains control characters");

    /* a complete source of each adapter loads */
    struct config *cfg = load_ok("[source.i]\nadapter = igate\nbase_url = http://i\n" IGATE_KEYS
                                 "[source.v]\nadapter = vnpost\nbase_url = http://v\n" VNPOST_KEYS);
    assert_int_equal(cfg->nsources, 2);
    cfg_free(cfg);
}

/* An adapter's keys may come before adapter =, and the keys of other adapters are read and
 * checked as they always were, though only the section's adapter keeps its own. */
static void test_adapter_keys_anywhere(void **state)
{
    struct config *cfg = load_ok("[source.i]\nbase_url = http://i\n" IGATE_KEYS
                                 "dossier_path = /d\nadapter = igate\n");
    const struct igate_cfg *ig = cfg->sources[0].opts;
    assert_ptr_equal(cfg->sources[0].keys, &adapter_igate_ops.keys);
    assert_string_equal(ig->dossier_path, "/d");
    assert_string_equal(ig->client_secret, "fixture-secret");
    cfg_free(cfg);

    /* an error in an adapter's key is reported at its line, adapter = known or not */
    expect_error_at("[source.i]\nbase_url = http://i\ntoken_url = nope\nadapter = igate\n", 3,
                    "token_url: expected a URL");
    expect_error_at("[source.v]\nadapter = vnpost\nbase_url = http://v\n" VNPOST_KEYS
                    "dossier_path = bad\n",
                    5, "dossier_path: expected an absolute path like /pa/dossier/search");
    expect_error_at("[source.v]\nadapter = vnpost\nbase_url = http://v\n" VNPOST_KEYS
                    "dossier_path = /a\n\ndossier_path = /b\n",
                    7, "duplicate key \"dossier_path\" in section [source.v] (first on line 5)");
    expect_error_at("[source.i]\ntoken_url = nope\nadapter = bogus\n", 2,
                    "token_url: expected a URL");
    expect_error_at("[source.i]\nadapter = bogus\ntoken_url = nope\n", 2,
                    "adapter: unknown adapter \"bogus\" (known: igate, vnpost)");
    /* the section's own adapter is checked once the section is whole */
    expect_error_at("[source.i]\nbase_url = http://i\ntoken_url = http://t\nadapter = igate\n", 1,
                    "[source.i]: client_id is required for adapter igate");

    /* without hooks no adapter is known, and no adapter key either */
    struct config *none = NULL;
    char err[512];
    write_file(conf_path, "[http]\nlisten = *:1\n[source.v]\nadapter = vnpost\n");
    assert_int_equal(cfg_load(conf_path, NULL, &none, err, sizeof(err)), -1);
    assert_null(none);
    assert_non_null(strstr(err, ":4: adapter: unknown adapter \"vnpost\" (known: )"));
    write_file(conf_path, "[source.v]\napi_key_file = x\n");
    assert_int_equal(cfg_load(conf_path, NULL, &none, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":2: unknown key \"api_key_file\" in section [source.v]"));

    /* no adapter key hides a generic one */
    const struct cfg_section *gen = cfg_source_section();
    const struct cfgopt_table *keys;
    const char *name;
    for (size_t i = 0; (name = adp_keys(i, &keys)) != NULL; i++) {
        for (size_t j = 0; j < keys->nopts; j++) {
            if (cfgopt_find(gen->opts, gen->nopts, keys->opts[j].name) != NULL)
                fail_msg("%s's key %s is a generic source key", name, keys->opts[j].name);
        }
    }
}

/* The keys a reload cannot apply are named from the table's CFGOPT_RESTART flag. */
static void test_restart_keys(void **state)
{
    struct config *a = load_ok("[http]\nlisten = 127.0.0.1:1\ntimeout = 10s\n");
    struct config *b = load_ok("[http]\nlisten = 127.0.0.1:2\ntimeout = 11s\n"
                               "[metrics]\ninterval = 5m\n");
    char out[128];

    assert_int_equal(cfg_restart_keys(a, a, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(cfg_restart_keys(a, b, out, sizeof(out)), 2); /* not interval */
    assert_string_equal(out, "[http] listen, timeout");
    cfg_free(b);
    b = load_ok("[http]\nlisten = 127.0.0.1:1\nmax_connections = 63\n");
    assert_int_equal(cfg_restart_keys(a, b, out, sizeof(out)), 1);
    assert_string_equal(out, "[http] max_connections");
    cfg_free(b);
    cfg_free(a);
}

static void test_bad_values(void **state)
{
    static const struct {
        const char *line;
        const char *what;
    } global[] = {
        {"[metrics]\ninterval = 5x\n", "interval: expected a duration like 90s, 5m, 1h"},
        {"[metrics]\ninterval = 0s\n", "interval: expected a duration"},
        {"[metrics]\ninterval = -1s\n", "interval: expected a duration"},
        {"[metrics]\ninterval = 400d\n", "interval: expected a duration"},
        {"[metrics]\ninterval =\n", "interval: empty value"},
        {"[metrics]\nas_of = 2022-02-30\n", "as_of: expected a date YYYY-MM-DD"},
        {"[metrics]\nas_of = 31/12/2022\n", "as_of: expected a date YYYY-MM-DD"},
        {"[metrics]\nperiod_mode = weekly\n", "period_mode: expected calendar or report"},
        {"[daemon]\nlog_level = loud\n", "log_level: expected error, warning, notice, info"},
        {"[http]\nmax_connections = 0\n", "max_connections: expected an integer from 1 to 10000"},
        {"[http]\nmax_connections = 10001\n", "expected an integer from 1 to 10000"},
        {"[http]\nmax_connections = 12abc\n", "expected an integer from 1 to 10000"},
        {"[http]\nlisten = 9787\n", "listen: expected IPV4:PORT, [IPV6]:PORT or *:PORT"},
        {"[http]\nlisten = 127.0.0.1\n", "listen: expected"},
        {"[http]\nlisten = 127.0.0.1:0\n", "listen: expected"},
        {"[http]\nlisten = 127.0.0.1:65536\n", "listen: expected"},
        {"[http]\nlisten = 256.0.0.1:80\n", "listen: expected"},
        {"[http]\nlisten = ::1:80\n", "listen: expected"},
        {"[http]\nlisten = [::1]80\n", "listen: expected"},
        {"[http]\nlisten = [nope]:80\n", "listen: expected"},
        {"[http]\nlisten = localhost:80\n", "listen: expected"},
        {"[http]\ntimeout = 10 s\n", "timeout: expected a duration"},
        {"[targets]\nonline_dossier_ratio = 1.5\n",
         "online_dossier_ratio: expected a number from 0 to 1"},
        {"[targets]\non_time_baseline = -0.1\n", "expected a number from 0 to 1"},
        {"[targets]\non_time_baseline = nan\n", "expected a number from 0 to 1"},
        {"[targets]\non_time_baseline = 1e-1\n", "expected a number from 0 to 1"},
        {"[targets]\non_time_baseline = 25%\n", "expected a number from 0 to 1"},
        {"[database]\nconninfo = host=x bogus=1\n", "conninfo: not a valid libpq connection"},
    };
    static const struct {
        const char *line;
        const char *what;
    } source[] = {
        {"page_size = 1001", "page_size: expected an integer from 1 to 1000, got \"1001\""},
        {"page_size = 0", "page_size: expected an integer from 1 to 1000"},
        {"max_retries = 21", "max_retries: expected an integer from 0 to 20"},
        {"interval = 5x", "interval: expected a duration like 90s, 5m, 1h"},
        {"backoff_max = 1y", "backoff_max: expected a duration"},
        {"timeout = ", "timeout: empty value"},
        {"adapter = ftp", "adapter: unknown adapter \"ftp\" (known: "},
        {"base_url = ftp://x", "base_url: expected a URL like https://"},
        {"base_url = https://", "base_url: expected a URL"},
        {"base_url = apiigate.example.gov.vn", "base_url: expected a URL"},
        {"token_url = https://a b", "token_url: expected a URL"},
        {"dossier_path = pa/dossier", "dossier_path: expected an absolute path"},
        {"dossier_path = /pa?x=1", "dossier_path: expected an absolute path"},
        {"dossier_path =", "dossier_path: empty value"},
        {"client_id =", "client_id: empty value"},
    };
    char text[512];

    for (size_t i = 0; i < ARRAY_LEN(global); i++)
        expect_error_at(global[i].line, 2, global[i].what);
    /* each source key on line 4, after the required ones; adapter replaces the first */
    for (size_t i = 0; i < ARRAY_LEN(source); i++) {
        if (strncmp(source[i].line, "adapter", 7) == 0 ||
            strncmp(source[i].line, "base_url", 8) == 0) {
            const char *other =
                source[i].line[0] == 'a' ? "base_url = http://x" : "adapter = igate";
            snprintf(text, sizeof(text), "[source.s]\n%s\n\n%s\n", other, source[i].line);
        } else {
            snprintf(text, sizeof(text), "[source.s]\nadapter = igate\nbase_url = http://x\n%s\n",
                     source[i].line);
        }
        expect_error_at(text, 4, source[i].what);
    }
}

static void test_cannot_open(void **state)
{
    struct config *cfg = (struct config *)0x1;
    char err[512], want[512];
    char *path = xasprintf("%s/missing.conf", dir);

    assert_int_equal(cfg_load(path, &hooks, &cfg, err, sizeof(err)), -1);
    assert_null(cfg);
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
    assert_string_equal(err, want);
    free(path);
}

static void test_conninfo_password_rejected(void **state)
{
    static const char *const bad[] = {
        "[database]\nconninfo = host=db password=hunter2 dbname=onestop\n",
        "[database]\nconninfo = host=db password = 'hunter2'\n",
        "[database]\nconninfo = postgresql://onestop:hunter2@db/onestop\n",
        "[database]\nconninfo = postgresql://db/onestop?password=hunter2\n",
        "[database]\nconninfo = host=db sslpassword=hunter2\n",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct config *cfg = NULL;
        char err[1024];
        assert_int_equal(load(bad[i], &cfg, err, sizeof(err)), -1);
        assert_non_null(strstr(err, ":2: conninfo: must not contain a "));
        assert_non_null(strstr(err, "password_file"));
        assert_null(strstr(err, "hunter2")); /* never echoed */
    }
    /* the word in a value is not the keyword */
    struct config *cfg = load_ok("[database]\nconninfo = host=db user=password dbname=x\n");
    cfg_free(cfg);
    cfg = load_ok("[database]\nconninfo =\n"); /* libpq defaults and PG* variables */
    assert_string_equal(cfg->db_conninfo, "");
    cfg_free(cfg);
}

static void test_secret_files(void **state)
{
    char *credsdir = xasprintf("%s/creds", dir);
    char *sub = xasprintf("%s/sub", dir);
    char *in_creds, *in_confdir, *in_sub, *text;
    struct config *cfg;
    char err[1024];

    assert_int_equal(mkdir(credsdir, 0700), 0);
    assert_int_equal(mkdir(sub, 0700), 0);
    in_creds = xasprintf("%s/creds/igate", dir);
    write_file(in_creds, "from-credentials\n");
    in_confdir = put("igate", "from-config-dir\n");
    in_sub = xasprintf("%s/sub/key", dir);
    write_file(in_sub, "from-sub\n");

    const char *text_fmt = "[source.i]\nadapter = igate\nbase_url = http://i\n"
                           "token_url = http://i/token\nclient_id = c\n"
                           "client_secret_file = igate\n"
                           "[source.v]\nadapter = vnpost\nbase_url = http://v\n"
                           "api_key_file = sub/key\n";

    /* $CREDENTIALS_DIRECTORY wins for a bare name; a relative path stays with the config */
    setenv("CREDENTIALS_DIRECTORY", credsdir, 1);
    cfg = load_ok(text_fmt);
    const struct igate_cfg *ig = cfg->sources[0].opts;
    const struct vnpost_cfg *vn = cfg->sources[1].opts;
    assert_string_equal(ig->client_secret, "from-credentials");
    assert_string_equal(ig->client_secret_file, in_creds);
    assert_string_equal(vn->api_key, "from-sub");
    assert_string_equal(vn->api_key_file, in_sub);
    cfg_free(cfg);

    /* without it, next to the config file */
    unsetenv("CREDENTIALS_DIRECTORY");
    cfg = load_ok(text_fmt);
    ig = cfg->sources[0].opts;
    assert_string_equal(ig->client_secret, "from-config-dir");
    assert_string_equal(ig->client_secret_file, in_confdir);
    cfg_free(cfg);

    /* a credential that systemd did not pass: the key and the path are named */
    setenv("CREDENTIALS_DIRECTORY", credsdir, 1);
    expect_error_at("[database]\npassword_file = dbpass\n", 2,
                    "password_file: cannot read secret: ");
    cfg = NULL;
    assert_int_equal(load("[database]\npassword_file = dbpass\n", &cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/creds/dbpass"));
    assert_non_null(strstr(err, "No such file or directory"));
    unsetenv("CREDENTIALS_DIRECTORY");

    /* an empty secret, and one that is too big: the content never shows */
    char *empty = put("empty.secret", "\n");
    text =
        xasprintf("[source.v]\nadapter = vnpost\nbase_url = http://v\napi_key_file = %s\n", empty);
    expect_error_at(text, 4, "api_key_file: cannot read secret: ");
    free(text);
    char *big = malloc(70000);
    memset(big, 'Q', 69999);
    big[69999] = '\0';
    char *bigpath = put("big.secret", big);
    text = xasprintf("[source.v]\nadapter = vnpost\n\n\nbase_url = http://v\n"
                     "api_key_file = big.secret\n");
    cfg = NULL;
    assert_int_equal(load(text, &cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":6: api_key_file: cannot read secret: "));
    assert_non_null(strstr(err, bigpath));
    assert_null(strstr(err, "QQQ"));
    free(text);
    free(big);
    free(bigpath);
    free(empty);

    free(in_creds);
    free(in_confdir);
    free(in_sub);
    free(credsdir);
    free(sub);
}

/* Where needle first is in hay; fails when it is not. */
static long pos(const char *hay, const char *needle)
{
    const char *at = strstr(hay, needle);

    if (at == NULL)
        fail_msg("\"%s\" not found", needle);
    return (long)(strlen(hay) - strlen(at)); /* no pointer arithmetic: GCC's
                                              * -Wdangling-pointer misreads open_memstream */
}

static char *print_to_string(const struct config *cfg, int reference)
{
    char *data = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&data, &len);

    assert_non_null(f);
    if (reference)
        cfg_print_reference(&hooks, f);
    else
        cfg_print(cfg, f);
    fclose(f);
    return data;
}

static void test_print(void **state)
{
    char *secret = put("igate.secret", "s3cr3t-value\n");
    char *text = xasprintf(issue_example, secret);
    struct config *cfg = load_ok(text), *again;
    const struct igate_cfg *ig;
    char *out, *out2;

    out = print_to_string(cfg, 0);
    assert_null(strstr(out, "s3cr3t"));
    assert_non_null(strstr(out, "[source.igate]\n"));
    assert_non_null(strstr(out, "client_secret_file = "));
    assert_non_null(strstr(out, "secret (set)"));
    assert_null(strstr(out, "api_key_file")); /* a source lists its own adapter's keys */
    assert_non_null(strstr(out, "; password_file = (unset)\n"));
    assert_non_null(strstr(out, "; as_of = (unset)\n"));
    assert_non_null(strstr(out, "; on_time_baseline = (unset)\n"));
    assert_non_null(strstr(out, "interval = 5m\n"));
    assert_non_null(strstr(out, "interval = 1m\n"));
    assert_non_null(strstr(out, "postal_procedure_ratio = 0.6\n"));
    assert_non_null(strstr(out, "period_mode = calendar\n"));
    assert_non_null(strstr(out, "page_size = 500\n"));
    assert_non_null(
        strstr(out, "conninfo = host=127.0.0.1 port=5432 dbname=onestop user=onestop\n"));

    /* a source's adapter keys come after base_url, before the generic keys that follow */
    assert_true(pos(out, "[source.igate]\n") < pos(out, "\nbase_url = "));
    assert_true(pos(out, "\nbase_url = ") < pos(out, "\ntoken_url = "));
    assert_true(pos(out, "\ntoken_url = ") < pos(out, "\nprocedure_path = "));
    assert_true(pos(out, "\nprocedure_path = ") < pos(out, "\ninterval = 5m\n"));

    /* the printed configuration is itself a valid configuration with the same meaning */
    again = load_ok(out);
    out2 = print_to_string(again, 0);
    assert_string_equal(strchr(out, '\n'), strchr(out2, '\n')); /* all but the header */
    assert_string_equal(((const struct igate_cfg *)again->sources[0].opts)->client_secret,
                        "s3cr3t-value");
    cfg_free(again);
    free(out2);
    free(out);
    cfg_free(cfg);

    /* quoting keeps odd values intact through a round trip */
    cfg = load_ok("[source.q]\nadapter = igate\nbase_url = http://q\nclient_id = \" a ; b \"\n"
                  "token_url = http://q/token\nclient_secret_file = fixture.secret\n"
                  "procedure_path = \"\"\n");
    out = print_to_string(cfg, 0);
    assert_non_null(strstr(out, "client_id = \" a ; b \"\n"));
    assert_non_null(strstr(out, "procedure_path = \"\"\n"));
    again = load_ok(out);
    ig = again->sources[0].opts;
    assert_string_equal(ig->client_id, " a ; b ");
    assert_string_equal(ig->procedure_path, "");
    cfg_free(again);
    free(out);
    cfg_free(cfg);
    free(text);
    free(secret);
}

/* URLs in --print-config: webhook and Alertmanager URLs keep only scheme://host[:port],
 * base_url and token_url lose their userinfo and query; nothing else changes. */
static void test_print_masks_urls(void **state)
{
    struct config *cfg, *again;
    char *out;

    cfg = load_ok("[alert]\n"
                  "webhook_url = https://hooks.slack.com/services/T000/B000/XXXXsecret1 "
                  "http://u:pass2@127.0.0.1:9095/hook?token=secret3 https://h.example/\n"
                  "alertmanager_url = https://am:secret4@am.example:9093 "
                  "http://[::1]:9093/prefix/secret5\n"
                  "external_url = https://ext:secret6@onestop.example/x\n"
                  "[source.i]\n"
                  "adapter = igate\n"
                  "base_url = https://user:secret7@apiigate.example/api\n"
                  "token_url = https://lgsp.example/token?client_assertion=secret8\n"
                  "client_id = c\n"
                  "client_secret_file = fixture.secret\n"
                  "[source.j]\n"
                  "adapter = igate\n"
                  "base_url = https://plain.example/api\n"
                  "token_url = https://plain.example/token\n"
                  "client_id = c\n"
                  "client_secret_file = fixture.secret\n");
    out = print_to_string(cfg, 0);
    for (int i = 1; i <= 8; i++) {
        char needle[16];
        snprintf(needle, sizeof(needle), "secret%d", i);
        if (strstr(out, needle) != NULL)
            fail_msg("%s printed in:\n%s", needle, out);
    }
    assert_null(strstr(out, "pass2"));
    assert_null(strstr(out, "XXXX"));
    assert_non_null(strstr(out, "webhook_url = https://hooks.slack.com/... "
                                "http://***@127.0.0.1:9095/... https://h.example/"
                                " ; masked: userinfo and path hidden\n"));
    assert_non_null(strstr(out, "alertmanager_url = https://***@am.example:9093 "
                                "http://[::1]:9093/... ; masked: userinfo and path hidden\n"));
    assert_non_null(
        strstr(out, "external_url = https://***@onestop.example/x ; masked: userinfo hidden\n"));
    assert_non_null(
        strstr(out, "base_url = https://***@apiigate.example/api ; masked: userinfo hidden\n"));
    assert_non_null(
        strstr(out, "token_url = https://lgsp.example/token?... ; masked: query hidden\n"));
    /* nothing to hide: printed as is, and the same after a reload */
    assert_non_null(strstr(out, "base_url = https://plain.example/api\n"));
    assert_non_null(strstr(out, "token_url = https://plain.example/token\n"));
    again = load_ok(out);
    assert_string_equal(again->sources[1].base_url, "https://plain.example/api");
    assert_string_equal(((const struct igate_cfg *)again->sources[1].opts)->token_url,
                        "https://plain.example/token");
    cfg_free(again);
    free(out);
    cfg_free(cfg);

    /* a webhook without a path has nothing to hide */
    cfg = load_ok("[alert]\nwebhook_url = http://127.0.0.1:9095\n");
    out = print_to_string(cfg, 0);
    assert_non_null(strstr(out, "webhook_url = http://127.0.0.1:9095\n"));
    assert_non_null(strstr(out, "; alertmanager_url = (unset)\n"));
    free(out);
    cfg_free(cfg);
}

static void test_print_reference(void **state)
{
    static const char *const keys[] = {
        "log_level",
        "conninfo",
        "password_file",
        "listen",
        "max_connections",
        "timeout",
        "interval",
        "as_of",
        "period_mode",
        "online_dossier_ratio",
        "online_procedure_ratio",
        "postal_procedure_ratio",
        "on_time_baseline",
        "adapter",
        "base_url",
        "token_url",
        "client_id",
        "client_secret_file",
        "api_key_file",
        "dossier_path",
        "procedure_path",
        "shipment_path",
        "page_size",
        "max_retries",
        "backoff_max",
    };
    char *out = print_to_string(NULL, 1);
    char needle[64];

    assert_memory_equal(out, "| Section | Key | Default | Description |\n|---|---|---|---|\n", 57);
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        snprintf(needle, sizeof(needle), "| `%s` |", keys[i]);
        if (strstr(out, needle) == NULL)
            fail_msg("%s missing from the reference", keys[i]);
    }
    assert_non_null(strstr(out, "| `[source.NAME]` | `adapter` | *required* |"));
    assert_non_null(strstr(out, "| `[source.NAME]` | `page_size` | `500` |"));
    assert_non_null(strstr(out, "Range 1 to 1000."));
    assert_non_null(strstr(out, "| `[http]` | `listen` | `127.0.0.1:9787` |"));
    assert_non_null(strstr(out, "| `[metrics]` | `as_of` | *unset* |"));
    /* every row has the four cells */
    for (char *line = out; *line; line = strchr(line, '\n') + 1) {
        int bars = 0;
        for (char *p = line; *p && *p != '\n'; p++)
            bars += *p == '|' && (p == line || p[-1] != '\\');
        assert_int_equal(bars, 5);
    }
    free(out);
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/test_config.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(conf_path, sizeof(conf_path), "%s/onestopd.conf", dir);
    unsetenv("CREDENTIALS_DIRECTORY");
    free(put("fixture.secret", "fixture-secret\n"));
    return 0;
}

static int teardown(void **state)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);
    int rc = system(cmd);
    free(cmd);
    return rc == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_example),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_all_keys),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_errors_with_lines),
        cmocka_unit_test(test_adapter_keys),
        cmocka_unit_test(test_adapter_keys_anywhere),
        cmocka_unit_test(test_restart_keys),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_cannot_open),
        cmocka_unit_test(test_conninfo_password_rejected),
        cmocka_unit_test(test_secret_files),
        cmocka_unit_test(test_print),
        cmocka_unit_test(test_print_masks_urls),
        cmocka_unit_test(test_print_reference),
        cmocka_unit_test(test_http_tls_auth),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
