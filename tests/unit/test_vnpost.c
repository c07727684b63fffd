/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of adapters/vnpost.c: the envelope from fixture files, page URLs, the API-key
 * header, feeds and init errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "cfgopt.h"
#include "record.h"
#include "vnpost.h"

static json_t *fixture(const char *name)
{
    char path[512];
    json_error_t e;

    snprintf(path, sizeof(path), "%s/vnpost/%s", FIXTURES_DIR, name);
    json_t *j = json_load_file(path, 0, &e);
    if (!j)
        fail_msg("%s: %s", path, e.text);
    return j;
}

/* A [source.NAME] section and its vnpost keys, as the config loader fills them. */
struct test_source {
    struct source_cfg s;
    struct vnpost_cfg vn;
};

static struct test_source base_cfg(void)
{
    struct test_source c;
    memset(&c, 0, sizeof(c));
    c.s.name = "post";
    c.s.adapter = "vnpost";
    c.s.base_url = "https://bcci.example.vnpost.vn";
    c.vn.api_key = "k3y-0123456789";
    c.vn.shipment_path = "/bcci/shipments";
    c.s.page_size = 500;
    c.s.timeout_s = 5;
    return c;
}

/* The section of c, its keys pointing at c's vnpost struct (c may have been copied). */
static const struct source_cfg *src(struct test_source *c)
{
    c->s.keys = &adapter_vnpost_ops.keys;
    c->s.opts = &c->vn;
    return &c->s;
}

static const struct cfgopt *vnpost_key(const char *key)
{
    return cfgopt_find(adapter_vnpost_ops.keys.opts, adapter_vnpost_ops.keys.nopts, key);
}

static int setup(void **state)
{
    static struct test_source cfg;
    char err[256];

    cfg = base_cfg();
    struct adapter *ad = adp_new(src(&cfg), err, sizeof(err));
    if (!ad)
        fail_msg("%s", err);
    *state = ad;
    return 0;
}

static int teardown(void **state)
{
    adp_free(*state);
    return 0;
}

static const struct feed_desc *shipment_feed(struct adapter *ad)
{
    const struct feed_desc *fds[2];
    assert_int_equal(ad->ops->feeds(ad, fds, 2), 1);
    return fds[0];
}

static const struct reject *find_reject(const struct record_batch *b, const char *key)
{
    for (size_t i = 0; i < b->nrejs; i++) {
        if (b->rejs[i].key && strcmp(b->rejs[i].key, key) == 0)
            return &b->rejs[i];
    }
    return NULL;
}

static const struct record *find_record(const struct record_batch *b, const char *key)
{
    for (size_t i = 0; i < b->nrecs; i++) {
        if (strcmp(b->recs[i].key, key) == 0)
            return &b->recs[i];
    }
    return NULL;
}

static void test_shipments_page(void **state)
{
    struct adapter *ad = *state;
    const struct feed_desc *fd = shipment_feed(ad);
    struct record_batch b;
    char err[256];
    int more = -1;

    rec_batch_init(&b, FEED_SHIPMENT);
    json_t *root = fixture("shipments_page.json");
    assert_int_equal(ad->ops->parse(fd, root, &b, &more, err, sizeof(err)), 0);
    json_decref(root);
    assert_int_equal(more, 0);
    assert_int_equal(b.nitems, 7);
    assert_int_equal(b.nrecs, 4);
    assert_int_equal(b.nrejs, 3);
    assert_int_equal(b.server_last, 0);

    const struct record *r = find_record(&b, "EB123456789VN");
    assert_non_null(r);
    assert_string_equal(r->col[SC_ORDER_NUMBER], "000.00.12.H12-220103-0007");
    assert_string_equal(r->col[SC_DIRECTION], "2");
    assert_string_equal(r->col[SC_STATUS_CODE], "14");
    assert_string_equal(r->col[SC_DELIVERED_AT], "2022-01-15 10:10:00");
    assert_string_equal(r->col[SC_FEE], "25000");
    assert_string_equal(r->col[SC_COD_AMOUNT], "0");

    r = find_record(&b, "EB123456790VN"); /* numbers instead of strings */
    assert_non_null(r);
    assert_string_equal(r->col[SC_DIRECTION], "1");
    assert_string_equal(r->col[SC_STATUS_CODE], "6");
    assert_string_equal(r->col[SC_FEE], "18000");
    assert_null(r->col[SC_COD_AMOUNT]);
    assert_null(r->col[SC_DELIVERED_AT]);

    r = find_record(&b, "EB123456791VN"); /* no StatusCode, a Fee that is not a number */
    assert_non_null(r);
    assert_null(r->col[SC_STATUS_CODE]);
    assert_null(r->col[SC_FEE]);

    r = find_record(&b, "EB123456795VN"); /* an unknown status code is kept */
    assert_non_null(r);
    assert_string_equal(r->col[SC_STATUS_CODE], "99");

    const struct reject *j = find_reject(&b, "EB123456792VN");
    assert_non_null(j);
    assert_int_equal(j->reason, REASON_BAD_CODE);
    assert_string_equal(j->detail, "Direction: \"3\" is outside 1..2");
    j = find_reject(&b, "EB123456793VN");
    assert_non_null(j);
    assert_int_equal(j->reason, REASON_BAD_DATE);
    assert_string_equal(j->updated, "2022-01-18 09:00:00");
    int nokey = 0;
    for (size_t i = 0; i < b.nrejs; i++) {
        if (!b.rejs[i].key) {
            nokey++;
            assert_int_equal(b.rejs[i].reason, REASON_MISSING_KEY);
            assert_string_equal(b.rejs[i].detail, "ItemCode is missing");
        }
    }
    assert_int_equal(nokey, 1);

    assert_string_equal(b.cursor_time, "20220119080000");
    assert_string_equal(b.cursor_key, "EB123456795VN");

    /* a numeric Status 100 is fine too; the last page says so */
    root = fixture("shipments_last_page.json");
    assert_int_equal(ad->ops->parse(fd, root, &b, &more, err, sizeof(err)), 0);
    json_decref(root);
    assert_int_equal(b.nitems, 8);
    assert_int_equal(b.server_last, 1);
    assert_string_equal(b.cursor_key, "EB123456795VN"); /* an older item does not move it back */
    rec_batch_clear(&b);
}

static void test_bad_envelopes(void **state)
{
    struct adapter *ad = *state;
    const struct feed_desc *fd = shipment_feed(ad);
    struct record_batch b;
    char err[256];

    rec_batch_init(&b, FEED_SHIPMENT);

    json_t *root = fixture("shipments_status101.json");
    err[0] = '\0';
    assert_int_equal(ad->ops->parse(fd, root, &b, NULL, err, sizeof(err)), -1);
    json_decref(root);
    assert_string_equal(err, "shipment page: Status \"101\": \"Sai mã xác thực (access_token "
                             "không hợp lệ)\"");

    root = fixture("shipments_no_status.json");
    assert_int_equal(ad->ops->parse(fd, root, &b, NULL, err, sizeof(err)), -1);
    json_decref(root);
    assert_string_equal(err, "shipment page: Status (absent): \"Lỗi hệ thống\"");

    root = fixture("shipments_no_items.json");
    assert_int_equal(ad->ops->parse(fd, root, &b, NULL, err, sizeof(err)), -1);
    json_decref(root);
    assert_string_equal(err, "shipment page: no \"Data.Items\" array");

    root = json_loads("{\"Status\":101}", 0, NULL);
    assert_int_equal(ad->ops->parse(fd, root, &b, NULL, err, sizeof(err)), -1);
    json_decref(root);
    assert_string_equal(err, "shipment page: Status 101: (no message)");

    root = json_loads("{\"Status\":\"100 \",\"Data\":{\"Items\":[]}}", 0, NULL);
    assert_int_equal(ad->ops->parse(fd, root, &b, NULL, err, sizeof(err)), -1);
    json_decref(root);

    root = json_loads("[]", 0, NULL);
    assert_int_equal(ad->ops->parse(fd, root, &b, NULL, err, sizeof(err)), -1);
    json_decref(root);
    assert_non_null(strstr(err, "not a JSON object"));

    /* a long message is cut on a character boundary */
    char msg[400] = "";
    for (int i = 0; i < 100; i++)
        strcat(msg, "ệ"); /* 3 bytes each */
    root = json_pack("{s:s,s:s}", "Status", "500", "Message", msg);
    assert_int_equal(ad->ops->parse(fd, root, &b, NULL, err, sizeof(err)), -1);
    json_decref(root);
    assert_true(strlen(err) < 220);
    json_t *check = json_string(err); /* NULL when err is not valid UTF-8 */
    assert_non_null(check);
    json_decref(check);

    assert_int_equal(b.nitems, 0);
    assert_int_equal(b.nrecs + b.nrejs, 0);
    rec_batch_clear(&b);
}

static void test_page_urls(void **state)
{
    struct adapter *ad = *state;
    const struct feed_desc *fd = shipment_feed(ad);
    struct feed_cursor cur;
    char *u;

    memset(&cur, 0, sizeof(cur));
    u = ad->ops->page_url(ad, fd, &cur, 0);
    assert_string_equal(u, "https://bcci.example.vnpost.vn/bcci/shipments?page=1&pageSize=500");
    free(u);
    u = ad->ops->page_url(ad, fd, NULL, 5);
    assert_string_equal(u, "https://bcci.example.vnpost.vn/bcci/shipments?page=1&pageSize=500");
    free(u);

    memcpy(cur.time, "20220103000000", 15);
    cur.key = "EB123456789VN";
    u = ad->ops->page_url(ad, fd, &cur, 3);
    assert_string_equal(u, "https://bcci.example.vnpost.vn/bcci/shipments?from=20220103000000"
                           "&after=EB123456789VN&page=1&pageSize=500");
    free(u);

    cur.key = "EB 1&2";
    u = ad->ops->page_url(ad, fd, &cur, 0);
    assert_non_null(strstr(u, "&after=EB%201%262&page=1"));
    free(u);

    cur.key = NULL;
    u = ad->ops->page_url(ad, fd, &cur, 0);
    assert_string_equal(u, "https://bcci.example.vnpost.vn/bcci/shipments?from=20220103000000"
                           "&page=1&pageSize=500");
    free(u);

    /* config paths, defaults and a trailing slash */
    struct test_source cfg = base_cfg();
    char err[256];
    cfg.s.base_url = "http://127.0.0.1:8081/";
    cfg.vn.shipment_path = (char *)vnpost_key("shipment_path")->def;
    cfg.s.page_size = 1000;
    struct adapter *ad2 = adp_new(src(&cfg), err, sizeof(err));
    assert_non_null(ad2);
    u = ad2->ops->page_url(ad2, shipment_feed(ad2), NULL, 0);
    assert_string_equal(u, "http://127.0.0.1:8081/bcci/shipments?page=1&pageSize=1000");
    free(u);
    adp_free(ad2);
}

static void test_authorize(void **state)
{
    struct adapter *ad = *state;
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
    char err[256];

    /* no network: the key goes in a header as it is */
    assert_int_equal(ad->ops->authorize(ad, NULL, &hdrs, 0, err, sizeof(err)), 0);
    assert_string_equal(hdrs->data, "Accept: application/json");
    assert_non_null(hdrs->next);
    assert_string_equal(hdrs->next->data, "access_token: k3y-0123456789");
    assert_null(hdrs->next->next);
    curl_slist_free_all(hdrs);

    /* force changes nothing for a static key */
    hdrs = NULL;
    assert_int_equal(ad->ops->authorize(ad, NULL, &hdrs, 1, err, sizeof(err)), 0);
    assert_string_equal(hdrs->data, "access_token: k3y-0123456789");
    curl_slist_free_all(hdrs);
}

static void test_feeds_and_init(void **state)
{
    struct adapter *ad = *state;
    const struct feed_desc *fds[2];
    char err[256];

    assert_int_equal(ad->ops->feeds(ad, fds, 2), 1);
    assert_string_equal(fds[0]->name, "shipment");
    assert_int_equal(fds[0]->kind, FEED_SHIPMENT);
    assert_int_equal(fds[0]->mode, FEED_KEYSET);
    assert_int_equal(ad->ops->feeds(ad, fds, 0), 0);
    assert_ptr_equal(ad->ops, adp_find("vnpost"));

    struct test_source cfg = base_cfg();
    cfg.vn.api_key = NULL;
    assert_null(adp_new(src(&cfg), err, sizeof(err)));
    assert_string_equal(err, "source.post: api_key_file is required for adapter vnpost");
    cfg.vn.api_key = "";
    assert_null(adp_new(src(&cfg), err, sizeof(err)));
    assert_string_equal(err, "source.post: api_key_file is required for adapter vnpost");
    assert_int_equal(adp_check(src(&cfg), err, sizeof(err)), -1);
    assert_string_equal(err, "source.post: api_key_file is required for adapter vnpost");

    cfg = base_cfg();
    cfg.s.base_url = NULL;
    assert_null(adp_new(src(&cfg), err, sizeof(err)));
    assert_string_equal(err, "source.post: base_url is required for adapter vnpost");

    /* a key with a line break inside cannot go into a header */
    cfg = base_cfg();
    cfg.vn.api_key = "k3y\r\nX-Injected: 1";
    assert_null(adp_new(src(&cfg), err, sizeof(err)));
    assert_string_equal(err, "source.post: the API key (api_key_file) contains control characters");
    assert_null(strstr(err, "k3y"));

    /* vnpost does not need the igate options: its sections do not even hold them */
    assert_null(vnpost_key("token_url"));
    assert_null(vnpost_key("client_id"));
    cfg = base_cfg();
    assert_int_equal(adp_check(src(&cfg), err, sizeof(err)), 0);
    struct adapter *ad2 = adp_new(src(&cfg), err, sizeof(err));
    assert_non_null(ad2);
    adp_free(ad2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shipments_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_envelopes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_urls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_authorize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feeds_and_init, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
