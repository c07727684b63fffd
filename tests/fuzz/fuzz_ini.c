/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the INI reader survives any bytes, gives every item a line number,
 * and stops at the first error or at the end. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct ini_item it;
    struct ini *r = ini_open_mem((const char *)data, size, err, sizeof err);
    int rc, last = 0;

    if (!r)
        return 0;
    while ((rc = ini_next(r, &it, err, sizeof err)) == 1) {
        if (it.line <= last)
            abort(); /* lines only move forward */
        last = it.line;
        if (it.kind == INI_SECTION ? !it.name : !it.key || !it.value)
            abort();
        if (it.kind == INI_KEY && (strlen(it.key) == 0))
            abort();
    }
    if (rc < 0 && err[0] == '\0')
        abort(); /* an error always says why */
    ini_close(r);
    return 0;
}
