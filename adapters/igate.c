/* SPDX-License-Identifier: Apache-2.0 */
/* igate: the iGate dossier feed and procedure catalogue, behind an LGSP OAuth2 token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapter.h"
#include "cfgopt.h"
#include "igate.h"
#include "util.h"

/* Used when the token endpoint omits expires_in (OAuth2 only recommends it). */
#define IGATE_DEFAULT_TOKEN_LIFETIME_S 300
#define IGATE_TOKEN_MARGIN_S 30
#define IGATE_MAX_TOKEN_LIFETIME_S 86400L
#define IGATE_TOKEN_MAX_BODY (1024L * 1024L)

#define ICFG struct igate_cfg

/* The keys of an igate section besides the generic ones; the reference prefixes each help
 * text with "igate: ". */
static const struct cfgopt igate_keys[] = {
    CFGOPT_URL("token_url", ICFG, token_url, NULL, 0,
               "OAuth2 client-credentials token endpoint (required by the igate adapter)."),
    CFGOPT_STRING("client_id", ICFG, client_id, NULL, 0, "OAuth2 client id."),
    CFGOPT_SECRET_FILE("client_secret_file", ICFG, client_secret_file, client_secret, 0,
                       "file holding the OAuth2 client secret (looked up like password_file)."),
    CFGOPT_URLPATH("dossier_path", ICFG, dossier_path, "/pa/dossier/search", 0,
                   "path of the dossier search."),
    CFGOPT_URLPATH("procedure_path", ICFG, procedure_path, "/pa/procedure/search", CFGOPT_EMPTY_OK,
                   "path of the procedure catalogue; empty disables the catalogue."),
};

#undef ICFG

static const char *const igate_items_path[] = {"content"};
static const struct jsplit_spec igate_dossier_items = {igate_items_path, 1, "MaHoSo",
                                                       "NgayCapNhat"};
/* A procedure's key is MaTTHC|MaDonVi: one raw member cannot name it, so an undecodable
 * row is told apart by its bytes. */
static const struct jsplit_spec igate_procedure_items = {igate_items_path, 1, NULL, NULL};

static const struct feed_desc igate_feeds[] = {
    {"dossier", FEED_DOSSIER, FEED_KEYSET, &igate_dossier_items},
    {"procedure", FEED_PROCEDURE, FEED_WHOLE, &igate_procedure_items},
};

struct igate_priv {
    char *token;        /* cached access token, NULL when none */
    int64_t refresh_ms; /* monotonic time from which the token is fetched anew */
};

static int igate_set(const char *s)
{
    return s && s[0];
}

static void igate_wipe(char *s)
{
    /* The token and the request body with the secret should not linger in freed memory. */
    if (s)
        explicit_bzero(s, strlen(s));
}

static void igate_drop_token(struct igate_priv *p)
{
    igate_wipe(p->token);
    sfree(p->token);
    p->refresh_ms = 0;
}

static int igate_check(const struct source_cfg *cfg, char *err, size_t errlen)
{
    const struct igate_cfg *ic = cfg->opts;
    const char *name = cfg->name ? cfg->name : "?";
    const char *missing = NULL;

    if (!igate_set(cfg->base_url))
        missing = "base_url";
    else if (!igate_set(ic->token_url))
        missing = "token_url";
    else if (!igate_set(ic->client_id))
        missing = "client_id";
    else if (!igate_set(ic->client_secret))
        missing = "client_secret_file";
    if (missing) {
        snprintf(err, errlen, "source.%s: %s is required for adapter igate", name, missing);
        return -1;
    }
    return 0;
}

static int igate_init(struct adapter *ad, char *err, size_t errlen)
{
    ad->priv = calloc(1, sizeof(struct igate_priv));
    if (!ad->priv) {
        snprintf(err, errlen, "source.%s: out of memory", ad->cfg->name ? ad->cfg->name : "?");
        return -1;
    }
    return 0;
}

static size_t igate_feeds_fn(const struct adapter *ad, const struct feed_desc **out, size_t max)
{
    const struct igate_cfg *ic = ad->cfg->opts;
    size_t n = 0;

    if (n < max)
        out[n++] = &igate_feeds[0];
    /* An empty procedure_path is how a province without a catalogue endpoint says so. */
    if (ic->procedure_path[0] && n < max)
        out[n++] = &igate_feeds[1];
    return n;
}

static char *igate_page_url(const struct adapter *ad, const struct feed_desc *fd,
                            const struct feed_cursor *cur, long page)
{
    const struct source_cfg *cfg = ad->cfg;
    const struct igate_cfg *ic = cfg->opts;
    long size = cfg->page_size;
    struct buf b;

    buf_init(&b);
    if (fd->kind == FEED_DOSSIER) {
        /* Always page 0: the keyset cursor, not the page number, walks the feed. */
        adp_url_start(&b, cfg->base_url, ic->dossier_path);
        buf_printf(&b, "spec=page&page=0&size=%ld&sort=updatedDate,asc", size);
        if (cur && cur->time[0] && adp_url_param(&b, "updated-from", cur->time) < 0)
            goto fail;
        if (cur && cur->key && cur->key[0] && adp_url_param(&b, "after-code", cur->key) < 0)
            goto fail;
    } else if (fd->kind == FEED_PROCEDURE) {
        adp_url_start(&b, cfg->base_url, ic->procedure_path);
        buf_printf(&b, "spec=page&page=%ld&size=%ld", page < 0 ? 0 : page, size);
    } else {
        goto fail;
    }
    return adp_url_end(&b);

fail:
    buf_free(&b);
    return NULL;
}

/* Copies a short, printable-ASCII excerpt of an untrusted string for an error message. */
static void igate_excerpt(const char *s, char *out, size_t outlen)
{
    size_t j = 0;
    for (size_t i = 0; s && s[i] && j + 1 < outlen && i < 64; i++)
        out[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    out[j] = '\0';
}

/* expires_in, in seconds: a number (some servers send a string of digits). Absent or
 * unreadable means the usual LGSP lifetime; 0 or less means "do not cache". */
static long igate_lifetime(const json_t *exp)
{
    long v = 0;

    if (json_is_integer(exp)) {
        json_int_t i = json_integer_value(exp);
        return i < 0 ? 0 : i > IGATE_MAX_TOKEN_LIFETIME_S ? IGATE_MAX_TOKEN_LIFETIME_S : (long)i;
    }
    if (!json_is_string(exp) || json_string_length(exp) == 0)
        return IGATE_DEFAULT_TOKEN_LIFETIME_S;
    for (const char *c = json_string_value(exp); *c; c++) {
        if (*c < '0' || *c > '9')
            return IGATE_DEFAULT_TOKEN_LIFETIME_S;
        if (v < IGATE_MAX_TOKEN_LIFETIME_S)
            v = v * 10 + (*c - '0');
    }
    return v > IGATE_MAX_TOKEN_LIFETIME_S ? IGATE_MAX_TOKEN_LIFETIME_S : v;
}

/* Reads the token response; 0 with p->token set, or -1 with err. */
static int igate_take_token(struct igate_priv *p, const struct fetch_response *resp, char *err,
                            size_t errlen)
{
    json_error_t jerr;
    json_t *root = NULL;
    char what[72];
    int rc = -1;

    root = json_loadb(resp->body ? resp->body : "", resp->len, 0, &jerr);
    if (resp->status < 200 || resp->status > 299) {
        /* Only the OAuth2 "error" code is shown: the rest of the body is not trusted not
         * to echo the request. */
        const json_t *e = json_object_get(root, "error");
        igate_excerpt(json_string_value(e), what, sizeof(what));
        snprintf(err, errlen, "token endpoint returned HTTP %ld%s%s", resp->status,
                 what[0] ? ": " : "", what);
        goto cleanup;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "token endpoint: the response is not a JSON object");
        goto cleanup;
    }
    const json_t *tok = json_object_get(root, "access_token");
    if (!json_is_string(tok) || json_string_length(tok) == 0) {
        snprintf(err, errlen, "token endpoint: no \"access_token\" in the response");
        goto cleanup;
    }
    /* The token goes into a header line: a CR or LF in it would let the token endpoint
     * inject headers into every request (RFC 6750 tokens are visible ASCII anyway). */
    for (const char *t = json_string_value(tok); *t; t++) {
        if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f) {
            snprintf(err, errlen, "token endpoint: the access_token is not visible ASCII");
            goto cleanup;
        }
    }
    const json_t *type = json_object_get(root, "token_type");
    if (json_is_string(type) && strcasecmp(json_string_value(type), "bearer") != 0) {
        igate_excerpt(json_string_value(type), what, sizeof(what));
        snprintf(err, errlen, "token endpoint: unsupported token_type \"%s\"", what);
        goto cleanup;
    }
    long lifetime = igate_lifetime(json_object_get(root, "expires_in"));

    p->token = xstrdup(json_string_value(tok));
    if (!p->token) {
        snprintf(err, errlen, "token endpoint: out of memory");
        goto cleanup;
    }
    /* Refresh ahead of expiry: 30 s before, or at 90% of a shorter lifetime, so a request
     * never leaves with a token about to die in flight. A token without a positive
     * lifetime serves this request only. */
    long margin = lifetime / 10 < IGATE_TOKEN_MARGIN_S ? lifetime / 10 : IGATE_TOKEN_MARGIN_S;
    p->refresh_ms = lifetime > 0 ? util_now_ms() + (int64_t)(lifetime - margin) * 1000 : 0;
    rc = 0;

cleanup:
    json_decref(root);
    return rc;
}

static int igate_fetch_token(struct adapter *ad, struct fetcher *f, char *err, size_t errlen)
{
    const struct source_cfg *cfg = ad->cfg;
    const struct igate_cfg *ic = cfg->opts;
    struct igate_priv *p = ad->priv;
    struct fetch_opts o = {0};
    struct fetch_response resp = {0};
    struct curl_slist *hdrs = NULL, *h;
    char *id = NULL, *secret = NULL, *body = NULL;
    char ferr[256];
    int rc = -1;

    o.timeout_ms = cfg->timeout_s * 1000;
    o.connect_timeout_ms = o.timeout_ms < 10000 ? o.timeout_ms : 10000;
    o.max_retries = 0;
    o.backoff_base_ms = 1000;
    o.backoff_max_ms = 1000;
    o.max_body_bytes = IGATE_TOKEN_MAX_BODY;

    id = fetch_escape(ic->client_id);
    secret = fetch_escape(ic->client_secret);
    if (!id || !secret)
        goto oom;
    body = xasprintf("grant_type=client_credentials&client_id=%s&client_secret=%s", id, secret);
    if (!body)
        goto oom;
    h = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");
    if (!h)
        goto oom;
    hdrs = h;
    h = curl_slist_append(hdrs, "Accept: application/json");
    if (!h)
        goto oom;
    hdrs = h;

    if (fetch_once(f, &o, "POST", ic->token_url, hdrs, body, &resp, ferr, sizeof(ferr)) < 0) {
        snprintf(err, errlen, "token endpoint: %s", ferr);
        goto cleanup;
    }
    rc = igate_take_token(p, &resp, err, errlen);
    goto cleanup;

oom:
    snprintf(err, errlen, "token request: out of memory");
cleanup:
    if (resp.body)
        explicit_bzero(resp.body, resp.len);
    fetch_response_clear(&resp);
    curl_slist_free_all(hdrs);
    igate_wipe(secret);
    igate_wipe(body);
    free(body);
    free(secret);
    free(id);
    return rc;
}

static int igate_authorize(void *ctx, struct fetcher *f, struct curl_slist **hdrs, int force,
                           char *err, size_t errlen)
{
    struct adapter *ad = ctx;
    struct igate_priv *p = ad->priv;
    struct curl_slist *h;
    char *line = NULL;
    int rc = -1;

    if (force || (p->token && util_now_ms() >= p->refresh_ms))
        igate_drop_token(p);
    if (!p->token && igate_fetch_token(ad, f, err, errlen) < 0)
        goto cleanup;

    line = xasprintf("Authorization: Bearer %s", p->token);
    if (!line) {
        snprintf(err, errlen, "authorization: out of memory");
        goto cleanup;
    }
    h = curl_slist_append(*hdrs, line);
    if (!h) {
        snprintf(err, errlen, "authorization: out of memory");
        goto cleanup;
    }
    *hdrs = h;
    rc = 0;

cleanup:
    /* A token without a lifetime is good for this one request only. */
    if (p->token && p->refresh_ms == 0)
        igate_drop_token(p);
    igate_wipe(line);
    free(line);
    return rc;
}

/* The Spring-style page envelope both iGate lists use; returns the "content" array. */
static const json_t *igate_content(const json_t *root, const char *what, char *err, size_t errlen)
{
    const json_t *content = json_object_get(root, "content");
    if (!json_is_object(root)) {
        snprintf(err, errlen, "%s page: the body is not a JSON object", what);
        return NULL;
    }
    /* Some servers send "content": null for an empty result; the array functions
     * treat a null as an empty array (size 0). */
    if (json_is_null(content))
        return content;
    if (!json_is_array(content)) {
        snprintf(err, errlen, "%s page: no \"content\" array", what);
        return NULL;
    }
    return content;
}

static int igate_parse(const struct feed_desc *fd, const json_t *root, struct record_batch *out,
                       int *more, char *err, size_t errlen)
{
    struct record_batch page;
    const json_t *content, *item;
    size_t i;
    int rc = -1;

    rec_batch_init(&page, fd->kind);
    if (more)
        *more = 0;
    if (fd->kind != FEED_DOSSIER && fd->kind != FEED_PROCEDURE) {
        snprintf(err, errlen, "igate has no %s feed", rec_kind_name(fd->kind));
        goto cleanup;
    }
    content = igate_content(root, fd->name, err, errlen);
    if (!content)
        goto cleanup;

    /* Parse into a page of our own so that a failure leaves out untouched. */
    json_array_foreach(content, i, item)
    {
        int r = fd->kind == FEED_DOSSIER ? adp_parse_dossier(item, &page)
                                         : adp_parse_procedure(item, &page);
        if (r < 0) {
            snprintf(err, errlen, "%s page: out of memory", fd->name);
            goto cleanup;
        }
    }
    page.nitems = json_array_size(content);

    const json_t *last = json_object_get(root, "last");
    const json_t *number = json_object_get(root, "number");
    const json_t *total = json_object_get(root, "totalPages");
    int have_pages = json_is_integer(number) && json_is_integer(total);
    page.server_last = json_is_true(last) ||
                       (have_pages && json_integer_value(number) + 1 >= json_integer_value(total));

    if (more && fd->mode == FEED_WHOLE) {
        /* Only an envelope that positively says more pages follow continues, and an empty
         * page always stops: a confused server must not keep us paging forever. */
        if (json_array_size(content) == 0 || page.server_last)
            *more = 0;
        else
            *more = json_is_false(last) || have_pages;
    }

    size_t nitems = page.nitems;
    if (rec_batch_move(out, &page) < 0) {
        snprintf(err, errlen, "%s page: out of memory", fd->name);
        goto cleanup;
    }
    out->nitems += nitems;
    rc = 0;

cleanup:
    rec_batch_clear(&page);
    return rc;
}

static void igate_destroy(struct adapter *ad)
{
    struct igate_priv *p = ad->priv;
    if (!p)
        return;
    igate_drop_token(p);
    free(p);
    ad->priv = NULL;
}

const struct adapter_ops adapter_igate_ops = {
    .name = "igate",
    .description = "iGate dossiers and procedure catalogue (DVCQG vocabulary, LGSP OAuth2)",
    .keys = CFGOPT_TABLE(igate_keys, struct igate_cfg),
    .check = igate_check,
    .init = igate_init,
    .feeds = igate_feeds_fn,
    .authorize = igate_authorize,
    .page_url = igate_page_url,
    .parse = igate_parse,
    .destroy = igate_destroy,
};
