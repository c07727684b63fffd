/* SPDX-License-Identifier: Apache-2.0 */
/* gz: the two-part gzip member decodes (zlib's own gunzip) to prefix + tail, and the
 * Accept-Encoding reading. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gz.h"
#include "snapshot.h"
#include "util.h"

/* gunzip with zlib (16 + 15 window bits: a gzip wrapper is required). New buffer. */
static char *gunzip(const unsigned char *in, size_t len, size_t *out_len)
{
    z_stream z;
    struct buf b;
    char out[4096];
    int rc;

    memset(&z, 0, sizeof z);
    buf_init(&b);
    assert_int_equal(inflateInit2(&z, 16 + 15), Z_OK);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)len;
    do {
        z.next_out = (unsigned char *)out;
        z.avail_out = sizeof out;
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END)
            fail_msg("inflate: %d %s", rc, z.msg ? z.msg : "");
        buf_append(&b, out, sizeof out - z.avail_out);
    } while (rc != Z_STREAM_END);
    /* one member, nothing after it */
    assert_int_equal(z.avail_in, 0);
    inflateEnd(&z);
    return buf_steal(&b, out_len);
}

static void roundtrip(const char *page, size_t page_len, const char *tail, size_t tail_len)
{
    unsigned char *pre;
    size_t pre_len, got_len;
    struct gz_prefix_info info;
    struct buf b;

    assert_int_equal(gz_prefix(page, page_len, &pre, &pre_len, &info), 0);
    assert_int_equal(info.in_len, page_len);
    assert_int_equal(pre[0], 0x1f);
    assert_int_equal(pre[1], 0x8b);
    buf_init(&b);
    buf_append(&b, (const char *)pre, pre_len);
    assert_int_equal(gz_finish(&b, &info, tail, tail_len), 0);
    char *got = gunzip((const unsigned char *)b.data, b.len, &got_len);
    assert_int_equal(got_len, page_len + tail_len);
    assert_memory_equal(got, page, page_len);
    if (tail_len)
        assert_memory_equal(got + page_len, tail, tail_len);
    free(got);
    buf_free(&b);
    free(pre);
}

static void test_roundtrip(void **state)
{
    static const char page[] = "# HELP onestop_leader x\n# TYPE onestop_leader gauge\n"
                               "onestop_leader 1\n";
    static const char tail[] = "process_open_fds 12\n";

    roundtrip(page, strlen(page), tail, strlen(tail));
    roundtrip(page, strlen(page), "", 0);
    roundtrip("", 0, tail, strlen(tail));
    roundtrip("", 0, "", 0);

    /* a page much larger than the 16 KiB output chunks, and not compressible */
    size_t n = 3 * 1024 * 1024;
    char *big = malloc(n);
    assert_non_null(big);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (char)(x >> 16);
    }
    roundtrip(big, n, tail, strlen(tail));
    /* and a compressible one, whose repeats the tail must not refer back into */
    for (size_t i = 0; i < n; i++)
        big[i] = "onestop_dossiers_received{agency=\"A\"} 1\n"[i % 40];
    roundtrip(big, n, big, 4096);
    free(big);
}

static void test_accepted(void **state)
{
    static const char *const yes[] = {"gzip",
                                      "GZIP",
                                      "deflate, gzip",
                                      "gzip;q=1.0, identity; q=0.5, *;q=0",
                                      "br;q=1.0, gzip;q=0.8, *;q=0.1",
                                      "x-gzip",
                                      "*",
                                      "gzip; q=0.001",
                                      " gzip ",
                                      "identity, *;q=0.5"};
    static const char *const no[] = {
        "",      "identity", "deflate, br", "gzip;q=0", "gzip; q=0.000", "gzip;q=0, *",
        "*;q=0", "gzipx",    "xgzip",       "gzip2, gz"};
    for (size_t i = 0; i < ARRAY_LEN(yes); i++)
        if (!gz_accepted(yes[i]))
            fail_msg("refused \"%s\"", yes[i]);
    for (size_t i = 0; i < ARRAY_LEN(no); i++)
        if (gz_accepted(no[i]))
            fail_msg("accepted \"%s\"", no[i]);
    assert_false(gz_accepted(NULL));
}

/* The snapshot gzips on publish, and its copy decodes to the page once finished. */
static void test_snapshot_gz(void **state)
{
    struct snapshot *s = snapshot_new();
    struct gz_prefix_info info;
    char *gz;
    size_t len, got_len;
    struct buf b;

    assert_int_equal(snapshot_get_metrics_gz(s, &gz, &len, &info), 0);
    assert_null(gz);
    snapshot_set_metrics(s, xstrdup("onestop_leader 1\n"), 17);
    assert_int_equal(snapshot_get_metrics_gz(s, &gz, &len, &info), 1);
    assert_int_equal(info.in_len, 17);
    buf_init(&b);
    buf_append(&b, gz, len);
    free(gz);
    assert_int_equal(gz_finish(&b, &info, "x 1\n", 4), 0);
    char *got = gunzip((const unsigned char *)b.data, b.len, &got_len);
    assert_string_equal(got, "onestop_leader 1\nx 1\n");
    free(got);
    buf_free(&b);
    snapshot_free(s);
    assert_int_equal(snapshot_get_metrics_gz(NULL, &gz, &len, &info), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_snapshot_gz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
