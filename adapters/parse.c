/* SPDX-License-Identifier: Apache-2.0 */
/* adp: the DVCQG-vocabulary item parsers shared by the adapters (one JSON item in, one
 * record or one reject appended to the batch). The checks run in the order metrics.md
 * gives the quarantine reasons, and the first one that fails names the reason. */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "record.h"
#include "util.h"

/* Longest rendering of an offending value in a reject's detail. */
#define PK_VALUE_MAX 64

/* State of one item being parsed. */
struct pctx {
    const json_t *item;
    int failed; /* a reason is set; later checks are skipped */
    enum rec_reason reason;
    char *detail;
    int oom;
    char updated_iso[20]; /* NgayCapNhat when valid, else "" */
    char updated_raw[15];
};

static void pk_init(struct pctx *c, const json_t *item)
{
    memset(c, 0, sizeof(*c));
    c->item = item;
    if (rec_get_date(item, "NgayCapNhat", c->updated_iso, c->updated_raw) != FIELD_OK) {
        c->updated_iso[0] = '\0';
        c->updated_raw[0] = '\0';
    }
}

static void pk_fail(struct pctx *c, enum rec_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the reason; only the first call counts, which is what makes the call order the
 * precedence order. */
static void pk_fail(struct pctx *c, enum rec_reason reason, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    if (c->failed)
        return;
    c->failed = 1;
    c->reason = reason;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    c->detail = xstrdup(buf);
    if (!c->detail)
        c->oom = 1;
}

/* "ALL" is the province total on /metrics and in the report; an agency with that code
 * would be indistinguishable from it, so it is refused as a code outside its list. */
static void pk_agency_code(struct pctx *c, const char *agency)
{
    if (agency && strcmp(agency, "ALL") == 0)
        pk_fail(c, REASON_BAD_CODE, "MaDonVi: \"ALL\" is reserved for the province total");
}

static int pk_stop(const struct pctx *c)
{
    return c->failed || c->oom;
}

/* Renders a value for a detail message as compact JSON, cut (on a UTF-8 boundary) so one
 * huge value cannot bloat the quarantine table. */
static void pk_render(const json_t *v, char *out, size_t outlen)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

    if (!s) {
        snprintf(out, outlen, "%s", v ? "(value)" : "(absent)");
        return;
    }
    size_t n = strlen(s);
    if (n > PK_VALUE_MAX) {
        n = PK_VALUE_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        snprintf(out, outlen, "%.*s...", (int)n, s);
    } else {
        snprintf(out, outlen, "%s", s);
    }
    free(s);
}

static int pk_is_absent(const json_t *v)
{
    return !v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

static const char *pk_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

/* Decimal text of an integer; sets oom on failure. */
static char *pk_long(struct pctx *c, long v)
{
    char *s = xasprintf("%ld", v);
    if (!s)
        c->oom = 1;
    return s;
}

/*
 * A key field (MaHoSo, MaTTHC, ...): a non-empty string or an integer, kept byte for byte
 * (not NFC-normalised), because it must match what the server sorts and filters on
 * (after-code) and the same code in the other feeds. A value of another type cannot
 * identify the record either, so it is a missing key too.
 */
static char *pk_key(struct pctx *c, const char *name)
{
    const json_t *v = json_object_get(c->item, name);
    char *s = NULL;
    char val[PK_VALUE_MAX + 8];

    if (json_is_string(v) && json_string_length(v) > 0) {
        s = rec_json_string(v);
    } else if (json_is_integer(v)) {
        s = xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (pk_is_absent(v)) {
        pk_fail(c, REASON_MISSING_KEY, "%s is missing", name);
        return NULL;
    } else {
        pk_render(v, val, sizeof(val));
        pk_fail(c, REASON_MISSING_KEY, "%s: %s is not a string or an integer", name, val);
        return NULL;
    }
    if (!s)
        c->oom = 1;
    return s;
}

/* A required field whose value is checked later (a code or a date): here only presence. */
static void pk_require(struct pctx *c, const char *name)
{
    if (pk_is_absent(json_object_get(c->item, name)))
        pk_fail(c, REASON_MISSING_KEY, "%s is missing", name);
}

/* A code in [lo, hi]; FIELD_ABSENT lets the caller apply the default. */
static enum rec_field pk_code(struct pctx *c, const char *name, long lo, long hi, long *out)
{
    char val[PK_VALUE_MAX + 8];
    long any;

    if (pk_stop(c))
        return FIELD_BAD;
    enum rec_field f = rec_get_code(c->item, name, lo, hi, out);
    if (f != FIELD_BAD)
        return f;
    pk_render(json_object_get(c->item, name), val, sizeof(val));
    if (rec_get_code(c->item, name, LONG_MIN, LONG_MAX, &any) == FIELD_OK)
        pk_fail(c, REASON_BAD_CODE, "%s: %s is outside %ld..%ld", name, val, lo, hi);
    else
        pk_fail(c, REASON_BAD_CODE, "%s: %s is not a code", name, val);
    return FIELD_BAD;
}

/* A date of obj (the item or a nested entry); where is the path prefix for messages. */
static enum rec_field pk_date(struct pctx *c, const json_t *obj, const char *where,
                              const char *name, char iso[20])
{
    char val[PK_VALUE_MAX + 8];

    iso[0] = '\0';
    if (pk_stop(c))
        return FIELD_BAD;
    enum rec_field f = rec_get_date(obj, name, iso, NULL);
    if (f == FIELD_BAD) {
        iso[0] = '\0';
        pk_render(json_object_get(obj, name), val, sizeof(val));
        pk_fail(c, REASON_BAD_DATE, "%s%s: %s is not a valid yyyyMMddHHmmss date", where, name,
                val);
    }
    return f;
}

/*
 * The dates inside a list of objects (DanhSachHoSoBoSung, PhieuXinLoi). These lists are
 * not interpreted beyond their dates, so a value that is not an array, or an entry that is
 * not an object, is treated as carrying no dates rather than quarantining the dossier.
 */
static void pk_nested_dates(struct pctx *c, const char *list, const char *const *keys, size_t nkeys)
{
    const json_t *arr = json_object_get(c->item, list);
    const json_t *e;
    size_t i;
    char where[96];
    char iso[20];

    if (!json_is_array(arr))
        return;
    json_array_foreach(arr, i, e)
    {
        if (!json_is_object(e))
            continue;
        snprintf(where, sizeof(where), "%s[%zu].", list, i);
        for (size_t k = 0; k < nkeys; k++)
            pk_date(c, e, where, keys[k], iso);
        if (pk_stop(c))
            return;
    }
}

/* Optional text: a string (NFC-normalised when nfc) or an integer in decimal. Any other
 * type is not interpreted (the raw JSON keeps it) and stored as NULL. */
static char *pk_text(struct pctx *c, const char *name, int nfc)
{
    const json_t *v = json_object_get(c->item, name);
    char *s = NULL;

    if (nfc) {
        if (rec_get_text(c->item, name, &s) == FIELD_BAD &&
            (json_is_string(v) || json_is_integer(v)))
            c->oom = 1; /* jansson strings are valid UTF-8: only memory can fail here */
        return s;
    }
    if (json_is_string(v) && json_string_length(v) > 0)
        s = rec_json_string(v);
    else if (json_is_integer(v))
        s = xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        return NULL;
    if (!s)
        c->oom = 1;
    return s;
}

static char *pk_iso(struct pctx *c, const char *iso)
{
    if (!iso[0])
        return NULL;
    char *s = xstrdup(iso);
    if (!s)
        c->oom = 1;
    return s;
}

static char *pk_dump(const json_t *item)
{
    return rec_json_dump(item);
}

static void pk_record_free(struct record *r)
{
    for (size_t i = 0; i < REC_MAX_COLS; i++)
        sfree(r->col[i]);
    sfree(r->key);
    sfree(r->raw);
}

/*
 * Ends one item: offers its position to the cursor (good or bad: the cursor follows the
 * server's sort order, and a quarantined record must not be fetched again), then appends
 * the record or the reject. Takes ownership of key and r's strings.
 */
static int pk_finish(struct pctx *c, struct record_batch *out, char *key, struct record *r)
{
    /* A keyless item still has a time: as (time, "") it keeps a page of keyless records
     * from stalling the cursor (the server's updated-from is inclusive, so nothing at
     * that time with a key is skipped). */
    if (!c->oom && c->updated_raw[0])
        rec_batch_offer_cursor(out, c->updated_raw, key ? key : "");

    if (!c->oom && !c->failed) {
        r->key = key;
        key = NULL;
        r->raw = pk_dump(c->item);
        if (!r->raw)
            c->oom = 1;
        else if (rec_batch_add(out, r) < 0)
            c->oom = 1;
    } else if (!c->oom) {
        struct reject j = {0};
        j.key = key;
        key = NULL;
        j.reason = c->reason;
        j.detail = c->detail;
        c->detail = NULL;
        if (c->updated_iso[0]) {
            j.updated = xstrdup(c->updated_iso);
            if (!j.updated)
                c->oom = 1;
        }
        j.raw = pk_dump(c->item);
        if (!j.raw)
            c->oom = 1;
        if (c->oom) {
            free(j.key);
            free(j.updated);
            free(j.detail);
            free(j.raw);
        } else if (rec_batch_reject(out, &j) < 0) {
            c->oom = 1;
        }
    }
    pk_record_free(r);
    free(key);
    free(c->detail);
    c->detail = NULL;
    return c->oom ? -1 : 0;
}

/* Not an object: nothing inside can be trusted, not even for the cursor. */
static int pk_bad_json(struct pctx *c, struct record_batch *out)
{
    struct record r = {0};
    pk_fail(c, REASON_BAD_JSON, "item is %s, not an object", pk_type_name(c->item));
    return pk_finish(c, out, NULL, &r);
}

static int pk_status_needs_receipt(long st)
{
    return st != 1 && st != 3;
}

static int pk_status_finished(long st)
{
    return st == 7 || st == 9 || st == 10;
}

int adp_parse_dossier(const json_t *item, struct record_batch *out)
{
    static const char *const supplement_dates[] = {"NgayBoSung", "NgayTiepNhanBoSung",
                                                   "NgayHenTraTruoc", "NgayHenTraMoi"};
    static const char *const apology_dates[] = {"NgayXinLoi", "NgayHenTraMoi"};
    struct pctx c;
    struct record r = {0};
    char *key = NULL;
    long status = 0, channel = 1, level = 0, by_post = 0;
    enum rec_field level_f;
    char received[20], due[20], processed[20], returned[20], refused[20], updated[20];

    pk_init(&c, item);
    if (!json_is_object(item))
        return pk_bad_json(&c, out);

    /* missing_key */
    key = pk_key(&c, "MaHoSo");
    r.col[DC_PROC_CODE] = pk_key(&c, "MaTTHC");
    r.col[DC_AGENCY] = pk_key(&c, "MaDonVi");
    pk_require(&c, "TrangThaiHoSo");
    pk_require(&c, "NgayCapNhat");

    /* bad_code */
    pk_agency_code(&c, r.col[DC_AGENCY]);
    pk_code(&c, "TrangThaiHoSo", 1, 10, &status);
    pk_code(&c, "KenhThucHien", 1, 3, &channel);
    level_f = pk_code(&c, "MucDo", 2, 4, &level);
    pk_code(&c, "HinhThuc", 0, 1, &by_post);

    /* bad_date */
    pk_date(&c, item, "", "NgayCapNhat", updated);
    pk_date(&c, item, "", "NgayTiepNhan", received);
    pk_date(&c, item, "", "NgayHenTra", due);
    pk_date(&c, item, "", "NgayKetThucXuLy", processed);
    pk_date(&c, item, "", "NgayTra", returned);
    pk_date(&c, item, "", "NgayTuChoi", refused);
    if (!pk_stop(&c)) {
        pk_nested_dates(&c, "DanhSachHoSoBoSung", supplement_dates, ARRAY_LEN(supplement_dates));
        pk_nested_dates(&c, "PhieuXinLoi", apology_dates, ARRAY_LEN(apology_dates));
    }

    /* consistency of the status with its dates */
    const char *finish = processed[0] ? processed : returned;
    if (!pk_stop(&c)) {
        if (pk_status_needs_receipt(status) && !received[0])
            pk_fail(&c, REASON_MISSING_RECEIPT, "TrangThaiHoSo %ld without NgayTiepNhan", status);
        else if (pk_status_finished(status) && !finish[0])
            pk_fail(&c, REASON_MISSING_FINISH,
                    "TrangThaiHoSo %ld without NgayKetThucXuLy or NgayTra", status);
        else if (pk_status_finished(status) && strcmp(finish, received) < 0)
            pk_fail(&c, REASON_FINISH_BEFORE_RECEIPT, "%s %s is before NgayTiepNhan %s",
                    processed[0] ? "NgayKetThucXuLy" : "NgayTra", finish, received);
    }

    if (!pk_stop(&c)) {
        const json_t *apologies = json_object_get(item, "PhieuXinLoi");
        size_t napologies = json_is_array(apologies) ? json_array_size(apologies) : 0;

        r.col[DC_CODE] = xstrdup(key);
        if (!r.col[DC_CODE])
            c.oom = 1;
        r.col[DC_PROC_NAME] = pk_text(&c, "TenTTHC", 1);
        r.col[DC_FIELD_CODE] = pk_text(&c, "MaLinhVuc", 0);
        r.col[DC_FIELD_NAME] = pk_text(&c, "TenLinhVuc", 1);
        r.col[DC_AGENCY_NAME] = pk_text(&c, "DonViXuLy", 1);
        r.col[DC_CHANNEL] = pk_long(&c, channel);
        r.col[DC_LEVEL] = level_f == FIELD_OK ? pk_long(&c, level) : NULL;
        r.col[DC_STATUS] = pk_long(&c, status);
        r.col[DC_RECEIVED_AT] = pk_iso(&c, received);
        r.col[DC_DUE_AT] = pk_iso(&c, due);
        r.col[DC_FINISHED_AT] = pk_iso(&c, finish);
        r.col[DC_RETURNED_AT] = pk_iso(&c, returned);
        r.col[DC_REFUSED_AT] = pk_iso(&c, refused);
        r.col[DC_RETURN_BY_POST] = pk_long(&c, by_post);
        r.col[DC_APOLOGIES] = pk_long(&c, (long)napologies);
        r.col[DC_UPDATED_AT] = pk_iso(&c, updated);
    }
    return pk_finish(&c, out, key, &r);
}

int adp_parse_procedure(const json_t *item, struct record_batch *out)
{
    struct pctx c;
    struct record r = {0};
    char *key = NULL;
    long level = 0, postal = 0, fee = 0;
    char updated[20];

    pk_init(&c, item);
    if (!json_is_object(item))
        return pk_bad_json(&c, out);

    /* missing_key */
    r.col[PC_PROC_CODE] = pk_key(&c, "MaTTHC");
    r.col[PC_AGENCY] = pk_key(&c, "MaDonVi");
    pk_require(&c, "MucDo");
    pk_require(&c, "NgayCapNhat");
    if (r.col[PC_PROC_CODE] && r.col[PC_AGENCY]) {
        /* The same procedure is listed once per agency offering it. */
        key = xasprintf("%s|%s", r.col[PC_PROC_CODE], r.col[PC_AGENCY]);
        if (!key)
            c.oom = 1;
    }

    /* bad_code */
    pk_agency_code(&c, r.col[PC_AGENCY]);
    pk_code(&c, "MucDo", 2, 4, &level);
    pk_code(&c, "BuuChinhCongIch", 0, 1, &postal);
    pk_code(&c, "CoPhiLePhi", 0, 1, &fee);

    /* bad_date */
    pk_date(&c, item, "", "NgayCapNhat", updated);

    if (!pk_stop(&c)) {
        r.col[PC_NAME] = pk_text(&c, "TenTTHC", 1);
        r.col[PC_FIELD_CODE] = pk_text(&c, "MaLinhVuc", 0);
        r.col[PC_LEVEL] = pk_long(&c, level);
        r.col[PC_POSTAL] = pk_long(&c, postal);
        r.col[PC_FEE] = pk_long(&c, fee);
        r.col[PC_UPDATED_AT] = pk_iso(&c, updated);
    }
    return pk_finish(&c, out, key, &r);
}

/* An amount (Fee, CODAmount): an integer or a digit string; anything else is not a reason
 * to quarantine a shipment, it is just unknown. */
static char *pk_amount(struct pctx *c, const char *name)
{
    long v;
    if (rec_get_code(c->item, name, LONG_MIN, LONG_MAX, &v) != FIELD_OK)
        return NULL;
    return pk_long(c, v);
}

int adp_parse_shipment(const json_t *item, struct record_batch *out)
{
    struct pctx c;
    struct record r = {0};
    char *key = NULL;
    long direction = 0, status = 0;
    enum rec_field status_f;
    char accepted[20], delivered[20], updated[20];

    pk_init(&c, item);
    if (!json_is_object(item))
        return pk_bad_json(&c, out);

    /* missing_key */
    key = pk_key(&c, "ItemCode");
    r.col[SC_ORDER_NUMBER] = pk_key(&c, "OrderNumber");
    pk_require(&c, "Direction");
    pk_require(&c, "NgayCapNhat");

    /* bad_code: StatusCode may be any integer; unknown ones count as in transit. One too
     * long for the bigint column is kept as unknown (NULL), which counts the same way. */
    pk_code(&c, "Direction", 1, 2, &direction);
    const json_t *sc = json_object_get(item, "StatusCode");
    if (json_is_string(sc) && json_string_length(sc) > 18 &&
        strspn(json_string_value(sc), "0123456789") == json_string_length(sc))
        status_f = FIELD_ABSENT;
    else
        status_f = pk_code(&c, "StatusCode", LONG_MIN, LONG_MAX, &status);

    /* bad_date */
    pk_date(&c, item, "", "NgayCapNhat", updated);
    pk_date(&c, item, "", "AcceptedDate", accepted);
    pk_date(&c, item, "", "DeliveredDate", delivered);

    if (!pk_stop(&c)) {
        r.col[SC_ITEM_CODE] = xstrdup(key);
        if (!r.col[SC_ITEM_CODE])
            c.oom = 1;
        r.col[SC_DIRECTION] = pk_long(&c, direction);
        r.col[SC_STATUS_CODE] = status_f == FIELD_OK ? pk_long(&c, status) : NULL;
        r.col[SC_ACCEPTED_AT] = pk_iso(&c, accepted);
        r.col[SC_DELIVERED_AT] = pk_iso(&c, delivered);
        r.col[SC_SENDER_PROVINCE] = pk_text(&c, "SenderProvince", 0);
        r.col[SC_RECEIVER_PROVINCE] = pk_text(&c, "ReceiverProvince", 0);
        r.col[SC_FEE] = pk_amount(&c, "Fee");
        r.col[SC_COD_AMOUNT] = pk_amount(&c, "CODAmount");
        r.col[SC_UPDATED_AT] = pk_iso(&c, updated);
    }
    return pk_finish(&c, out, key, &r);
}
