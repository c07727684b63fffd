/* SPDX-License-Identifier: Apache-2.0 */
/* gz: gzip for the /metrics page. The page is compressed once per snapshot into a prefix
 * (a gzip header and a deflate stream ended by a sync flush, so not final); a scrape then
 * compresses only its small live tail (process_* and the HTTP self-metrics) and appends it
 * with the trailer. The result is one ordinary gzip member, joined the way pigz joins its
 * blocks. */
#ifndef ONESTOP_GZ_H
#define ONESTOP_GZ_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* What gz_finish needs to know of the data a prefix holds. */
struct gz_prefix_info {
    uint32_t crc;    /* CRC-32 of the uncompressed data */
    uint64_t in_len; /* its length */
};

/* Compresses in[0..len) into a new gzip prefix (*out, *out_len; caller frees). 0, or -1
 * when out of memory. */
int gz_prefix(const void *in, size_t len, unsigned char **out, size_t *out_len,
              struct gz_prefix_info *info);

/* Appends tail (compressed, final) and the gzip trailer to b, which already holds a copy of
 * a prefix with info. 0, or -1 when out of memory (b->oom is then set). */
int gz_finish(struct buf *b, const struct gz_prefix_info *info, const void *tail, size_t tail_len);

/* Whether an Accept-Encoding header value accepts gzip: "gzip" (or "x-gzip", or "*")
 * with no q=0. NULL (no header) does not. */
int gz_accepted(const char *accept_encoding);

#endif
