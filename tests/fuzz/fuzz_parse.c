/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: every feed's parse() must survive any body, never crash or leak, and
 * account for every item as either a record or a reject. A body that does not decode
 * whole goes through the page splitter first, as fetch_json_page does. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "adapter.h"
#include "jsplit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const content[] = {"content"};
static const char *const items[] = {"Data", "Items"};
static const struct jsplit_spec dossier_items = {content, 1, "MaHoSo", "NgayCapNhat"};
static const struct jsplit_spec procedure_items = {content, 1, NULL, NULL};
static const struct jsplit_spec shipment_items = {items, 2, "ItemCode", "NgayCapNhat"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct adapter_ops *const ops[] = {&adapter_igate_ops, &adapter_vnpost_ops};
    static const struct feed_desc feeds[] = {
        {"dossier", FEED_DOSSIER, FEED_KEYSET, &dossier_items},
        {"procedure", FEED_PROCEDURE, FEED_WHOLE, &procedure_items},
        {"shipment", FEED_SHIPMENT, FEED_KEYSET, &shipment_items},
    };
    json_error_t jerr;
    char err[256];
    json_t *whole = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &jerr);

    for (size_t f = 0; f < sizeof feeds / sizeof feeds[0]; f++) {
        const struct adapter_ops *o = ops[feeds[f].kind == FEED_SHIPMENT];
        struct jsplit_page split = {0};
        json_t *root = json_incref(whole);
        struct record_batch b;
        int more = 0;

        if (!root) {
            if (jsplit_page((const char *)data, size, feeds[f].items, &split, err, sizeof err))
                continue;
            root = json_incref(split.envelope);
        }
        rec_batch_init(&b, feeds[f].kind);
        if (o->parse(&feeds[f], root, &b, &more, err, sizeof err) == 0) {
            for (size_t i = 0; i < split.nitems; i++) {
                const struct jsplit_item *it = &split.items[i];
                if (it->value)
                    continue;
                if (rec_batch_reject_undecodable(&b, it->raw, it->len, it->key, it->time,
                                                 it->err) != 0)
                    abort();
                b.nitems++;
            }
            if (b.nrecs + b.nrejs != b.nitems)
                abort();
        }
        rec_batch_clear(&b);
        json_decref(root);
        jsplit_page_free(&split);
    }
    json_decref(whole);
    return 0;
}
