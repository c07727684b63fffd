/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of adapters/igate.c and adapters/registry.c: envelopes from fixture files, page
 * URLs, feeds, init errors, and the OAuth2 token against a loopback token endpoint. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "adapter.h"
#include "cfgopt.h"
#include "igate.h"
#include "record.h"

static json_t *fixture(const char *name)
{
    char path[512];
    json_error_t e;

    snprintf(path, sizeof(path), "%s/igate/%s", FIXTURES_DIR, name);
    json_t *j = json_load_file(path, 0, &e);
    if (!j)
        fail_msg("%s: %s", path, e.text);
    return j;
}

/* A [source.NAME] section and its igate keys, as the config loader fills them. */
struct test_source {
    struct source_cfg s;
    struct igate_cfg ig;
};

static struct test_source base_cfg(void)
{
    struct test_source c;
    memset(&c, 0, sizeof(c));
    c.s.name = "igate";
    c.s.adapter = "igate";
    c.s.base_url = "https://igate.example.gov.vn";
    c.ig.token_url = "https://lgsp.example.gov.vn/token";
    c.ig.client_id = "onestopd";
    c.ig.client_secret = "s3cr3t";
    c.ig.dossier_path = "/pa/dossier/search";
    c.ig.procedure_path = "/pa/procedure/search";
    c.s.page_size = 500;
    c.s.timeout_s = 5;
    return c;
}

/* The section of c, its keys pointing at c's igate struct (c may have been copied). */
static const struct source_cfg *src(struct test_source *c)
{
    c->s.keys = &adapter_igate_ops.keys;
    c->s.opts = &c->ig;
    return &c->s;
}

/* The default of one of igate's keys, from its key table. */
static const char *igate_default(const char *key)
{
    const struct cfgopt *o =
        cfgopt_find(adapter_igate_ops.keys.opts, adapter_igate_ops.keys.nopts, key);
    assert_non_null(o);
    return o->def;
}

static const struct feed_desc *feed(struct adapter *ad, enum feed_kind kind)
{
    const struct feed_desc *fds[4];
    size_t n = ad->ops->feeds(ad, fds, 4);
    for (size_t i = 0; i < n; i++) {
        if (fds[i]->kind == kind)
            return fds[i];
    }
    fail_msg("no feed of kind %d", (int)kind);
    return NULL;
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

/* ---- envelopes ---- */

static void test_dossier_page(void **state)
{
    struct test_source cfg = base_cfg();
    char err[256] = "";
    struct adapter *ad = adp_new(src(&cfg), err, sizeof(err));
    assert_non_null(ad);
    const struct feed_desc *fd = feed(ad, FEED_DOSSIER);
    struct record_batch b;
    json_t *root = fixture("dossier_page.json");
    int more = -1;

    rec_batch_init(&b, FEED_DOSSIER);
    assert_int_equal(ad->ops->parse(fd, root, &b, &more, err, sizeof(err)), 0);
    assert_int_equal(more, 0); /* keyset feeds page by the cursor, not by *more */
    assert_int_equal(b.nitems, 10);
    assert_int_equal(b.nrecs + b.nrejs, 10);
    assert_int_equal(b.nrejs, 3);
    assert_int_equal(b.server_last, 0);

    const struct record *r = find_record(&b, "000.00.12.H12-220103-0007");
    assert_non_null(r);
    assert_string_equal(r->col[DC_STATUS], "10");
    assert_string_equal(r->col[DC_CHANNEL], "2");
    assert_string_equal(r->col[DC_FINISHED_AT], "2022-01-14 10:15:00");
    assert_string_equal(r->col[DC_AGENCY_NAME], "Sở Khoa học và Công nghệ");

    r = find_record(&b, "000.00.12.H12-220115-0003"); /* status 1, numeric code */
    assert_non_null(r);
    assert_string_equal(r->col[DC_STATUS], "1");
    assert_string_equal(r->col[DC_CHANNEL], "1");
    assert_null(r->col[DC_RECEIVED_AT]);

    r = find_record(&b, "000.00.13.H12-220117-0001"); /* NFD names in the fixture */
    assert_non_null(r);
    assert_string_equal(r->col[DC_AGENCY_NAME], "S\xe1\xbb\x9f X\xc3\xa2y d\xe1\xbb\xb1ng");
    assert_string_equal(r->col[DC_CHANNEL], "3");

    r = find_record(&b, "000.00.13.H12-220103-0002");
    assert_non_null(r);
    assert_string_equal(r->col[DC_APOLOGIES], "2");

    const struct reject *j = find_reject(&b, "000.00.12.H12-220116-0004");
    assert_non_null(j);
    assert_int_equal(j->reason, REASON_BAD_CODE);
    j = find_reject(&b, "000.00.12.H12-220116-0005");
    assert_non_null(j);
    assert_int_equal(j->reason, REASON_FINISH_BEFORE_RECEIPT);
    size_t nokey = 0;
    for (size_t i = 0; i < b.nrejs; i++) {
        if (!b.rejs[i].key) {
            nokey++;
            assert_int_equal(b.rejs[i].reason, REASON_MISSING_KEY);
        }
    }
    assert_int_equal(nokey, 1);

    /* the last of the page in (NgayCapNhat, MaHoSo) order */
    assert_string_equal(b.cursor_time, "20220120090000");
    assert_string_equal(b.cursor_key, "000.00.12.H12-220120-0010");

    json_decref(root);

    /* a second page appends, and the cursor moves on */
    root = fixture("dossier_last_page.json");
    assert_int_equal(ad->ops->parse(fd, root, &b, NULL, err, sizeof(err)), 0);
    assert_int_equal(b.nitems, 12);
    assert_int_equal(b.nrecs + b.nrejs, 12);
    assert_int_equal(b.server_last, 1);
    j = find_reject(&b, "000.00.12.H12-220121-0002");
    assert_non_null(j);
    assert_int_equal(j->reason, REASON_BAD_DATE);
    assert_string_equal(j->updated, "2022-01-28 11:00:00");
    assert_string_equal(b.cursor_time, "20220128110000");
    assert_string_equal(b.cursor_key, "000.00.12.H12-220121-0002");
    json_decref(root);

    rec_batch_clear(&b);
    root = fixture("dossier_empty.json");
    assert_int_equal(ad->ops->parse(fd, root, &b, &more, err, sizeof(err)), 0);
    assert_int_equal(b.nitems, 0);
    assert_int_equal(b.server_last, 1);
    assert_string_equal(b.cursor_time, "");
    json_decref(root);

    rec_batch_clear(&b);
    adp_free(ad);
}

static void test_dossier_bad_envelopes(void **state)
{
    struct test_source cfg = base_cfg();
    char err[256];
    struct adapter *ad = adp_new(src(&cfg), err, sizeof(err));
    assert_non_null(ad);
    const struct feed_desc *fd = feed(ad, FEED_DOSSIER);
    struct record_batch b;

    /* a page already parsed stays as it was when the next one fails */
    rec_batch_init(&b, FEED_DOSSIER);
    json_t *good = fixture("dossier_last_page.json");
    assert_int_equal(ad->ops->parse(fd, good, &b, NULL, err, sizeof(err)), 0);
    json_decref(good);
    assert_int_equal(b.nitems, 2);

    json_t *root = fixture("dossier_no_content.json");
    err[0] = '\0';
    assert_int_equal(ad->ops->parse(fd, root, &b, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "dossier page: no \"content\" array");
    json_decref(root);

    root = fixture("dossier_content_object.json");
    assert_int_equal(ad->ops->parse(fd, root, &b, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no \"content\" array"));
    json_decref(root);

    root = json_loads("[{\"MaHoSo\":\"x\"}]", 0, NULL);
    assert_int_equal(ad->ops->parse(fd, root, &b, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a JSON object"));
    json_decref(root);

    assert_int_equal(b.nitems, 2);
    assert_int_equal(b.nrecs + b.nrejs, 2);
    assert_string_equal(b.cursor_time, "20220128110000");

    /* items that are not objects are quarantined, not fatal */
    root = json_loads("{\"content\":[1,\"x\",null],\"last\":true}", 0, NULL);
    assert_int_equal(ad->ops->parse(fd, root, &b, NULL, err, sizeof(err)), 0);
    assert_int_equal(b.nrejs, 4);
    assert_int_equal(b.rejs[3].reason, REASON_BAD_JSON);
    json_decref(root);

    rec_batch_clear(&b);
    adp_free(ad);
}

static void test_procedure_pages(void **state)
{
    struct test_source cfg = base_cfg();
    char err[256];
    struct adapter *ad = adp_new(src(&cfg), err, sizeof(err));
    assert_non_null(ad);
    const struct feed_desc *fd = feed(ad, FEED_PROCEDURE);
    assert_int_equal(fd->mode, FEED_WHOLE);
    struct record_batch b;
    int more = -1;

    rec_batch_init(&b, FEED_PROCEDURE);
    json_t *root = fixture("procedure_page0.json");
    assert_int_equal(ad->ops->parse(fd, root, &b, &more, err, sizeof(err)), 0);
    json_decref(root);
    assert_int_equal(more, 1);
    assert_int_equal(b.nitems, 4);
    assert_int_equal(b.nrecs, 3);
    assert_int_equal(b.nrejs, 1);
    assert_int_equal(b.rejs[0].reason, REASON_BAD_CODE);
    assert_string_equal(b.rejs[0].key, "1.000775.000.00.00.H12|000.00.14.H12");
    const struct record *r = find_record(&b, "2.001234.000.00.00.H12|000.00.12.H12");
    assert_non_null(r);
    assert_string_equal(r->col[PC_LEVEL], "3");
    assert_string_equal(r->col[PC_POSTAL], "0");
    assert_string_equal(r->col[PC_FEE], "0");
    /* NFD in the fixture, NFC here */
    assert_non_null(strstr(r->col[PC_NAME], "\xc4\x90\xc4\x83ng k\xc3\xbd"));

    root = fixture("procedure_page1.json");
    more = -1;
    assert_int_equal(ad->ops->parse(fd, root, &b, &more, err, sizeof(err)), 0);
    json_decref(root);
    assert_int_equal(more, 0);
    assert_int_equal(b.nitems, 6);
    assert_int_equal(b.nrecs, 4);
    assert_int_equal(b.nrejs, 2);
    assert_int_equal(b.rejs[1].reason, REASON_MISSING_KEY); /* no MucDo */

    /* an empty page stops even if the envelope says otherwise */
    root = fixture("procedure_empty_not_last.json");
    more = -1;
    assert_int_equal(ad->ops->parse(fd, root, &b, &more, err, sizeof(err)), 0);
    json_decref(root);
    assert_int_equal(more, 0);

    /* no paging information at all: one page */
    root = fixture("procedure_no_paging.json");
    more = -1;
    assert_int_equal(ad->ops->parse(fd, root, &b, &more, err, sizeof(err)), 0);
    json_decref(root);
    assert_int_equal(more, 0);

    /* number + 1 >= totalPages stops even with last:false */
    root = json_loads("{\"content\":[{}],\"number\":2,\"totalPages\":3,\"last\":false}", 0, NULL);
    more = -1;
    assert_int_equal(ad->ops->parse(fd, root, &b, &more, err, sizeof(err)), 0);
    json_decref(root);
    assert_int_equal(more, 0);

    /* pages counted without "last" */
    root = json_loads("{\"content\":[{}],\"number\":0,\"totalPages\":3}", 0, NULL);
    more = -1;
    assert_int_equal(ad->ops->parse(fd, root, &b, &more, err, sizeof(err)), 0);
    json_decref(root);
    assert_int_equal(more, 1);

    rec_batch_clear(&b);
    adp_free(ad);
}

/* ---- URLs and feeds ---- */

static void test_page_urls(void **state)
{
    struct test_source cfg = base_cfg();
    char err[256];
    struct adapter *ad = adp_new(src(&cfg), err, sizeof(err));
    assert_non_null(ad);
    const struct feed_desc *dfd = feed(ad, FEED_DOSSIER);
    const struct feed_desc *pfd = feed(ad, FEED_PROCEDURE);
    struct feed_cursor cur;
    char *u;

    memset(&cur, 0, sizeof(cur));
    u = ad->ops->page_url(ad, dfd, &cur, 0);
    assert_string_equal(u, "https://igate.example.gov.vn/pa/dossier/search?spec=page&page=0"
                           "&size=500&sort=updatedDate,asc");
    free(u);

    u = ad->ops->page_url(ad, dfd, NULL, 0);
    assert_string_equal(u, "https://igate.example.gov.vn/pa/dossier/search?spec=page&page=0"
                           "&size=500&sort=updatedDate,asc");
    free(u);

    memcpy(cur.time, "20220103083000", 15);
    cur.key = "000.00.12.H12-220103-0007";
    u = ad->ops->page_url(ad, dfd, &cur, 7); /* the page number is ignored */
    assert_string_equal(u, "https://igate.example.gov.vn/pa/dossier/search?spec=page&page=0"
                           "&size=500&sort=updatedDate,asc&updated-from=20220103083000"
                           "&after-code=000.00.12.H12-220103-0007");
    free(u);

    /* the key is escaped */
    cur.key = "A&B C/1+2=Đ";
    u = ad->ops->page_url(ad, dfd, &cur, 0);
    assert_non_null(strstr(u, "&after-code=A%26B%20C%2F1%2B2%3D%C4%90"));
    assert_null(strstr(u, "A&B"));
    free(u);

    /* time without key */
    cur.key = "";
    u = ad->ops->page_url(ad, dfd, &cur, 0);
    assert_non_null(strstr(u, "&updated-from=20220103083000"));
    assert_null(strstr(u, "after-code"));
    free(u);

    u = ad->ops->page_url(ad, pfd, NULL, 3);
    assert_string_equal(
        u, "https://igate.example.gov.vn/pa/procedure/search?spec=page&page=3&size=500");
    free(u);
    adp_free(ad);

    /* paths and sizes from the config; a trailing slash is not doubled */
    cfg.s.base_url = "http://10.0.0.5:8080/igate/";
    cfg.ig.dossier_path = "/api/v2/hoso?province=12";
    cfg.ig.procedure_path = (char *)igate_default("procedure_path"); /* the default */
    cfg.s.page_size = 1000;
    ad = adp_new(src(&cfg), err, sizeof(err));
    assert_non_null(ad);
    memset(&cur, 0, sizeof(cur));
    u = ad->ops->page_url(ad, feed(ad, FEED_DOSSIER), &cur, 0);
    assert_string_equal(u, "http://10.0.0.5:8080/igate/api/v2/hoso?province=12&spec=page&page=0"
                           "&size=1000&sort=updatedDate,asc");
    free(u);
    u = ad->ops->page_url(ad, feed(ad, FEED_PROCEDURE), NULL, 0);
    assert_string_equal(
        u, "http://10.0.0.5:8080/igate/pa/procedure/search?spec=page&page=0&size=1000");
    free(u);
    adp_free(ad);
}

static void test_feeds(void **state)
{
    struct test_source cfg = base_cfg();
    const struct feed_desc *fds[4];
    char err[256];

    struct adapter *ad = adp_new(src(&cfg), err, sizeof(err));
    assert_non_null(ad);
    assert_int_equal(ad->ops->feeds(ad, fds, 4), 2);
    assert_string_equal(fds[0]->name, "dossier");
    assert_int_equal(fds[0]->kind, FEED_DOSSIER);
    assert_int_equal(fds[0]->mode, FEED_KEYSET);
    assert_string_equal(fds[1]->name, "procedure");
    assert_int_equal(fds[1]->kind, FEED_PROCEDURE);
    assert_int_equal(fds[1]->mode, FEED_WHOLE);
    assert_int_equal(ad->ops->feeds(ad, fds, 1), 1);
    assert_int_equal(ad->ops->feeds(ad, fds, 0), 0);
    adp_free(ad);

    cfg.ig.procedure_path = ""; /* no catalogue */
    ad = adp_new(src(&cfg), err, sizeof(err));
    assert_non_null(ad);
    assert_int_equal(ad->ops->feeds(ad, fds, 4), 1);
    assert_int_equal(fds[0]->kind, FEED_DOSSIER);
    adp_free(ad);
}

/* ---- registry and init ---- */

static void test_registry(void **state)
{
    assert_ptr_equal(adp_find("igate"), &adapter_igate_ops);
    assert_ptr_equal(adp_find("vnpost"), &adapter_vnpost_ops);
    assert_null(adp_find("IGATE"));
    assert_null(adp_find("dvcqg"));
    assert_null(adp_find(""));
    assert_null(adp_find(NULL));
    assert_string_equal(adp_names(), "igate, vnpost");
    assert_non_null(adapter_igate_ops.description);
    adp_free(NULL);

    /* the keys each adapter adds to its sections, for the config loader */
    const struct cfgopt_table *keys = NULL;
    assert_string_equal(adp_keys(0, &keys), "igate");
    assert_ptr_equal(keys, &adapter_igate_ops.keys);
    assert_int_equal(keys->size, sizeof(struct igate_cfg));
    assert_non_null(cfgopt_find(keys->opts, keys->nopts, "token_url"));
    assert_null(cfgopt_find(keys->opts, keys->nopts, "api_key_file"));
    assert_string_equal(adp_keys(1, &keys), "vnpost");
    assert_ptr_equal(keys, &adapter_vnpost_ops.keys);
    assert_null(adp_keys(2, &keys));
    assert_string_equal(igate_default("dossier_path"), "/pa/dossier/search");
    assert_string_equal(igate_default("procedure_path"), "/pa/procedure/search");
}

static void test_init_errors(void **state)
{
    static const char *const required[] = {"base_url", "token_url", "client_id",
                                           "client_secret_file"};
    char err[256], want[128];

    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        for (int empty = 0; empty <= 1; empty++) {
            struct test_source cfg = base_cfg();
            char *v = empty ? "" : NULL;
            switch (i) {
            case 0:
                cfg.s.base_url = v;
                break;
            case 1:
                cfg.ig.token_url = v;
                break;
            case 2:
                cfg.ig.client_id = v;
                break;
            default:
                cfg.ig.client_secret = v;
                break;
            }
            err[0] = '\0';
            assert_null(adp_new(src(&cfg), err, sizeof(err)));
            snprintf(want, sizeof(want), "source.igate: %s is required for adapter igate",
                     required[i]);
            assert_string_equal(err, want);
        }
    }

    struct test_source cfg = base_cfg();
    cfg.s.adapter = "dvcqg";
    assert_null(adp_new(src(&cfg), err, sizeof(err)));
    assert_string_equal(err, "source.igate: unknown adapter \"dvcqg\" (known: igate, vnpost)");

    cfg.s.adapter = NULL;
    assert_null(adp_new(src(&cfg), err, sizeof(err)));
    assert_non_null(strstr(err, "adapter is required"));

    /* the secret is never part of a message */
    cfg = base_cfg();
    cfg.ig.token_url = NULL;
    assert_null(adp_new(src(&cfg), err, sizeof(err)));
    assert_null(strstr(err, "s3cr3t"));

    /* adp_check (the config loader's check) says what adp_new would, creating nothing */
    cfg = base_cfg();
    assert_int_equal(adp_check(src(&cfg), err, sizeof(err)), 0);
    cfg.ig.client_id = "";
    assert_int_equal(adp_check(src(&cfg), err, sizeof(err)), -1);
    assert_string_equal(err, "source.igate: client_id is required for adapter igate");

    /* settings that are not igate's are never read as igate's */
    cfg = base_cfg();
    src(&cfg);
    cfg.s.keys = &adapter_vnpost_ops.keys;
    assert_int_equal(adp_check(&cfg.s, err, sizeof(err)), -1);
    assert_string_equal(err, "source.igate: the keys of adapter igate were not loaded");
    cfg.s.keys = &adapter_igate_ops.keys;
    cfg.s.opts = NULL;
    assert_null(adp_new(&cfg.s, err, sizeof(err)));
    assert_string_equal(err, "source.igate: the keys of adapter igate were not loaded");
}

/* ---- the token, against a loopback endpoint ---- */

struct token_server {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t lock;
    int requests;
    char last_request[4096];
    /* the next responses: status and body */
    long status;
    char body[512];
};

/* strcasestr is a GNU extension; this is all the tests need of it. */
static const char *find_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    }
    return NULL;
}

/* Reads one request (headers, then Content-Length bytes) and answers it. */
static void serve_one(struct token_server *s, int c)
{
    char req[4096];
    size_t n = 0;
    long clen = 0;
    char *end = NULL;

    while (n < sizeof(req) - 1) {
        ssize_t r = read(c, req + n, sizeof(req) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        req[n] = '\0';
        if (!end && (end = strstr(req, "\r\n\r\n")) != NULL) {
            const char *cl = find_nocase(req, "Content-Length:");
            clen = cl ? strtol(cl + 15, NULL, 10) : 0;
        }
        if (end && (size_t)(end + 4 - req) + (size_t)clen <= n)
            break;
    }
    req[n] = '\0';

    pthread_mutex_lock(&s->lock);
    s->requests++;
    snprintf(s->last_request, sizeof(s->last_request), "%s", req);
    char resp[1024];
    int len = snprintf(resp, sizeof(resp),
                       "HTTP/1.1 %ld X\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                       s->status, strlen(s->body), s->body);
    pthread_mutex_unlock(&s->lock);
    if (write(c, resp, (size_t)len) < 0)
        return;
}

static void *server_main(void *arg)
{
    struct token_server *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL; /* the socket was shut down */
        serve_one(s, c);
        close(c);
    }
}

static int server_setup(void **state)
{
    struct token_server *s = calloc(1, sizeof(*s));
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);

    assert_non_null(s);
    pthread_mutex_init(&s->lock, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 8), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
    *state = s;
    return 0;
}

static int server_teardown(void **state)
{
    struct token_server *s = *state;
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->lock);
    free(s);
    return 0;
}

static void server_answer(struct token_server *s, long status, const char *body)
{
    pthread_mutex_lock(&s->lock);
    s->status = status;
    snprintf(s->body, sizeof(s->body), "%s", body);
    pthread_mutex_unlock(&s->lock);
}

static int server_requests(struct token_server *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->requests;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* Runs authorize and returns the Authorization header it added (caller frees), or NULL
 * with err on failure. */
static char *authorize(struct adapter *ad, struct fetcher *f, int force, char *err, size_t errlen)
{
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
    char *auth = NULL;

    if (ad->ops->authorize(ad, f, &hdrs, force, err, errlen) == 0) {
        for (struct curl_slist *h = hdrs; h; h = h->next) {
            if (strncmp(h->data, "Authorization: ", 15) == 0)
                auth = strdup(h->data);
        }
        assert_non_null(auth);
        assert_string_equal(hdrs->data, "Accept: application/json"); /* kept */
    }
    curl_slist_free_all(hdrs);
    return auth;
}

static void test_token(void **state)
{
    struct token_server *s = *state;
    struct test_source cfg = base_cfg();
    char url[128], err[256];
    char *auth;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/oauth2/token", s->port);
    cfg.ig.token_url = url;
    cfg.ig.client_id = "one stop";
    cfg.ig.client_secret = "s&cr=t+/é";
    struct adapter *ad = adp_new(src(&cfg), err, sizeof(err));
    assert_non_null(ad);
    struct fetcher *f = fetch_new();
    assert_non_null(f);

    server_answer(s, 200,
                  "{\"access_token\":\"tok-1\",\"token_type\":\"Bearer\",\"expires_in\":300}");
    auth = authorize(ad, f, 0, err, sizeof(err));
    assert_non_null(auth);
    assert_string_equal(auth, "Authorization: Bearer tok-1");
    free(auth);
    assert_int_equal(server_requests(s), 1);
    assert_true(strncmp(s->last_request, "POST /oauth2/token HTTP/1.1\r\n", 29) == 0);
    assert_non_null(
        find_nocase(s->last_request, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    const char *body = strstr(s->last_request, "\r\n\r\n");
    assert_non_null(body);
    assert_string_equal(body + 4, "grant_type=client_credentials&client_id=one%20stop"
                                  "&client_secret=s%26cr%3Dt%2B%2F%C3%A9");

    /* cached */
    server_answer(s, 200,
                  "{\"access_token\":\"tok-2\",\"token_type\":\"bearer\",\"expires_in\":300}");
    auth = authorize(ad, f, 0, err, sizeof(err));
    assert_string_equal(auth, "Authorization: Bearer tok-1");
    free(auth);
    assert_int_equal(server_requests(s), 1);

    /* force (after a 401) drops the cache */
    auth = authorize(ad, f, 1, err, sizeof(err));
    assert_string_equal(auth, "Authorization: Bearer tok-2");
    free(auth);
    assert_int_equal(server_requests(s), 2);

    /* a token about to expire is refreshed before use: 1 s leaves no margin to keep it */
    server_answer(s, 200, "{\"access_token\":\"tok-3\",\"expires_in\":\"1\"}");
    auth = authorize(ad, f, 1, err, sizeof(err));
    assert_string_equal(auth, "Authorization: Bearer tok-3");
    free(auth);
    assert_int_equal(server_requests(s), 3);
    server_answer(s, 200, "{\"access_token\":\"tok-4\",\"expires_in\":300}");
    struct timespec ts = {1, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    auth = authorize(ad, f, 0, err, sizeof(err));
    assert_string_equal(auth, "Authorization: Bearer tok-4");
    free(auth);
    assert_int_equal(server_requests(s), 4);

    /* expires_in 0: good for this request only */
    server_answer(s, 200, "{\"access_token\":\"tok-5\",\"expires_in\":0}");
    auth = authorize(ad, f, 1, err, sizeof(err));
    assert_string_equal(auth, "Authorization: Bearer tok-5");
    free(auth);
    auth = authorize(ad, f, 0, err, sizeof(err));
    assert_string_equal(auth, "Authorization: Bearer tok-5");
    free(auth);
    assert_int_equal(server_requests(s), 6);

    /* errors: the OAuth2 error code is shown, never the secret or a token */
    server_answer(s, 401, "{\"error\":\"invalid_client\",\"error_description\":\"s&cr=t+/é\"}");
    err[0] = '\0';
    assert_null(authorize(ad, f, 1, err, sizeof(err)));
    assert_string_equal(err, "token endpoint returned HTTP 401: invalid_client");

    server_answer(s, 200, "<html>maintenance</html>");
    assert_null(authorize(ad, f, 1, err, sizeof(err)));
    assert_non_null(strstr(err, "not a JSON object"));

    server_answer(s, 200, "{\"token_type\":\"Bearer\"}");
    assert_null(authorize(ad, f, 1, err, sizeof(err)));
    assert_non_null(strstr(err, "access_token"));

    server_answer(s, 200, "{\"access_token\":\"tok-6\",\"token_type\":\"mac\"}");
    assert_null(authorize(ad, f, 1, err, sizeof(err)));
    assert_non_null(strstr(err, "unsupported token_type"));
    assert_null(strstr(err, "tok-6"));

    server_answer(s, 200, "{\"access_token\":\"tok\\r\\nX-Injected: 1\"}");
    assert_null(authorize(ad, f, 1, err, sizeof(err)));
    assert_string_equal(err, "token endpoint: the access_token is not visible ASCII");

    /* a failed refresh leaves no token behind: the next call asks again */
    int before = server_requests(s);
    server_answer(s, 200, "{\"access_token\":\"tok-7\"}");
    auth = authorize(ad, f, 0, err, sizeof(err));
    assert_string_equal(auth, "Authorization: Bearer tok-7");
    free(auth);
    assert_int_equal(server_requests(s), before + 1);

    fetch_free(f);
    adp_free(ad);
}

static void test_token_unreachable(void **state)
{
    struct test_source cfg = base_cfg();
    char err[256], url[64];
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof sa;
    /* A port bound but not listening refuses connections, and no one else can take it. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/token", ntohs(sa.sin_port));

    cfg.ig.token_url = url;
    cfg.s.timeout_s = 2;
    struct adapter *ad = adp_new(src(&cfg), err, sizeof(err));
    assert_non_null(ad);
    struct fetcher *f = fetch_new();
    assert_null(authorize(ad, f, 0, err, sizeof(err)));
    assert_true(strncmp(err, "token endpoint: ", 16) == 0);
    assert_null(strstr(err, "s3cr3t"));
    fetch_free(f);
    adp_free(ad);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dossier_page),
        cmocka_unit_test(test_dossier_bad_envelopes),
        cmocka_unit_test(test_procedure_pages),
        cmocka_unit_test(test_page_urls),
        cmocka_unit_test(test_feeds),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test_setup_teardown(test_token, server_setup, server_teardown),
        cmocka_unit_test(test_token_unreachable),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
