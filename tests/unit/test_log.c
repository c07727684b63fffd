/* SPDX-License-Identifier: Apache-2.0 */
/* log: line format, levels, one line per message, complain/release, threads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* stderr is redirected into a temporary file while a test logs. */
static int saved_fd = -1;
static FILE *capture;

static void capture_start(void)
{
    capture = tmpfile();
    assert_non_null(capture);
    saved_fd = dup(STDERR_FILENO);
    assert_true(saved_fd >= 0);
    assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
}

/* Stops capturing; returns what was written (caller frees). */
static char *capture_end(void)
{
    struct buf b;
    char chunk[4096];
    size_t n;

    dup2(saved_fd, STDERR_FILENO);
    close(saved_fd);
    rewind(capture);
    buf_init(&b);
    while ((n = fread(chunk, 1, sizeof(chunk), capture)) > 0)
        buf_append(&b, chunk, n);
    fclose(capture);
    return buf_steal(&b, NULL);
}

static void test_format_and_levels(void **state)
{
    char *out;

    log_set_level(LOG_LVL_INFO);
    capture_start();
    log_warn("fetch", "HTTP %d from %s", 503, "/pa/dossier/search");
    log_info("store", "stored %d", 7);
    log_debug("store", "hidden at info");
    log_err("main", "two\nlines\r\nin one");
    log_msg(LOG_LVL_NOTICE, NULL, "no module");
    out = capture_end();
    assert_string_equal(out, "<4>fetch: HTTP 503 from /pa/dossier/search\n"
                             "<6>store: stored 7\n"
                             "<3>main: two lines  in one\n"
                             "<5>onestopd: no module\n");
    free(out);

    log_set_level(LOG_LVL_WARN);
    assert_int_equal(log_get_level(), LOG_LVL_WARN);
    capture_start();
    log_info("x", "dropped");
    log_notice("x", "dropped");
    log_warn("x", "kept");
    out = capture_end();
    assert_string_equal(out, "<4>x: kept\n");
    free(out);

    log_set_level(LOG_LVL_DEBUG);
    capture_start();
    log_debug("x", "shown");
    out = capture_end();
    assert_string_equal(out, "<7>x: shown\n");
    free(out);
    log_set_level(LOG_LVL_INFO);
}

static void test_long_line_truncated(void **state)
{
    char *big = malloc(10000), *out;

    memset(big, 'a', 9999);
    big[9999] = '\0';
    capture_start();
    log_warn("m", "%s", big);
    out = capture_end();
    assert_true(strlen(out) <= 4096);
    assert_memory_equal(out, "<4>m: aaa", 9);
    assert_string_equal(out + strlen(out) - 4, "...\n");
    assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1); /* one line */
    free(out);
    free(big);
}

static void test_parse_level(void **state)
{
    static const char *const names[] = {"error", "warning", "notice", "info", "debug"};
    enum log_level lvl;

    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        assert_int_equal(log_parse_level(names[i], &lvl), 0);
        assert_string_equal(log_level_name(lvl), names[i]);
    }
    assert_int_equal(log_parse_level("warn", &lvl), -1);
    assert_int_equal(log_parse_level("INFO", &lvl), -1);
    assert_int_equal(log_parse_level("", &lvl), -1);
    assert_int_equal(log_parse_level(NULL, &lvl), -1);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_complain_release(void **state)
{
    struct log_complaint c = {0};
    char *out;

    capture_start();
    log_release(&c, "db", "nothing to release"); /* not active: silent */
    log_complain(&c, LOG_LVL_ERR, "db", "connection failed (%d)", 1);
    log_complain(&c, LOG_LVL_ERR, "db", "connection failed (%d)", 2); /* suppressed */
    log_complain(&c, LOG_LVL_ERR, "db", "connection failed (%d)", 3); /* suppressed */
    out = capture_end();
    assert_string_equal(out, "<3>db: connection failed (1)\n");
    free(out);
    assert_true(c.active);
    assert_int_equal(c.interval, 60);

    /* once the interval has passed it speaks again, and the interval doubles */
    c.last -= 61;
    capture_start();
    log_complain(&c, LOG_LVL_ERR, "db", "connection failed (%d)", 4);
    log_complain(&c, LOG_LVL_ERR, "db", "connection failed (%d)", 5);
    out = capture_end();
    assert_string_equal(out, "<3>db: connection failed (4)\n");
    free(out);
    assert_int_equal(c.interval, 120);

    /* capped at one hour */
    for (int i = 0; i < 10; i++) {
        c.last -= 7200;
        capture_start();
        log_complain(&c, LOG_LVL_ERR, "db", "again");
        free(capture_end());
    }
    assert_int_equal(c.interval, 3600);

    capture_start();
    log_release(&c, "db", "connection restored");
    log_release(&c, "db", "connection restored");
    out = capture_end();
    assert_string_equal(out, "<5>db: connection restored\n");
    free(out);
    assert_false(c.active);

    /* a new failure is reported at once, with a fresh interval */
    capture_start();
    log_complain(&c, LOG_LVL_WARN, "db", "failed again");
    out = capture_end();
    assert_string_equal(out, "<4>db: failed again\n");
    free(out);
    assert_int_equal(c.interval, 60);
}

#define NTHREADS 4
#define NLINES 2000

static void *logger(void *arg)
{
    int id = (int)(intptr_t)arg;
    char pad[200];

    memset(pad, 'a' + id, sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    for (int i = 0; i < NLINES; i++)
        log_warn("t", "%d %d %s", id, i, pad);
    return NULL;
}

static void test_threads_do_not_interleave(void **state)
{
    pthread_t th[NTHREADS];
    int seen[NTHREADS] = {0};
    char *out, *line, *save = NULL;

    capture_start();
    for (int i = 0; i < NTHREADS; i++)
        pthread_create(&th[i], NULL, logger, (void *)(intptr_t)i);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    out = capture_end();
    assert_int_equal(count_lines(out), NTHREADS * NLINES);
    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int id, n, len;
        assert_int_equal(sscanf(line, "<4>t: %d %d %n", &id, &n, &len), 2);
        assert_true(id >= 0 && id < NTHREADS);
        assert_int_equal(n, seen[id]); /* in order, none lost */
        seen[id]++;
        assert_int_equal(strlen(line + len), 199);
        for (const char *p = line + len; *p; p++)
            assert_int_equal(*p, 'a' + id);
    }
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_and_levels),
        cmocka_unit_test(test_long_line_truncated),
        cmocka_unit_test(test_parse_level),
        cmocka_unit_test(test_complain_release),
        cmocka_unit_test(test_threads_do_not_interleave),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
