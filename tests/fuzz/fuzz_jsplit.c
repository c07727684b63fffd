/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the page splitter survives any bytes, never reads outside the body,
 * and accounts for every item as decoded or not. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "jsplit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const content[] = {"content"};
    static const char *const items[] = {"Data", "Items"};
    static const struct jsplit_spec specs[] = {
        {content, 1, "MaHoSo", "NgayCapNhat"},
        {items, 2, "ItemCode", "NgayCapNhat"},
    };
    char err[256];

    /* An exact-size copy, so ASan sees any read past the end. */
    char *body = malloc(size ? size : 1);
    if (!body)
        return 0;
    for (size_t i = 0; i < size; i++)
        body[i] = (char)data[i];
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        struct jsplit_page p;
        if (jsplit_page(body, size, &specs[s], &p, err, sizeof err) != 0)
            continue;
        size_t good = 0;
        for (size_t i = 0; i < p.nitems; i++) {
            if (p.items[i].off + p.items[i].len > size)
                abort();
            good += p.items[i].value != NULL;
            if (!p.items[i].value && !p.items[i].err[0])
                abort();
        }
        if (good != p.ngood || !p.envelope)
            abort();
        jsplit_page_free(&p);
    }
    free(body);
    return 0;
}
