/* libFuzzer target: every feed's parse() must survive any JSON, never crash or leak,
 * and account for every item as either a record or a reject. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "adapter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct adapter_ops *const ops[] = {&adapter_igate_ops, &adapter_vnpost_ops};
    static const struct feed_desc feeds[] = {
        {"dossier", FEED_DOSSIER, FEED_KEYSET},
        {"procedure", FEED_PROCEDURE, FEED_WHOLE},
        {"shipment", FEED_SHIPMENT, FEED_KEYSET},
    };
    json_error_t jerr;
    char err[256];
    json_t *root = json_loadb((const char *)data, size, 0, &jerr);
    if (!root)
        return 0;
    for (size_t f = 0; f < sizeof feeds / sizeof feeds[0]; f++) {
        const struct adapter_ops *o = ops[feeds[f].kind == FEED_SHIPMENT];
        struct record_batch b;
        int more = 0;
        rec_batch_init(&b, feeds[f].kind);
        if (o->parse(&feeds[f], root, &b, &more, err, sizeof err) == 0 &&
            b.nrecs + b.nrejs != b.nitems)
            abort();
        rec_batch_clear(&b);
    }
    json_decref(root);
    return 0;
}
