/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the basic-auth users file parser survives any bytes, and a file it
 * accepts has at least one user whose hash it hands back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "htpasswd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct htp_users *u = NULL;
    int known = 0;

    if (htp_parse((const char *)data, size, "fuzz", &u, err, sizeof err) != 0) {
        if (u || strncmp(err, "fuzz", 4) != 0)
            abort(); /* a refusal names the origin and leaves nothing */
        return 0;
    }
    if (htp_count(u) == 0)
        abort();
    /* Never bcrypt here (tens of ms): only the lookup, for a user that cannot exist. */
    if (!htp_hash(u, "\x01no such user", &known) || known)
        abort();
    htp_free(u);
    return 0;
}
