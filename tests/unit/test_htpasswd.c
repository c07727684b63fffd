/* SPDX-License-Identifier: Apache-2.0 */
/* htp: the users file (bcrypt only, FILE:LINE errors), checks against real bcrypt hashes
 * made with libxcrypt, the dummy hash for unknown users, and the constant-time compare. */
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

#include "htpasswd.h"
#include "util.h"

/* What `htpasswd -nbBC 10 prom secret` wrote once (so $2y$, as Apache writes it). */
#define PROM_SECRET "$2y$10$8iW8q.eB6GJqw1moqbDQ.OgmManKjlEzuXjVT5ARSRSnpQbr.LRSK"

/* A bcrypt hash of password at cost 4 (fast), made here. */
static void make_hash(const char *password, char out[CRYPT_OUTPUT_SIZE])
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data cd;

    memset(&cd, 0, sizeof cd);
    assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof salt));
    assert_non_null(crypt_rn(password, salt, &cd, sizeof cd));
    snprintf(out, CRYPT_OUTPUT_SIZE, "%s", cd.output);
}

static struct htp_users *parse_ok(const char *text)
{
    struct htp_users *u = NULL;
    char err[512] = "";

    if (htp_parse(text, strlen(text), "users", &u, err, sizeof err) != 0)
        fail_msg("refused: %s", err);
    return u;
}

static void parse_bad(const char *text, const char *want)
{
    struct htp_users *u = (struct htp_users *)1;
    char err[512] = "";

    assert_int_equal(htp_parse(text, strlen(text), "/etc/users", &u, err, sizeof err), -1);
    assert_null(u);
    if (strcmp(err, want) != 0)
        fail_msg("for %s\n got: %s\nwant: %s", text, err, want);
    /* A message never quotes a hash. */
    assert_null(strstr(err, "$2"));
    assert_null(strstr(err, "apr1$x"));
}

static void test_parse(void **state)
{
    struct htp_users *u;
    int known;

    u = parse_ok("prom:" PROM_SECRET "\n");
    assert_int_equal(htp_count(u), 1);
    assert_string_equal(htp_hash(u, "prom", &known), PROM_SECRET);
    assert_int_equal(known, 1);
    htp_free(u);

    /* comments, blank lines, CRLF, no final newline, $2a$ and $2b$ */
    u = parse_ok("# scrapers\n\n  \r\nprom:" PROM_SECRET "\r\n"
                 "grafana user:$2a$04$abcdefghijklmnopqrstuu5BHOu3XbdBe1w5sxW0PO9dAC9IiTDeG\n"
                 "b:$2b$31$abcdefghijklmnopqrstuu5BHOu3XbdBe1w5sxW0PO9dAC9IiTDeG");
    assert_int_equal(htp_count(u), 3);
    assert_non_null(htp_hash(u, "grafana user", &known));
    assert_int_equal(known, 1);
    /* the dummy takes the highest cost of the file */
    const char *d = htp_hash(u, "nobody", &known);
    assert_int_equal(known, 0);
    assert_int_equal(strncmp(d, "$2y$31$", 7), 0);
    assert_int_equal(strlen(d), 60);
    htp_hash(u, NULL, &known);
    assert_int_equal(known, 0);
    htp_free(u);
    htp_free(NULL);
    assert_int_equal(htp_count(NULL), 0);
    assert_null(htp_hash(NULL, "x", &known));
}

static void test_parse_errors(void **state)
{
    parse_bad("", "/etc/users: no users (expected NAME:HASH lines)");
    parse_bad("# only a comment\n", "/etc/users: no users (expected NAME:HASH lines)");
    parse_bad("prom\n", "/etc/users:1: malformed line (expected NAME:HASH)");
    parse_bad("\n:" PROM_SECRET "\n", "/etc/users:2: user name empty or longer than 255 bytes");
    parse_bad("a\tb:" PROM_SECRET "\n", "/etc/users:1: user name holds a control character");
    parse_bad("prom:$apr1$xyz$abcdefgh\n",
              "/etc/users:1: user \"prom\": an MD5 ($apr1$) hash; only bcrypt is accepted "
              "(htpasswd -nBC 10 NAME)");
    parse_bad("x:" PROM_SECRET "\nprom:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",
              "/etc/users:2: user \"prom\": a SHA-1 ({SHA}) hash; only bcrypt is accepted "
              "(htpasswd -nBC 10 NAME)");
    parse_bad("prom:secret\n", "/etc/users:1: user \"prom\": not a bcrypt hash; only bcrypt is "
                               "accepted (htpasswd -nBC 10 NAME)");
    parse_bad("prom:$6$salt$hash\n", "/etc/users:1: user \"prom\": a SHA-crypt hash; only bcrypt "
                                     "is accepted (htpasswd -nBC 10 NAME)");
    /* bcrypt, but damaged: short, cost out of range, a bad character, trailing blank */
    static const char *const broken[] = {
        "$2y$10$8iW8q.eB6GJqw1moqbDQ.OgmManKjlEzuXjVT5ARSRSnpQbr.LRS",
        "$2y$03$8iW8q.eB6GJqw1moqbDQ.OgmManKjlEzuXjVT5ARSRSnpQbr.LRSK",
        "$2y$32$8iW8q.eB6GJqw1moqbDQ.OgmManKjlEzuXjVT5ARSRSnpQbr.LRSK",
        "$2x$10$8iW8q.eB6GJqw1moqbDQ.OgmManKjlEzuXjVT5ARSRSnpQbr.LRSK",
        "$2y$10$8iW8q.eB6GJqw1moqbDQ.OgmManKjlEzuXjVT5ARSRSnpQbr.LRS!",
        "$2y$10$8iW8q.eB6GJqw1moqbDQ.OgmManKjlEzuXjVT5ARSRSnpQbr.LRSK ",
        "$2y$1a$8iW8q.eB6GJqw1moqbDQ.OgmManKjlEzuXjVT5ARSRSnpQbr.LRSK",
    };
    for (size_t i = 0; i < ARRAY_LEN(broken); i++) {
        char line[128];
        snprintf(line, sizeof line, "prom:%s\n", broken[i]);
        parse_bad(line, "/etc/users:1: user \"prom\": a malformed bcrypt hash; only bcrypt is "
                        "accepted (htpasswd -nBC 10 NAME)");
    }
    parse_bad("prom:" PROM_SECRET "\n\nprom:" PROM_SECRET "\n",
              "/etc/users:3: user \"prom\" again (first on line 1)");

    /* a NUL byte inside the buffer */
    static const char nul[] = "prom:" PROM_SECRET "\nb\0b:x\n";
    struct htp_users *u;
    char err[256];
    assert_int_equal(htp_parse(nul, sizeof nul - 1, "f", &u, err, sizeof err), -1);
    assert_string_equal(err, "f:2: malformed line (contains a NUL byte)");

    /* a name of 256 bytes */
    char longname[400];
    memset(longname, 'n', 256);
    snprintf(longname + 256, sizeof longname - 256, ":%s\n", PROM_SECRET);
    parse_bad(longname, "/etc/users:1: user name empty or longer than 255 bytes");
    memset(longname, 'n', 255); /* 255 bytes, the limit: fine */
    snprintf(longname + 255, sizeof longname - 255, ":%s\n", PROM_SECRET);
    htp_free(parse_ok(longname));
}

static void test_check(void **state)
{
    char hash[CRYPT_OUTPUT_SIZE], text[512];
    struct htp_users *u;
    int known;

    assert_int_equal(htp_check(PROM_SECRET, "secret"), 1);
    assert_int_equal(htp_check(PROM_SECRET, "Secret"), 0);
    assert_int_equal(htp_check(PROM_SECRET, ""), 0);
    assert_int_equal(htp_check(NULL, "secret"), 0);
    assert_int_equal(htp_check(PROM_SECRET, NULL), 0);
    assert_int_equal(htp_check("not a hash", "secret"), 0);

    make_hash("pässwörd with spaces", hash);
    snprintf(text, sizeof text, "alice:%s\n", hash);
    u = parse_ok(text);
    assert_int_equal(htp_check(htp_hash(u, "alice", &known), "pässwörd with spaces"), 1);
    assert_int_equal(known, 1);
    /* an unknown user is checked against the dummy, which nothing matches */
    const char *d = htp_hash(u, "bob", &known);
    assert_int_equal(known, 0);
    assert_int_equal(strncmp(d, "$2y$04$", 7), 0);
    assert_int_equal(htp_check(d, "pässwörd with spaces"), 0);
    assert_int_equal(htp_check(d, ""), 0);
    /* names are exact: no prefix, no case folding */
    htp_hash(u, "alic", &known);
    assert_int_equal(known, 0);
    htp_hash(u, "Alice", &known);
    assert_int_equal(known, 0);
    htp_hash(u, "alice ", &known);
    assert_int_equal(known, 0);
    htp_free(u);
}

static void test_ct_equal(void **state)
{
    assert_true(htp_ct_equal("abc", 3, "abc", 3));
    assert_false(htp_ct_equal("abc", 3, "abd", 3));
    assert_false(htp_ct_equal("abc", 3, "abcd", 4));
    assert_false(htp_ct_equal("abcd", 4, "abc", 3));
    assert_true(htp_ct_equal("", 0, "", 0));
    assert_false(htp_ct_equal("\x80", 1, "\x00", 1));
}

static void test_load(void **state)
{
    char dir[] = "/tmp/onestop-htp-XXXXXX", path[128], err[512];
    struct htp_users *u;
    FILE *f;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/users", dir);
    assert_int_equal(htp_load(path, &u, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file"));

    f = fopen(path, "w");
    fputs("prom:" PROM_SECRET "\nbad line\n", f);
    fclose(f);
    assert_int_equal(htp_load(path, &u, err, sizeof err), -1);
    char want[256];
    snprintf(want, sizeof want, "%s:2: malformed line (expected NAME:HASH)", path);
    assert_string_equal(err, want);

    f = fopen(path, "w");
    fputs("prom:" PROM_SECRET "\n", f);
    fclose(f);
    assert_int_equal(htp_load(path, &u, err, sizeof err), 0);
    assert_int_equal(htp_count(u), 1);
    htp_free(u);

    /* unreadable (a directory) */
    assert_int_equal(htp_load(dir, &u, err, sizeof err), -1);
    assert_non_null(strstr(err, dir));
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse), cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_check), cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
