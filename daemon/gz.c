/* SPDX-License-Identifier: Apache-2.0 */
/* gz: a gzip member built in two parts (see gz.h). */
#include "gz.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* RFC 1952 header: magic, CM=deflate, no flags, no mtime (0), XFL=0, OS=3 (Unix). A fixed
 * header keeps the bytes identical for identical pages. */
static const unsigned char GZ_HEADER[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};

/* Runs deflate over in with flush until it has consumed everything (and, for Z_FINISH,
 * ended the stream), appending the output to b. 0 or -1. */
static int deflate_into(z_stream *z, const void *in, size_t len, int flush, struct buf *b)
{
    unsigned char out[16384];
    const unsigned char *p = in;
    int rc;

    do {
        /* avail_in is a uInt: feed huge inputs in slices. */
        size_t slice = len > UINT_MAX ? UINT_MAX : len;
        int last = slice == len;
        z->next_in = (unsigned char *)p;
        z->avail_in = (uInt)slice;
        do {
            z->next_out = out;
            z->avail_out = sizeof out;
            rc = deflate(z, last ? flush : Z_NO_FLUSH);
            if (rc == Z_STREAM_ERROR)
                return -1;
            buf_append(b, (const char *)out, sizeof out - z->avail_out);
            if (b->oom)
                return -1;
        } while (z->avail_out == 0 || (last && flush == Z_FINISH && rc != Z_STREAM_END));
        p += slice;
        len -= slice;
    } while (len > 0);
    return 0;
}

int gz_prefix(const void *in, size_t len, unsigned char **out, size_t *out_len,
              struct gz_prefix_info *info)
{
    z_stream z;
    struct buf b;
    int rc = -1;

    *out = NULL;
    *out_len = 0;
    memset(&z, 0, sizeof z);
    buf_init(&b);
    /* Raw deflate (negative window bits): the header and trailer are written here. */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    buf_append(&b, (const char *)GZ_HEADER, sizeof GZ_HEADER);
    /* A sync flush ends on a byte boundary with an empty stored block that is not final:
     * another deflate stream can follow it directly. */
    if (b.oom || deflate_into(&z, in, len, Z_SYNC_FLUSH, &b) != 0)
        goto cleanup;
    info->crc = (uint32_t)crc32(0L, Z_NULL, 0);
    for (size_t done = 0; done < len;) {
        size_t slice = len - done > UINT_MAX ? UINT_MAX : len - done;
        info->crc = (uint32_t)crc32(info->crc, (const unsigned char *)in + done, (uInt)slice);
        done += slice;
    }
    info->in_len = len;
    *out = (unsigned char *)buf_steal(&b, out_len);
    rc = *out ? 0 : -1;
cleanup:
    deflateEnd(&z);
    buf_free(&b);
    return rc;
}

int gz_finish(struct buf *b, const struct gz_prefix_info *info, const void *tail, size_t tail_len)
{
    z_stream z;
    unsigned char trailer[8];
    uint32_t crc, size;
    int rc;

    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        b->oom = 1;
        return -1;
    }
    /* A fresh stream refers to nothing before it, so it may follow the prefix as is. */
    rc = deflate_into(&z, tail, tail_len, Z_FINISH, b);
    deflateEnd(&z);
    if (rc != 0) {
        b->oom = 1;
        return -1;
    }
    crc = (uint32_t)crc32(0L, Z_NULL, 0);
    crc = (uint32_t)crc32(crc, tail, (uInt)tail_len);
    crc = (uint32_t)crc32_combine(info->crc, crc, (z_off_t)tail_len);
    size = (uint32_t)(info->in_len + tail_len); /* ISIZE is the length modulo 2^32 */
    for (int i = 0; i < 4; i++) {
        trailer[i] = (unsigned char)(crc >> (8 * i));
        trailer[4 + i] = (unsigned char)(size >> (8 * i));
    }
    buf_append(b, (const char *)trailer, sizeof trailer);
    return b->oom ? -1 : 0;
}

/* Whether the parameters after a coding (";q=0.5", "; q=0") leave it acceptable. */
static int q_nonzero(const char *p, const char *end)
{
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ';'))
            p++;
        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            p += 2;
            /* q=0, q=0., q=0.0, q=0.000: zero; anything else (q=0.001, q=1) is not. */
            if (p < end && *p == '0') {
                p++;
                if (p < end && *p == '.')
                    for (p++; p < end && *p == '0'; p++)
                        ;
                while (p < end && (*p == ' ' || *p == '\t'))
                    p++;
                if (p == end || *p == ';')
                    return 0;
            }
            return 1;
        }
        while (p < end && *p != ';')
            p++;
    }
    return 1;
}

int gz_accepted(const char *h)
{
    int star = 0, gzip = -1; /* -1: not named */

    if (!h)
        return 0;
    while (*h) {
        const char *end = h + strcspn(h, ","), *tok = h, *tend;
        while (tok < end && (*tok == ' ' || *tok == '\t'))
            tok++;
        tend = tok;
        while (tend < end && *tend != ';' && *tend != ' ' && *tend != '\t')
            tend++;
        size_t n = (size_t)(tend - tok);
        if ((n == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
            (n == 6 && strncasecmp(tok, "x-gzip", 6) == 0))
            gzip = q_nonzero(tend, end);
        else if (n == 1 && *tok == '*')
            star = q_nonzero(tend, end);
        h = *end ? end + 1 : end;
    }
    /* An explicit gzip entry wins over the wildcard (RFC 9110 12.5.3). */
    return gzip >= 0 ? gzip : star;
}
