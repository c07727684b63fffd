/* SPDX-License-Identifier: Apache-2.0 */
/* jsplit: the items of a page whose body does not decode as a whole. */
#ifndef ONESTOP_JSPLIT_H
#define ONESTOP_JSPLIT_H

#include <jansson.h>
#include <stddef.h>

/* One item of the page's array, as raw bytes of the body. */
struct jsplit_item {
    size_t off, len; /* where the item's bytes are in the body */
    json_t *value;   /* the decoded item (owned), or NULL when it does not decode */
    char *raw;       /* when value is NULL: a copy of its len bytes (owned), as the body
                      * they came from is gone once the page is fetched */
    char err[200];   /* when value is NULL: "byte N: jansson's message" */
    /* Read straight from the raw bytes, so even an item that does not decode can be
     * quarantined under its key and move a keyset cursor; "" when not found. */
    char key[128];
    char time[32];
};

struct jsplit_page {
    json_t *envelope; /* the body with only the good items in its array (owned) */
    struct jsplit_item *items;
    size_t nitems, ngood;
};

/* Where the items are, and which members of an item the raw reader looks for. */
struct jsplit_spec {
    const char *const *path; /* member names from the root object down to the array */
    size_t depth;            /* 1 for {"content":[...]}, 2 for {"Data":{"Items":[...]}} */
    const char *key_name;    /* e.g. "MaHoSo"; NULL: none */
    const char *time_name;   /* e.g. "NgayCapNhat"; NULL: none */
};

/*
 * Splits body (which json_loadb refused) into its envelope and its items, decoding each
 * item on its own. An item holding an integer beyond 64 bits or a number beyond a double
 * is decoded with that number as a string of its digits, so the field's own check
 * rejects it with the field's usual reason. Returns 0 with out filled (free with
 * jsplit_page_free), or -1 with err when the body cannot be split: not an object, the
 * path missing or not an array, unbalanced or truncated, or the envelope outside the
 * array itself unreadable. Memory: the copies made are at most the body's size.
 */
int jsplit_page(const char *body, size_t len, const struct jsplit_spec *spec,
                struct jsplit_page *out, char *err, size_t errlen);
void jsplit_page_free(struct jsplit_page *p);

/* 1 when s (n bytes) is a JSON number that jansson cannot hold: an integer beyond
 * long long, or a real whose value overflows a double. */
int jsplit_number_overflows(const char *s, size_t n);

#endif
