/* SPDX-License-Identifier: Apache-2.0 */
/* ini: the INI reader alone: items, syntax, comments, quoting and its errors with lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ini.h"
#include "util.h"

static char path[64];

/* Writes n bytes of text to the test file and opens it. */
static struct ini *open_text(const char *text, size_t n)
{
    char err[256] = "";
    FILE *f = fopen(path, "wb");
    struct ini *r;

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    fclose(f);
    r = ini_open(path, err, sizeof(err));
    if (r == NULL)
        fail_msg("ini_open: %s", err);
    return r;
}

static struct ini *open_str(const char *text)
{
    return open_text(text, strlen(text));
}

static void expect_section(struct ini *r, int line, const char *name)
{
    struct ini_item it;
    char err[256] = "";

    assert_int_equal(ini_next(r, &it, err, sizeof(err)), 1);
    assert_int_equal(it.kind, INI_SECTION);
    assert_int_equal(it.line, line);
    assert_string_equal(it.name, name);
}

static void expect_key(struct ini *r, int line, const char *key, const char *value)
{
    struct ini_item it;
    char err[256] = "";

    if (ini_next(r, &it, err, sizeof(err)) != 1)
        fail_msg("expected %s at line %d, got: %s", key, line, err);
    assert_int_equal(it.kind, INI_KEY);
    assert_int_equal(it.line, line);
    assert_string_equal(it.key, key);
    assert_string_equal(it.value, value);
}

static void expect_end(struct ini *r)
{
    struct ini_item it;
    char err[256] = "";

    assert_int_equal(ini_next(r, &it, err, sizeof(err)), 0);
    assert_int_equal(ini_next(r, &it, err, sizeof(err)), 0); /* and stays there */
}

/* The first item of text is an error at line, with message what. */
static void expect_error(const char *text, int line, const char *what)
{
    struct ini *r = open_str(text);
    struct ini_item it;
    char err[256] = "";
    int rc;

    while ((rc = ini_next(r, &it, err, sizeof(err))) == 1)
        ;
    if (rc != -1)
        fail_msg("no error in: %s", text);
    assert_int_equal(it.line, line);
    assert_string_equal(err, what);
    ini_close(r);
}

static void test_items(void **state)
{
    struct ini *r = open_str("\xEF\xBB\xBF# a BOM, then CRLF line ends\r\n"
                             "  [ http ]  ; section comment\r\n"
                             "\tlisten\t=\t*:9787\t\r\n"
                             "max_connections=7 # inline comment\r\n"
                             "\n"
                             "[source.a]\n"
                             "adapter = \"igate\" ; quoted\n"
                             "base_url = https://h.example/x#frag-is-not-a-comment\n"
                             "client_id = \"my id ; not a comment\"\n"
                             "token_url = https://h.example/token;v=1\n"
                             "empty =\n"
                             "quoted_empty = \"\"\n"
                             "blanks = \"  a  \"\n"
                             "; comment\n"
                             "   # indented comment\n"
                             "[]\n");

    expect_section(r, 2, "http");
    expect_key(r, 3, "listen", "*:9787");
    expect_key(r, 4, "max_connections", "7");
    expect_section(r, 6, "source.a");
    expect_key(r, 7, "adapter", "igate");
    expect_key(r, 8, "base_url", "https://h.example/x#frag-is-not-a-comment");
    expect_key(r, 9, "client_id", "my id ; not a comment");
    expect_key(r, 10, "token_url", "https://h.example/token;v=1");
    expect_key(r, 11, "empty", "");
    expect_key(r, 12, "quoted_empty", "");
    expect_key(r, 13, "blanks", "  a  ");
    expect_section(r, 16, ""); /* names are the caller's to judge */
    expect_end(r);
    ini_close(r);

    r = open_str("");
    expect_end(r);
    ini_close(r);
    r = open_str("[last]\nkey = no newline at the end");
    expect_section(r, 1, "last");
    expect_key(r, 2, "key", "no newline at the end");
    expect_end(r);
    ini_close(r);
    ini_close(NULL);
}

static void test_errors(void **state)
{
    expect_error("# header comment\nlisten = *:1\n[http]\n", 2,
                 "key \"listen\" outside any section");
    expect_error("[http]\nlisten\n", 2, "malformed line (expected key = value or [section])");
    expect_error("[http]\nlisten = *:1\n\n[metrics\n", 4,
                 "malformed section header (expected [name])");
    expect_error("[http] x\n", 1, "malformed section header (expected [name])");
    expect_error("[http]\nmax connections = 5\n", 2,
                 "malformed line (expected key = value, a key being a-z 0-9 and _)");
    expect_error("[http]\nListen = 5\n", 2,
                 "malformed line (expected key = value, a key being a-z 0-9 and _)");
    expect_error("[http]\n= 5\n", 2,
                 "malformed line (expected key = value, a key being a-z 0-9 and _)");
    expect_error("[http]\nlisten = \"*:1\n", 2, "listen: unterminated quoted value");
    expect_error("[http]\nlisten = \"*:1\" x\n", 2,
                 "listen: unexpected text after the closing quote");
    /* a syntax error wins over what follows, a key before a section over a bad key */
    expect_error("x = 1\n[bad\n", 1, "key \"x\" outside any section");

    static const char nul[] = "[http]\nlisten = a\0b\n";
    struct ini *r = open_text(nul, sizeof(nul) - 1);
    struct ini_item it;
    char err[256];
    expect_section(r, 1, "http");
    assert_int_equal(ini_next(r, &it, err, sizeof(err)), -1);
    assert_int_equal(it.line, 2);
    assert_string_equal(err, "malformed line (contains a NUL byte)");
    ini_close(r);

    char missing[96];
    snprintf(missing, sizeof(missing), "%s.missing", path);
    assert_null(ini_open(missing, err, sizeof(err)));
    assert_string_equal(err, "cannot open: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_items),
        cmocka_unit_test(test_errors),
    };
    int fd, rc;

    snprintf(path, sizeof(path), "/tmp/test_ini.XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        return 1;
    close(fd);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(path);
    return rc;
}
