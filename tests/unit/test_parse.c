/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of record.c and parse.c: the metrics.md quarantine rules, one by one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "record.h"

/* "Sở Xây dựng" precomposed (NFC) and decomposed (NFD). */
#define AGENCY_NFC "S\xe1\xbb\x9f X\xc3\xa2y d\xe1\xbb\xb1ng"
#define AGENCY_NFD "So\xcc\x9b\xcc\x89 Xa\xcc\x82y du\xcc\x9b\xcc\xa3ng"

/* The example record of feeds.md. */
static const char example_json[] =
    "{\"MaHoSo\":\"000.00.12.H12-220103-0007\",\"MaTTHC\":\"1.004222.000.00.00.H12\","
    "\"TenTTHC\":\"Cấp Giấy chứng nhận đăng ký hoạt động khoa học và công nghệ\","
    "\"MaLinhVuc\":\"KHCN01\",\"TenLinhVuc\":\"Hoạt động khoa học và công nghệ\","
    "\"MaDonVi\":\"000.00.12.H12\",\"DonViXuLy\":\"Sở Khoa học và Công nghệ\","
    "\"KenhThucHien\":\"2\",\"MucDo\":\"4\",\"TrangThaiHoSo\":\"10\","
    "\"NgayTiepNhan\":\"20220103083000\",\"NgayHenTra\":\"20220117170000\","
    "\"NgayKetThucXuLy\":\"20220114101500\",\"NgayTra\":\"20220114150000\",\"HinhThuc\":\"1\","
    "\"DanhSachHoSoBoSung\":[],\"NgayCapNhat\":\"20220114150000\"}";

static json_t *jparse(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
    if (!j)
        fail_msg("bad test JSON: %s: %s", e.text, s);
    return j;
}

static json_t *example(void)
{
    return jparse(example_json);
}

/* A dossier in status 4 with only what that status needs. */
static json_t *minimal(void)
{
    return jparse("{\"MaHoSo\":\"H-1\",\"MaTTHC\":\"P-1\",\"MaDonVi\":\"A-1\","
                  "\"TrangThaiHoSo\":\"4\",\"NgayTiepNhan\":\"20220103083000\","
                  "\"NgayCapNhat\":\"20220104090000\"}");
}

static void set(json_t *o, const char *key, json_t *v)
{
    assert_int_equal(json_object_set_new(o, key, v), 0);
}

static void set_raw(json_t *o, const char *key, const char *json)
{
    set(o, key, jparse(json));
}

enum kind { DOSSIER, PROCEDURE, SHIPMENT };

/* Parses item (consumed) into b, which must then hold exactly one record or reject. */
static void parse_into(enum kind k, json_t *item, struct record_batch *b)
{
    int rc = k == DOSSIER     ? adp_parse_dossier(item, b)
             : k == PROCEDURE ? adp_parse_procedure(item, b)
                              : adp_parse_shipment(item, b);
    json_decref(item);
    assert_int_equal(rc, 0);
    assert_int_equal(b->nrecs + b->nrejs, 1);
}

/* The reason item is quarantined with, or -1 when it is accepted. The detail (if asked) is
 * copied out. */
static int reason_of(enum kind k, json_t *item, char *detail, size_t len)
{
    struct record_batch b;
    int r = -1;

    rec_batch_init(&b, FEED_DOSSIER);
    parse_into(k, item, &b);
    if (b.nrejs) {
        r = (int)b.rejs[0].reason;
        assert_non_null(b.rejs[0].detail);
        assert_non_null(b.rejs[0].raw);
        if (detail)
            snprintf(detail, len, "%s", b.rejs[0].detail);
    }
    rec_batch_clear(&b);
    return r;
}

static int dossier_reason(json_t *item)
{
    return reason_of(DOSSIER, item, NULL, 0);
}

/* Accepts item as a dossier and returns a copy of column col (NULL for SQL NULL). */
static char *dossier_col(json_t *item, int col)
{
    struct record_batch b;
    char *v;

    rec_batch_init(&b, FEED_DOSSIER);
    parse_into(DOSSIER, item, &b);
    if (b.nrejs)
        fail_msg("rejected: %s", b.rejs[0].detail);
    v = b.recs[0].col[col] ? strdup(b.recs[0].col[col]) : NULL;
    rec_batch_clear(&b);
    return v;
}

static void assert_col(json_t *item, int col, const char *want)
{
    char *v = dossier_col(item, col);
    if (want)
        assert_string_equal(v, want);
    else
        assert_null(v);
    free(v);
}

/* ---- the feeds.md example ---- */

static void test_example_record(void **state)
{
    struct record_batch b;
    rec_batch_init(&b, FEED_DOSSIER);
    parse_into(DOSSIER, example(), &b);
    assert_int_equal(b.nrecs, 1);

    struct record *r = &b.recs[0];
    assert_string_equal(r->key, "000.00.12.H12-220103-0007");
    assert_string_equal(r->col[DC_CODE], "000.00.12.H12-220103-0007");
    assert_string_equal(r->col[DC_PROC_CODE], "1.004222.000.00.00.H12");
    assert_string_equal(r->col[DC_PROC_NAME],
                        "Cấp Giấy chứng nhận đăng ký hoạt động khoa học và công nghệ");
    assert_string_equal(r->col[DC_FIELD_CODE], "KHCN01");
    assert_string_equal(r->col[DC_FIELD_NAME], "Hoạt động khoa học và công nghệ");
    assert_string_equal(r->col[DC_AGENCY], "000.00.12.H12");
    assert_string_equal(r->col[DC_AGENCY_NAME], "Sở Khoa học và Công nghệ");
    assert_string_equal(r->col[DC_CHANNEL], "2");
    assert_string_equal(r->col[DC_LEVEL], "4");
    assert_string_equal(r->col[DC_STATUS], "10");
    assert_string_equal(r->col[DC_RECEIVED_AT], "2022-01-03 08:30:00");
    assert_string_equal(r->col[DC_DUE_AT], "2022-01-17 17:00:00");
    assert_string_equal(r->col[DC_FINISHED_AT], "2022-01-14 10:15:00");
    assert_string_equal(r->col[DC_RETURNED_AT], "2022-01-14 15:00:00");
    assert_null(r->col[DC_REFUSED_AT]);
    assert_string_equal(r->col[DC_RETURN_BY_POST], "1");
    assert_string_equal(r->col[DC_APOLOGIES], "0");
    assert_string_equal(r->col[DC_UPDATED_AT], "2022-01-14 15:00:00");
    for (size_t i = DC_NCOLS; i < REC_MAX_COLS; i++)
        assert_null(r->col[i]);

    /* raw is compact and keeps UTF-8 as is (no \u escapes) */
    assert_non_null(strstr(r->raw, "\"DonViXuLy\":\"Sở Khoa học và Công nghệ\""));
    assert_null(strstr(r->raw, "\\u"));
    assert_null(strchr(r->raw, '\n'));
    json_t *back = jparse(r->raw);
    json_t *orig = example();
    assert_true(json_equal(back, orig));
    json_decref(back);
    json_decref(orig);

    assert_string_equal(b.cursor_time, "20220114150000");
    assert_string_equal(b.cursor_key, "000.00.12.H12-220103-0007");
    rec_batch_clear(&b);
}

/* A \u0000 is legal JSON but no PostgreSQL text or jsonb value can hold it: the record
 * is kept, with U+FFFD in its text columns and \ufffd in its raw JSON. */
static void test_nul_in_strings(void **state)
{
    static const char text[] = "{\"MaHoSo\":\"H\\u0000-1\",\"MaTTHC\":\"P-1\",\"MaDonVi\":\"A-1\","
                               "\"DonViXuLy\":\"S\\u0000X\",\"ChuHoSo\":\"a\\u0000b \\\\u0000 c\","
                               "\"TrangThaiHoSo\":\"4\",\"NgayTiepNhan\":\"20220103083000\","
                               "\"NgayCapNhat\":\"20220104090000\"}";
    json_error_t e;
    json_t *item = json_loads(text, JSON_ALLOW_NUL, &e);
    struct record_batch b;

    assert_non_null(item);
    rec_batch_init(&b, FEED_DOSSIER);
    parse_into(DOSSIER, item, &b);
    assert_int_equal(b.nrecs, 1);
    assert_string_equal(b.recs[0].col[DC_CODE], "H\xEF\xBF\xBD-1");
    assert_string_equal(b.recs[0].col[DC_AGENCY_NAME], "S\xEF\xBF\xBDX");
    assert_null(strstr(b.recs[0].raw, "\\u0000\""));
    assert_non_null(strstr(b.recs[0].raw, "\"a\\ufffdb \\\\u0000 c\""));
    rec_batch_clear(&b);
    (void)state;
}

/* ---- codes ---- */

static void test_codes_as_numbers_and_strings(void **state)
{
    json_t *d;

    d = minimal();
    set(d, "TrangThaiHoSo", json_integer(4));
    assert_col(d, DC_STATUS, "4");

    d = minimal();
    set_raw(d, "TrangThaiHoSo", "\"04\"");
    assert_col(d, DC_STATUS, "4");

    d = minimal();
    set(d, "KenhThucHien", json_integer(3));
    assert_col(d, DC_CHANNEL, "3");

    d = minimal();
    set_raw(d, "KenhThucHien", "\"02\"");
    assert_col(d, DC_CHANNEL, "2");

    d = minimal();
    set_raw(d, "MucDo", "\"003\"");
    assert_col(d, DC_LEVEL, "3");

    d = minimal();
    set(d, "HinhThuc", json_integer(1));
    assert_col(d, DC_RETURN_BY_POST, "1");

    d = minimal();
    set_raw(d, "HinhThuc", "\"0\"");
    assert_col(d, DC_RETURN_BY_POST, "0");
}

static void test_bad_code_values(void **state)
{
    static const char *const bad[] = {"\" 2\"",
                                      "\"2 \"",
                                      "\"2a\"",
                                      "\"+2\"",
                                      "\"-2\"",
                                      "2.5",
                                      "2.0",
                                      "true",
                                      "false",
                                      "[2]",
                                      "{}",
                                      "\"２\"",
                                      "\"99999999999999999999999\""};
    char detail[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *d = minimal();
        set_raw(d, "KenhThucHien", bad[i]);
        assert_int_equal(reason_of(DOSSIER, d, detail, sizeof(detail)), REASON_BAD_CODE);
        assert_non_null(strstr(detail, "KenhThucHien: "));
        assert_non_null(strstr(detail, "is not a code"));
    }
    json_t *d = minimal();
    set_raw(d, "KenhThucHien", "\"2a\"");
    assert_int_equal(reason_of(DOSSIER, d, detail, sizeof(detail)), REASON_BAD_CODE);
    assert_string_equal(detail, "KenhThucHien: \"2a\" is not a code");
}

static void test_codes_outside_their_list(void **state)
{
    static const struct {
        const char *key, *value, *detail;
    } cases[] = {
        {"TrangThaiHoSo", "\"11\"", "TrangThaiHoSo: \"11\" is outside 1..10"},
        {"TrangThaiHoSo", "0", "TrangThaiHoSo: 0 is outside 1..10"},
        {"TrangThaiHoSo", "-1", "TrangThaiHoSo: -1 is outside 1..10"},
        {"KenhThucHien", "\"0\"", "KenhThucHien: \"0\" is outside 1..3"},
        {"KenhThucHien", "4", "KenhThucHien: 4 is outside 1..3"},
        {"HinhThuc", "2", "HinhThuc: 2 is outside 0..1"},
        {"MucDo", "\"1\"", "MucDo: \"1\" is outside 2..4"},
        {"MucDo", "5", "MucDo: 5 is outside 2..4"},
    };
    char detail[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *d = minimal();
        set_raw(d, cases[i].key, cases[i].value);
        assert_int_equal(reason_of(DOSSIER, d, detail, sizeof(detail)), REASON_BAD_CODE);
        assert_string_equal(detail, cases[i].detail);
    }
}

/* ALL is the province total: an agency with that code is refused, after missing keys. */
static void test_agency_all_reserved(void **state)
{
    char detail[256];
    json_t *d = minimal();
    set(d, "MaDonVi", json_string("ALL"));
    assert_int_equal(reason_of(DOSSIER, d, detail, sizeof detail), REASON_BAD_CODE);
    assert_string_equal(detail, "MaDonVi: \"ALL\" is reserved for the province total");
    d = minimal();
    set(d, "MaDonVi", json_string("ALL"));
    json_object_del(d, "TrangThaiHoSo");
    assert_int_equal(reason_of(DOSSIER, d, NULL, 0), REASON_MISSING_KEY);
    (void)state;
}

static void test_optional_code_defaults(void **state)
{
    static const char *const absent[] = {NULL, "null", "\"\""};

    for (size_t i = 0; i < 3; i++) {
        json_t *d = minimal();
        if (absent[i]) {
            set_raw(d, "KenhThucHien", absent[i]);
            set_raw(d, "HinhThuc", absent[i]);
            set_raw(d, "MucDo", absent[i]);
        }
        struct record_batch b;
        rec_batch_init(&b, FEED_DOSSIER);
        parse_into(DOSSIER, d, &b);
        assert_int_equal(b.nrecs, 1);
        assert_string_equal(b.recs[0].col[DC_CHANNEL], "1");
        assert_string_equal(b.recs[0].col[DC_RETURN_BY_POST], "0");
        assert_null(b.recs[0].col[DC_LEVEL]);
        assert_string_equal(b.recs[0].col[DC_APOLOGIES], "0");
        rec_batch_clear(&b);
    }
}

/* ---- missing keys ---- */

static void test_missing_keys(void **state)
{
    static const char *const keys[] = {"MaHoSo", "MaTTHC", "MaDonVi", "TrangThaiHoSo",
                                       "NgayCapNhat"};
    static const char *const absent[] = {NULL, "null", "\"\""};
    char detail[256], want[64];

    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        for (size_t a = 0; a < 3; a++) {
            json_t *d = minimal();
            if (absent[a])
                set_raw(d, keys[k], absent[a]);
            else
                json_object_del(d, keys[k]);
            assert_int_equal(reason_of(DOSSIER, d, detail, sizeof(detail)), REASON_MISSING_KEY);
            snprintf(want, sizeof(want), "%s is missing", keys[k]);
            assert_string_equal(detail, want);
        }
    }
}

static void test_key_types(void **state)
{
    struct record_batch b;
    char detail[256];
    json_t *d;

    /* an integer key is rendered in decimal */
    d = minimal();
    set(d, "MaHoSo", json_integer(120034));
    set(d, "MaDonVi", json_integer(7));
    rec_batch_init(&b, FEED_DOSSIER);
    parse_into(DOSSIER, d, &b);
    assert_int_equal(b.nrecs, 1);
    assert_string_equal(b.recs[0].key, "120034");
    assert_string_equal(b.recs[0].col[DC_CODE], "120034");
    assert_string_equal(b.recs[0].col[DC_AGENCY], "7");
    assert_string_equal(b.cursor_key, "120034");
    rec_batch_clear(&b);

    /* a key of another type cannot identify the record */
    d = minimal();
    set(d, "MaHoSo", json_true());
    assert_int_equal(reason_of(DOSSIER, d, detail, sizeof(detail)), REASON_MISSING_KEY);
    assert_string_equal(detail, "MaHoSo: true is not a string or an integer");

    d = minimal();
    set_raw(d, "MaTTHC", "{\"Ma\":\"P-1\"}");
    assert_int_equal(dossier_reason(d), REASON_MISSING_KEY);

    /* key fields are kept byte for byte (not normalised, not trimmed) */
    d = minimal();
    set(d, "MaHoSo", json_string(" H-1 "));
    assert_col(d, DC_CODE, " H-1 ");
}

/* ---- dates ---- */

static void test_absent_dates_are_null(void **state)
{
    json_t *d;

    d = minimal();
    assert_col(d, DC_DUE_AT, NULL);

    d = minimal();
    set(d, "NgayHenTra", json_null());
    assert_col(d, DC_DUE_AT, NULL);

    d = minimal();
    set(d, "NgayHenTra", json_string(""));
    assert_col(d, DC_DUE_AT, NULL);

    d = minimal();
    set(d, "NgayTuChoi", json_null());
    set(d, "NgayKetThucXuLy", json_string(""));
    set(d, "NgayTra", json_null());
    assert_col(d, DC_FINISHED_AT, NULL);
}

static void test_impossible_dates(void **state)
{
    static const char *const bad[] = {
        "\"20220230083000\"",  /* 30 February */
        "\"20210229083000\"",  /* not a leap year */
        "\"20221301083000\"",  /* month 13 */
        "\"20220001083000\"",  /* month 0 */
        "\"20220100083000\"",  /* day 0 */
        "\"20220131083000x\"", /* 15 characters */
        "\"2022013108300\"",   /* 13 digits */
        "\"20220101246000\"",  /* 24:60 */
        "\"20220101240000\"",  /* hour 24 */
        "\"20220101236000\"",  /* minute 60 */
        "\"20220101235960\"",  /* second 60 */
        "\"2022-01-01 08:30\"",
        "\" 2022010108300\"",
        "\"2022010108300a\"",
        "2022",
        "20220230083000", /* an impossible date as a number */
        "2.0220103083e13",
        "true",
        "[]",
    };
    static const char *const fields[] = {"NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy",
                                         "NgayTra",      "NgayTuChoi", "NgayCapNhat"};
    char detail[256];

    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            json_t *d = minimal();
            set_raw(d, fields[f], bad[i]);
            assert_int_equal(reason_of(DOSSIER, d, detail, sizeof(detail)), REASON_BAD_DATE);
            assert_true(strncmp(detail, fields[f], strlen(fields[f])) == 0);
            assert_non_null(strstr(detail, "is not a valid yyyyMMddHHmmss date"));
        }
    }
    json_t *d = minimal();
    set_raw(d, "NgayHenTra", "\"20220230170000\"");
    assert_int_equal(reason_of(DOSSIER, d, detail, sizeof(detail)), REASON_BAD_DATE);
    assert_string_equal(detail,
                        "NgayHenTra: \"20220230170000\" is not a valid yyyyMMddHHmmss date");
}

static void test_valid_dates(void **state)
{
    json_t *d;

    d = minimal();
    set(d, "NgayHenTra", json_string("20200229235959")); /* leap day */
    assert_col(d, DC_DUE_AT, "2020-02-29 23:59:59");

    d = minimal();
    set(d, "NgayHenTra", json_string("20221231000000"));
    assert_col(d, DC_DUE_AT, "2022-12-31 00:00:00");

    /* a 14-digit JSON integer is the same date */
    d = minimal();
    set(d, "NgayHenTra", json_integer(20220117170000LL));
    assert_col(d, DC_DUE_AT, "2022-01-17 17:00:00");
}

static void test_nested_dates(void **state)
{
    char detail[256];
    json_t *d;

    d = minimal();
    set_raw(d, "DanhSachHoSoBoSung",
            "[{\"NgayBoSung\":\"20220105080000\",\"NgayTiepNhanBoSung\":\"20220106080000\","
            "\"NgayHenTraTruoc\":\"20220110170000\",\"NgayHenTraMoi\":\"20220231170000\"}]");
    assert_int_equal(reason_of(DOSSIER, d, detail, sizeof(detail)), REASON_BAD_DATE);
    assert_string_equal(detail, "DanhSachHoSoBoSung[0].NgayHenTraMoi: \"20220231170000\" is "
                                "not a valid yyyyMMddHHmmss date");

    static const char *const supplement_keys[] = {"NgayBoSung", "NgayTiepNhanBoSung",
                                                  "NgayHenTraTruoc", "NgayHenTraMoi"};
    for (size_t i = 0; i < 4; i++) {
        d = minimal();
        json_t *round = json_object();
        set(round, supplement_keys[i], json_string("20221301000000"));
        json_t *list = jparse("[{\"NgayBoSung\":\"20220105080000\"}]");
        json_array_append_new(list, round);
        set(d, "DanhSachHoSoBoSung", list);
        assert_int_equal(reason_of(DOSSIER, d, detail, sizeof(detail)), REASON_BAD_DATE);
        assert_non_null(strstr(detail, "DanhSachHoSoBoSung[1]."));
        assert_non_null(strstr(detail, supplement_keys[i]));
    }

    static const char *const apology_keys[] = {"NgayXinLoi", "NgayHenTraMoi"};
    for (size_t i = 0; i < 2; i++) {
        d = minimal();
        json_t *slip = json_object();
        set(slip, apology_keys[i], json_string("20220101246000"));
        set(slip, "LyDo", json_string("Chờ ý kiến"));
        json_t *list = json_array();
        json_array_append_new(list, slip);
        set(d, "PhieuXinLoi", list);
        assert_int_equal(reason_of(DOSSIER, d, detail, sizeof(detail)), REASON_BAD_DATE);
        assert_non_null(strstr(detail, "PhieuXinLoi[0]."));
        assert_non_null(strstr(detail, apology_keys[i]));
    }

    /* absent nested dates are fine; lists that are not arrays carry no dates */
    d = minimal();
    set_raw(d, "DanhSachHoSoBoSung",
            "[{\"NgayBoSung\":null,\"NgayHenTraMoi\":\"\"},\"junk\",null,{}]");
    set_raw(d, "PhieuXinLoi", "[{\"NgayXinLoi\":\"20220105080000\",\"NgayHenTraMoi\":null}]");
    assert_int_equal(dossier_reason(d), -1);

    d = minimal();
    set_raw(d, "DanhSachHoSoBoSung", "{\"NgayBoSung\":\"20229999999999\"}");
    set_raw(d, "PhieuXinLoi", "\"20229999999999\"");
    assert_int_equal(dossier_reason(d), -1);
}

/* ---- status against dates ---- */

static void test_missing_receipt(void **state)
{
    static const int needs[] = {2, 4, 5, 6, 7, 8, 9, 10};
    char detail[256], want[80];

    for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++) {
        json_t *d = minimal();
        set(d, "TrangThaiHoSo", json_integer(needs[i]));
        json_object_del(d, "NgayTiepNhan");
        set(d, "NgayKetThucXuLy", json_string("20220110080000"));
        assert_int_equal(reason_of(DOSSIER, d, detail, sizeof(detail)), REASON_MISSING_RECEIPT);
        snprintf(want, sizeof(want), "TrangThaiHoSo %d without NgayTiepNhan", needs[i]);
        assert_string_equal(detail, want);

        d = minimal();
        set(d, "TrangThaiHoSo", json_integer(needs[i]));
        set(d, "NgayTiepNhan", json_null());
        set(d, "NgayKetThucXuLy", json_string("20220110080000"));
        assert_int_equal(dossier_reason(d), REASON_MISSING_RECEIPT);
    }

    /* 1 (not yet received) and 3 (refused at intake) need no receipt */
    json_t *d = minimal();
    set_raw(d, "TrangThaiHoSo", "\"1\"");
    json_object_del(d, "NgayTiepNhan");
    assert_col(d, DC_RECEIVED_AT, NULL);

    d = minimal();
    set_raw(d, "TrangThaiHoSo", "3");
    json_object_del(d, "NgayTiepNhan");
    set(d, "NgayTuChoi", json_string("20220103090000"));
    assert_col(d, DC_REFUSED_AT, "2022-01-03 09:00:00");
}

static void test_missing_finish(void **state)
{
    static const int finished[] = {7, 9, 10};
    char detail[256], want[80];

    for (size_t i = 0; i < 3; i++) {
        json_t *d = minimal();
        set(d, "TrangThaiHoSo", json_integer(finished[i]));
        set(d, "NgayTra", json_string(""));
        assert_int_equal(reason_of(DOSSIER, d, detail, sizeof(detail)), REASON_MISSING_FINISH);
        snprintf(want, sizeof(want), "TrangThaiHoSo %d without NgayKetThucXuLy or NgayTra",
                 finished[i]);
        assert_string_equal(detail, want);
    }
    /* the other statuses need no finish */
    for (int st = 1; st <= 8; st++) {
        if (st == 7)
            continue;
        json_t *d = minimal();
        set(d, "TrangThaiHoSo", json_integer(st));
        assert_int_equal(dossier_reason(d), -1);
    }
}

static void test_finish_from_ngaytra(void **state)
{
    json_t *d = minimal();
    set(d, "TrangThaiHoSo", json_integer(10));
    set(d, "NgayTra", json_string("20220110150000"));
    assert_col(d, DC_FINISHED_AT, "2022-01-10 15:00:00");

    d = minimal();
    set(d, "TrangThaiHoSo", json_integer(10));
    set(d, "NgayTra", json_string("20220110150000"));
    assert_col(d, DC_RETURNED_AT, "2022-01-10 15:00:00");

    /* NgayKetThucXuLy wins when both are there */
    d = minimal();
    set(d, "TrangThaiHoSo", json_integer(10));
    set(d, "NgayKetThucXuLy", json_string("20220109100000"));
    set(d, "NgayTra", json_string("20220110150000"));
    assert_col(d, DC_FINISHED_AT, "2022-01-09 10:00:00");
}

static void test_finish_before_receipt(void **state)
{
    char detail[256];
    json_t *d;

    /* receipt 2022-01-03 10:00; a finish at 09:00 the same day is impossible */
    d = minimal();
    set(d, "NgayTiepNhan", json_string("20220103100000"));
    set(d, "TrangThaiHoSo", json_integer(9));
    set(d, "NgayKetThucXuLy", json_string("20220103090000"));
    assert_int_equal(reason_of(DOSSIER, d, detail, sizeof(detail)), REASON_FINISH_BEFORE_RECEIPT);
    assert_string_equal(detail,
                        "NgayKetThucXuLy 2022-01-03 09:00:00 is before NgayTiepNhan 2022-01-03 "
                        "10:00:00");

    /* ... at 11:00 it is fine, and so is the very same second */
    d = minimal();
    set(d, "NgayTiepNhan", json_string("20220103100000"));
    set(d, "TrangThaiHoSo", json_integer(9));
    set(d, "NgayKetThucXuLy", json_string("20220103110000"));
    assert_int_equal(dossier_reason(d), -1);

    d = minimal();
    set(d, "NgayTiepNhan", json_string("20220103100000"));
    set(d, "TrangThaiHoSo", json_integer(7));
    set(d, "NgayKetThucXuLy", json_string("20220103100000"));
    assert_int_equal(dossier_reason(d), -1);

    /* one second earlier is not */
    d = minimal();
    set(d, "NgayTiepNhan", json_string("20220103100000"));
    set(d, "TrangThaiHoSo", json_integer(7));
    set(d, "NgayKetThucXuLy", json_string("20220103095959"));
    assert_int_equal(dossier_reason(d), REASON_FINISH_BEFORE_RECEIPT);

    /* the finish taken from NgayTra is checked the same way */
    d = minimal();
    set(d, "NgayTiepNhan", json_string("20220103100000"));
    set(d, "TrangThaiHoSo", json_integer(10));
    set(d, "NgayTra", json_string("20220102170000"));
    assert_int_equal(reason_of(DOSSIER, d, detail, sizeof(detail)), REASON_FINISH_BEFORE_RECEIPT);
    assert_string_equal(detail,
                        "NgayTra 2022-01-02 17:00:00 is before NgayTiepNhan 2022-01-03 10:00:00");

    /* an early NgayTra does not matter when NgayKetThucXuLy is the finish */
    d = minimal();
    set(d, "NgayTiepNhan", json_string("20220103100000"));
    set(d, "TrangThaiHoSo", json_integer(10));
    set(d, "NgayKetThucXuLy", json_string("20220104100000"));
    set(d, "NgayTra", json_string("20220102170000"));
    assert_int_equal(dossier_reason(d), -1);

    /* statuses outside {7,9,10} are not checked */
    d = minimal();
    set(d, "NgayTiepNhan", json_string("20220103100000"));
    set(d, "TrangThaiHoSo", json_integer(4));
    set(d, "NgayKetThucXuLy", json_string("20220101000000"));
    assert_int_equal(dossier_reason(d), -1);
}

/* ---- precedence ---- */

static void test_reason_precedence(void **state)
{
    json_t *d;

    /* missing key beats a bad code, a bad date and a missing receipt */
    d = minimal();
    json_object_del(d, "MaTTHC");
    set(d, "TrangThaiHoSo", json_string("11"));
    set(d, "NgayHenTra", json_string("20220230000000"));
    json_object_del(d, "NgayTiepNhan");
    assert_int_equal(dossier_reason(d), REASON_MISSING_KEY);

    /* a missing NgayCapNhat beats a bad code */
    d = minimal();
    json_object_del(d, "NgayCapNhat");
    set(d, "KenhThucHien", json_string("9"));
    assert_int_equal(dossier_reason(d), REASON_MISSING_KEY);

    /* bad code beats bad date */
    d = minimal();
    set(d, "HinhThuc", json_string("x"));
    set(d, "NgayTiepNhan", json_string("20221301000000"));
    assert_int_equal(dossier_reason(d), REASON_BAD_CODE);

    /* bad code beats a bad NgayCapNhat */
    d = minimal();
    set(d, "MucDo", json_integer(1));
    set(d, "NgayCapNhat", json_string("2022"));
    assert_int_equal(dossier_reason(d), REASON_BAD_CODE);

    /* bad date (even nested) beats missing receipt */
    d = minimal();
    json_object_del(d, "NgayTiepNhan");
    set_raw(d, "PhieuXinLoi", "[{\"NgayXinLoi\":\"x\"}]");
    assert_int_equal(dossier_reason(d), REASON_BAD_DATE);

    /* missing receipt beats missing finish */
    d = minimal();
    set(d, "TrangThaiHoSo", json_integer(9));
    json_object_del(d, "NgayTiepNhan");
    assert_int_equal(dossier_reason(d), REASON_MISSING_RECEIPT);
}

static void test_non_object_items(void **state)
{
    static const char *const items[] = {
        "[1,2]", "\"000.00.12.H12-220103-0007\"", "42", "null", "true", "2.5"};
    static const char *const types[] = {"an array", "a string",  "a number",
                                        "null",     "a boolean", "a number"};

    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        for (int k = DOSSIER; k <= SHIPMENT; k++) {
            struct record_batch b;
            char want[64];
            rec_batch_init(&b, FEED_DOSSIER);
            parse_into((enum kind)k, jparse(items[i]), &b);
            assert_int_equal(b.nrejs, 1);
            assert_int_equal(b.rejs[0].reason, REASON_BAD_JSON);
            assert_null(b.rejs[0].key);
            assert_null(b.rejs[0].updated);
            assert_string_equal(b.rejs[0].raw, items[i]);
            snprintf(want, sizeof(want), "item is %s, not an object", types[i]);
            assert_string_equal(b.rejs[0].detail, want);
            assert_string_equal(b.cursor_time, "");
            assert_null(b.cursor_key);
            rec_batch_clear(&b);
        }
    }
}

static void test_reject_fields(void **state)
{
    struct record_batch b;
    json_t *d = example();

    set(d, "TrangThaiHoSo", json_string("11"));
    rec_batch_init(&b, FEED_DOSSIER);
    parse_into(DOSSIER, d, &b);
    assert_int_equal(b.nrejs, 1);
    struct reject *j = &b.rejs[0];
    assert_int_equal(j->reason, REASON_BAD_CODE);
    assert_string_equal(rec_reason_name(j->reason), "bad_code");
    assert_string_equal(j->key, "000.00.12.H12-220103-0007");
    assert_string_equal(j->updated, "2022-01-14 15:00:00");
    assert_string_equal(j->detail, "TrangThaiHoSo: \"11\" is outside 1..10");
    assert_non_null(strstr(j->raw, "\"TrangThaiHoSo\":\"11\""));
    assert_non_null(strstr(j->raw, "Sở Khoa học"));
    /* a quarantined record still moves the cursor: the server has sent it */
    assert_string_equal(b.cursor_time, "20220114150000");
    assert_string_equal(b.cursor_key, "000.00.12.H12-220103-0007");
    rec_batch_clear(&b);

    /* no usable NgayCapNhat: no updated, no cursor */
    d = minimal();
    set(d, "NgayCapNhat", json_string("20220132000000"));
    rec_batch_init(&b, FEED_DOSSIER);
    parse_into(DOSSIER, d, &b);
    assert_int_equal(b.rejs[0].reason, REASON_BAD_DATE);
    assert_string_equal(b.rejs[0].key, "H-1");
    assert_null(b.rejs[0].updated);
    assert_null(b.cursor_key);
    rec_batch_clear(&b);

    /* no key: updated kept, and the time still moves the cursor (with an empty key) */
    d = minimal();
    json_object_del(d, "MaHoSo");
    rec_batch_init(&b, FEED_DOSSIER);
    parse_into(DOSSIER, d, &b);
    assert_int_equal(b.rejs[0].reason, REASON_MISSING_KEY);
    assert_null(b.rejs[0].key);
    assert_string_equal(b.rejs[0].updated, "2022-01-04 09:00:00");
    assert_string_equal(b.cursor_time, "20220104090000");
    assert_string_equal(b.cursor_key, "");
    rec_batch_clear(&b);

    /* a long offending value is cut in the detail, the raw keeps it */
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    d = minimal();
    set(d, "KenhThucHien", json_string(big));
    rec_batch_init(&b, FEED_DOSSIER);
    parse_into(DOSSIER, d, &b);
    assert_true(strlen(b.rejs[0].detail) < 120);
    assert_non_null(strstr(b.rejs[0].raw, big));
    rec_batch_clear(&b);
}

/* ---- names ---- */

static void test_names_nfc(void **state)
{
    struct record_batch b;
    json_t *d = minimal();

    set(d, "DonViXuLy", json_string(AGENCY_NFD));
    set(d, "TenLinhVuc", json_string("Ho\x61\xcc\xa3t \xc4\x91o\xcc\xa3\xcc\x82ng"));
    set(d, "TenTTHC", json_string(AGENCY_NFC));
    rec_batch_init(&b, FEED_DOSSIER);
    parse_into(DOSSIER, d, &b);
    assert_int_equal(b.nrecs, 1);
    const char *name = b.recs[0].col[DC_AGENCY_NAME];
    assert_int_equal(strlen(name), strlen(AGENCY_NFC));
    assert_memory_equal(name, AGENCY_NFC, strlen(AGENCY_NFC));
    assert_string_equal(b.recs[0].col[DC_FIELD_NAME], "Ho\xe1\xba\xa1t \xc4\x91\xe1\xbb\x99ng");
    assert_string_equal(b.recs[0].col[DC_PROC_NAME], AGENCY_NFC);
    /* raw keeps what the server sent */
    assert_non_null(strstr(b.recs[0].raw, AGENCY_NFD));
    rec_batch_clear(&b);

    /* a number is text too; other types are not interpreted */
    d = minimal();
    set(d, "TenTTHC", json_integer(123));
    set(d, "TenLinhVuc", json_true());
    set_raw(d, "DonViXuLy", "{\"vi\":\"x\"}");
    set(d, "MaLinhVuc", json_integer(7));
    rec_batch_init(&b, FEED_DOSSIER);
    parse_into(DOSSIER, d, &b);
    assert_int_equal(b.nrecs, 1);
    assert_string_equal(b.recs[0].col[DC_PROC_NAME], "123");
    assert_null(b.recs[0].col[DC_FIELD_NAME]);
    assert_null(b.recs[0].col[DC_AGENCY_NAME]);
    assert_string_equal(b.recs[0].col[DC_FIELD_CODE], "7");
    rec_batch_clear(&b);
}

static void test_apologies(void **state)
{
    json_t *d;

    d = minimal();
    set_raw(d, "PhieuXinLoi",
            "[{\"NgayXinLoi\":\"20220114160000\",\"NgayHenTraMoi\":\"20220121170000\","
            "\"LyDo\":\"a\"},{\"NgayXinLoi\":\"20220121160000\",\"LyDo\":\"b\"}]");
    assert_col(d, DC_APOLOGIES, "2");

    d = minimal();
    set(d, "PhieuXinLoi", json_null());
    assert_col(d, DC_APOLOGIES, "0");

    d = minimal();
    set(d, "PhieuXinLoi", json_array());
    assert_col(d, DC_APOLOGIES, "0");

    d = minimal();
    set(d, "PhieuXinLoi", json_string("co"));
    assert_col(d, DC_APOLOGIES, "0");
}

/* ---- cursor ---- */

static void offer(struct record_batch *b, const char *t, const char *k)
{
    json_t *d = minimal();
    set(d, "NgayCapNhat", json_string(t));
    set(d, "MaHoSo", json_string(k));
    assert_int_equal(adp_parse_dossier(d, b), 0);
    json_decref(d);
}

static void test_cursor_greatest(void **state)
{
    struct record_batch b;

    rec_batch_init(&b, FEED_DOSSIER);
    assert_string_equal(b.cursor_time, "");
    offer(&b, "20220105000000", "B");
    offer(&b, "20220106000000", "A");
    offer(&b, "20220104000000", "Z");
    assert_string_equal(b.cursor_time, "20220106000000");
    assert_string_equal(b.cursor_key, "A");

    /* ties are broken by the key, byte by byte: 'a' (0x61) > 'B' (0x42) */
    offer(&b, "20220106000000", "B");
    offer(&b, "20220106000000", "a");
    offer(&b, "20220106000000", "AZ");
    assert_string_equal(b.cursor_key, "a");
    /* bytes are unsigned: UTF-8 lead bytes sort after ASCII */
    offer(&b, "20220106000000", "\xc3\x89");
    assert_string_equal(b.cursor_key, "\xc3\x89");
    offer(&b, "20220106000000", "z");
    assert_string_equal(b.cursor_key, "\xc3\x89");

    /* a rejected item moves it too, and so does a keyless one by its time; one without
     * a good time does not */
    json_t *d = minimal();
    set(d, "MaHoSo", json_string("R"));
    set(d, "NgayCapNhat", json_string("20220107000000"));
    set(d, "TrangThaiHoSo", json_string("99"));
    assert_int_equal(adp_parse_dossier(d, &b), 0);
    json_decref(d);
    assert_string_equal(b.cursor_time, "20220107000000");
    assert_string_equal(b.cursor_key, "R");

    d = minimal();
    set(d, "MaHoSo", json_string("S"));
    set(d, "NgayCapNhat", json_string("20231301000000"));
    assert_int_equal(adp_parse_dossier(d, &b), 0);
    json_decref(d);
    assert_string_equal(b.cursor_time, "20220107000000");
    assert_string_equal(b.cursor_key, "R");
    d = minimal();
    json_object_del(d, "MaHoSo");
    set(d, "NgayCapNhat", json_string("20220107000000"));
    assert_int_equal(adp_parse_dossier(d, &b), 0);
    json_decref(d);
    assert_string_equal(b.cursor_key, "R"); /* ("", same time) sorts before "R" */

    /* a numeric NgayCapNhat offers its 14 digits */
    d = minimal();
    set(d, "MaHoSo", json_string("N"));
    set(d, "NgayCapNhat", json_integer(20220108000000LL));
    assert_int_equal(adp_parse_dossier(d, &b), 0);
    json_decref(d);
    assert_string_equal(b.cursor_time, "20220108000000");
    assert_string_equal(b.cursor_key, "N");

    assert_int_equal(b.nrecs, 9);
    assert_int_equal(b.nrejs, 3);
    rec_batch_clear(&b);
    assert_int_equal(b.nrecs, 0);
    assert_null(b.cursor_key);
    rec_batch_clear(&b); /* twice is fine */
}

/* ---- catalogue rows ---- */

static json_t *proc(void)
{
    return jparse("{\"MaTTHC\":\"1.004222.000.00.00.H12\",\"TenTTHC\":\"" AGENCY_NFD "\","
                  "\"MaLinhVuc\":\"KHCN01\",\"MaDonVi\":\"000.00.12.H12\",\"MucDo\":\"4\","
                  "\"BuuChinhCongIch\":\"1\",\"CoPhiLePhi\":1,\"NgayCapNhat\":\"20211201080000\"}");
}

static void test_procedure(void **state)
{
    struct record_batch b;
    char detail[256];

    rec_batch_init(&b, FEED_PROCEDURE);
    parse_into(PROCEDURE, proc(), &b);
    assert_int_equal(b.nrecs, 1);
    struct record *r = &b.recs[0];
    assert_string_equal(r->key, "1.004222.000.00.00.H12|000.00.12.H12");
    assert_string_equal(r->col[PC_PROC_CODE], "1.004222.000.00.00.H12");
    assert_string_equal(r->col[PC_AGENCY], "000.00.12.H12");
    assert_string_equal(r->col[PC_NAME], AGENCY_NFC);
    assert_string_equal(r->col[PC_FIELD_CODE], "KHCN01");
    assert_string_equal(r->col[PC_LEVEL], "4");
    assert_string_equal(r->col[PC_POSTAL], "1");
    assert_string_equal(r->col[PC_FEE], "1");
    assert_string_equal(r->col[PC_UPDATED_AT], "2021-12-01 08:00:00");
    assert_string_equal(b.cursor_key, "1.004222.000.00.00.H12|000.00.12.H12");
    rec_batch_clear(&b);

    /* defaults */
    json_t *p = proc();
    json_object_del(p, "BuuChinhCongIch");
    set(p, "CoPhiLePhi", json_string(""));
    json_object_del(p, "TenTTHC");
    rec_batch_init(&b, FEED_PROCEDURE);
    parse_into(PROCEDURE, p, &b);
    assert_int_equal(b.nrecs, 1);
    assert_string_equal(b.recs[0].col[PC_POSTAL], "0");
    assert_string_equal(b.recs[0].col[PC_FEE], "0");
    assert_null(b.recs[0].col[PC_NAME]);
    rec_batch_clear(&b);

    /* MucDo is required in the catalogue */
    p = proc();
    set(p, "MucDo", json_null());
    assert_int_equal(reason_of(PROCEDURE, p, detail, sizeof(detail)), REASON_MISSING_KEY);
    assert_string_equal(detail, "MucDo is missing");

    static const char *const keys[] = {"MaTTHC", "MaDonVi", "NgayCapNhat"};
    for (size_t i = 0; i < 3; i++) {
        p = proc();
        json_object_del(p, keys[i]);
        assert_int_equal(reason_of(PROCEDURE, p, NULL, 0), REASON_MISSING_KEY);
    }

    static const struct {
        const char *key, *value;
    } bad[] = {{"MucDo", "5"},           {"MucDo", "\"1\""},      {"MucDo", "\"4a\""},
               {"BuuChinhCongIch", "2"}, {"CoPhiLePhi", "\"2\""}, {"CoPhiLePhi", "true"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = proc();
        set_raw(p, bad[i].key, bad[i].value);
        assert_int_equal(reason_of(PROCEDURE, p, NULL, 0), REASON_BAD_CODE);
    }

    p = proc();
    set(p, "NgayCapNhat", json_string("20211231250000"));
    assert_int_equal(reason_of(PROCEDURE, p, NULL, 0), REASON_BAD_DATE);

    /* the reject keeps the composite key when both halves are known */
    p = proc();
    set(p, "MucDo", json_integer(9));
    rec_batch_init(&b, FEED_PROCEDURE);
    parse_into(PROCEDURE, p, &b);
    assert_string_equal(b.rejs[0].key, "1.004222.000.00.00.H12|000.00.12.H12");
    rec_batch_clear(&b);

    p = proc();
    json_object_del(p, "MaDonVi");
    rec_batch_init(&b, FEED_PROCEDURE);
    parse_into(PROCEDURE, p, &b);
    assert_null(b.rejs[0].key);
    assert_string_equal(b.cursor_key, ""); /* the catalogue is fetched whole: unused */
    rec_batch_clear(&b);
}

/* ---- shipments ---- */

static json_t *ship(void)
{
    return jparse("{\"ItemCode\":\"EB123456789VN\",\"OrderNumber\":\"000.00.12.H12-220103-0007\","
                  "\"Direction\":\"2\",\"StatusCode\":\"14\",\"AcceptedDate\":\"20220114150500\","
                  "\"DeliveredDate\":\"20220115101000\",\"SenderProvince\":\"12\","
                  "\"ReceiverProvince\":1,\"Fee\":\"25000\",\"CODAmount\":0,"
                  "\"NgayCapNhat\":\"20220115101000\"}");
}

static char *ship_col(json_t *s, int col)
{
    struct record_batch b;
    char *v;

    rec_batch_init(&b, FEED_SHIPMENT);
    parse_into(SHIPMENT, s, &b);
    if (b.nrejs)
        fail_msg("rejected: %s", b.rejs[0].detail);
    v = b.recs[0].col[col] ? strdup(b.recs[0].col[col]) : NULL;
    rec_batch_clear(&b);
    return v;
}

static void assert_ship_col(json_t *s, int col, const char *want)
{
    char *v = ship_col(s, col);
    if (want)
        assert_string_equal(v, want);
    else
        assert_null(v);
    free(v);
}

static void test_shipment(void **state)
{
    struct record_batch b;
    char detail[256];
    json_t *s;

    rec_batch_init(&b, FEED_SHIPMENT);
    parse_into(SHIPMENT, ship(), &b);
    assert_int_equal(b.nrecs, 1);
    struct record *r = &b.recs[0];
    assert_string_equal(r->key, "EB123456789VN");
    assert_string_equal(r->col[SC_ITEM_CODE], "EB123456789VN");
    assert_string_equal(r->col[SC_ORDER_NUMBER], "000.00.12.H12-220103-0007");
    assert_string_equal(r->col[SC_DIRECTION], "2");
    assert_string_equal(r->col[SC_STATUS_CODE], "14");
    assert_string_equal(r->col[SC_ACCEPTED_AT], "2022-01-14 15:05:00");
    assert_string_equal(r->col[SC_DELIVERED_AT], "2022-01-15 10:10:00");
    assert_string_equal(r->col[SC_SENDER_PROVINCE], "12");
    assert_string_equal(r->col[SC_RECEIVER_PROVINCE], "1");
    assert_string_equal(r->col[SC_FEE], "25000");
    assert_string_equal(r->col[SC_COD_AMOUNT], "0");
    assert_string_equal(r->col[SC_UPDATED_AT], "2022-01-15 10:10:00");
    assert_string_equal(b.cursor_time, "20220115101000");
    assert_string_equal(b.cursor_key, "EB123456789VN");
    rec_batch_clear(&b);

    /* Direction outside 1..2 */
    s = ship();
    set(s, "Direction", json_string("3"));
    assert_int_equal(reason_of(SHIPMENT, s, detail, sizeof(detail)), REASON_BAD_CODE);
    assert_string_equal(detail, "Direction: \"3\" is outside 1..2");
    s = ship();
    set(s, "Direction", json_integer(0));
    assert_int_equal(reason_of(SHIPMENT, s, NULL, 0), REASON_BAD_CODE);

    /* StatusCode: absent is NULL (in transit), any integer is kept, a non-integer is bad */
    s = ship();
    json_object_del(s, "StatusCode");
    assert_ship_col(s, SC_STATUS_CODE, NULL);
    s = ship();
    set(s, "StatusCode", json_null());
    assert_ship_col(s, SC_STATUS_CODE, NULL);
    s = ship();
    set(s, "StatusCode", json_string("99"));
    assert_ship_col(s, SC_STATUS_CODE, "99");
    s = ship();
    set(s, "StatusCode", json_integer(99));
    assert_ship_col(s, SC_STATUS_CODE, "99");
    s = ship();
    set(s, "StatusCode", json_integer(-3));
    assert_ship_col(s, SC_STATUS_CODE, "-3");
    s = ship();
    set(s, "StatusCode", json_integer(2147483647));
    assert_ship_col(s, SC_STATUS_CODE, "2147483647");
    s = ship();
    set(s, "StatusCode", json_string("2147483648")); /* any integer: the column is bigint */
    assert_ship_col(s, SC_STATUS_CODE, "2147483648");
    s = ship();
    /* too long for bigint: kept as an unknown code (in transit), not rejected */
    set(s, "StatusCode", json_string("123456789012345678901234567890"));
    assert_ship_col(s, SC_STATUS_CODE, NULL);
    s = ship();
    set(s, "StatusCode", json_string("x"));
    assert_int_equal(reason_of(SHIPMENT, s, detail, sizeof(detail)), REASON_BAD_CODE);
    assert_string_equal(detail, "StatusCode: \"x\" is not a code");
    s = ship();
    set(s, "StatusCode", json_real(14.5));
    assert_int_equal(reason_of(SHIPMENT, s, NULL, 0), REASON_BAD_CODE);

    /* amounts: integer or digit string, anything else NULL without a rejection */
    s = ship();
    set(s, "Fee", json_string("n/a"));
    assert_ship_col(s, SC_FEE, NULL);
    s = ship();
    set(s, "Fee", json_real(25000.5));
    assert_ship_col(s, SC_FEE, NULL);
    s = ship();
    set(s, "Fee", json_string("025000"));
    assert_ship_col(s, SC_FEE, "25000");
    s = ship();
    json_object_del(s, "CODAmount");
    assert_ship_col(s, SC_COD_AMOUNT, NULL);
    s = ship();
    set(s, "CODAmount", json_integer(1500000));
    assert_ship_col(s, SC_COD_AMOUNT, "1500000");

    /* dates */
    s = ship();
    set(s, "DeliveredDate", json_string("20220230101000"));
    assert_int_equal(reason_of(SHIPMENT, s, detail, sizeof(detail)), REASON_BAD_DATE);
    assert_true(strncmp(detail, "DeliveredDate: ", 15) == 0);
    s = ship();
    set(s, "AcceptedDate", json_string("2022011415050"));
    assert_int_equal(reason_of(SHIPMENT, s, NULL, 0), REASON_BAD_DATE);
    s = ship();
    set(s, "DeliveredDate", json_string(""));
    assert_ship_col(s, SC_DELIVERED_AT, NULL);

    /* missing keys */
    static const char *const keys[] = {"ItemCode", "OrderNumber", "Direction", "NgayCapNhat"};
    for (size_t i = 0; i < 4; i++) {
        s = ship();
        json_object_del(s, keys[i]);
        assert_int_equal(reason_of(SHIPMENT, s, NULL, 0), REASON_MISSING_KEY);
    }
    /* missing key before bad code */
    s = ship();
    json_object_del(s, "OrderNumber");
    set(s, "Direction", json_integer(3));
    assert_int_equal(reason_of(SHIPMENT, s, NULL, 0), REASON_MISSING_KEY);
    /* bad code before bad date */
    s = ship();
    set(s, "Direction", json_integer(3));
    set(s, "AcceptedDate", json_string("x"));
    assert_int_equal(reason_of(SHIPMENT, s, NULL, 0), REASON_BAD_CODE);
}

/* ---- the field readers themselves ---- */

static void test_rec_get_code(void **state)
{
    json_t *o = jparse("{\"a\":2,\"b\":\"02\",\"c\":\" 2\",\"d\":\"2a\",\"e\":2.5,\"f\":true,"
                       "\"g\":null,\"h\":\"\",\"i\":\"0\",\"j\":-7,\"k\":\"-7\","
                       "\"l\":9223372036854775807,\"m\":\"9223372036854775808\"}");
    long v = -1;

    assert_int_equal(rec_get_code(o, "a", 1, 10, &v), FIELD_OK);
    assert_int_equal(v, 2);
    v = -1;
    assert_int_equal(rec_get_code(o, "b", 1, 10, &v), FIELD_OK);
    assert_int_equal(v, 2);
    assert_int_equal(rec_get_code(o, "b", 3, 10, &v), FIELD_BAD);
    assert_int_equal(rec_get_code(o, "c", 1, 10, &v), FIELD_BAD);
    assert_int_equal(rec_get_code(o, "d", 1, 10, &v), FIELD_BAD);
    assert_int_equal(rec_get_code(o, "e", 1, 10, &v), FIELD_BAD);
    assert_int_equal(rec_get_code(o, "f", 0, 10, &v), FIELD_BAD);
    assert_int_equal(rec_get_code(o, "g", 1, 10, &v), FIELD_ABSENT);
    assert_int_equal(rec_get_code(o, "h", 1, 10, &v), FIELD_ABSENT);
    assert_int_equal(rec_get_code(o, "missing", 1, 10, &v), FIELD_ABSENT);
    assert_int_equal(rec_get_code(o, "i", 0, 1, &v), FIELD_OK);
    assert_int_equal(v, 0);
    assert_int_equal(rec_get_code(o, "j", LONG_MIN, LONG_MAX, &v), FIELD_OK);
    assert_int_equal(v, -7);
    assert_int_equal(rec_get_code(o, "k", LONG_MIN, LONG_MAX, &v), FIELD_BAD);
    assert_int_equal(rec_get_code(o, "l", LONG_MIN, LONG_MAX, NULL), FIELD_OK);
    assert_int_equal(rec_get_code(o, "m", LONG_MIN, LONG_MAX, &v), FIELD_BAD);
    assert_int_equal(rec_get_code(NULL, "a", 1, 10, &v), FIELD_ABSENT);
    json_decref(o);
}

static void test_rec_get_date(void **state)
{
    json_t *o = jparse("{\"a\":\"20220103083000\",\"b\":20220103083000,\"c\":\"\",\"d\":null,"
                       "\"e\":\"20220229000000\",\"f\":-20220103083000}");
    char iso[20], raw[15];

    assert_int_equal(rec_get_date(o, "a", iso, raw), FIELD_OK);
    assert_string_equal(iso, "2022-01-03 08:30:00");
    assert_string_equal(raw, "20220103083000");
    memset(raw, 0, sizeof(raw));
    assert_int_equal(rec_get_date(o, "b", NULL, raw), FIELD_OK);
    assert_string_equal(raw, "20220103083000");
    assert_int_equal(rec_get_date(o, "c", iso, raw), FIELD_ABSENT);
    assert_int_equal(rec_get_date(o, "d", iso, raw), FIELD_ABSENT);
    assert_int_equal(rec_get_date(o, "x", iso, raw), FIELD_ABSENT);
    assert_int_equal(rec_get_date(o, "e", iso, raw), FIELD_BAD);
    assert_int_equal(rec_get_date(o, "f", iso, raw), FIELD_BAD);
    assert_int_equal(rec_get_date(o, "a", NULL, NULL), FIELD_OK);
    json_decref(o);
}

static void test_rec_get_text(void **state)
{
    json_t *o = json_object();
    char *s = NULL;

    set(o, "nfd", json_string(AGENCY_NFD));
    set(o, "n", json_integer(-42));
    set(o, "e", json_string(""));
    set(o, "b", json_false());
    set(o, "r", json_real(1.5));
    assert_int_equal(rec_get_text(o, "nfd", &s), FIELD_OK);
    assert_string_equal(s, AGENCY_NFC);
    free(s);
    assert_int_equal(rec_get_text(o, "n", &s), FIELD_OK);
    assert_string_equal(s, "-42");
    free(s);
    assert_int_equal(rec_get_text(o, "e", &s), FIELD_ABSENT);
    assert_null(s);
    assert_int_equal(rec_get_text(o, "none", &s), FIELD_ABSENT);
    assert_null(s);
    assert_int_equal(rec_get_text(o, "b", &s), FIELD_BAD);
    assert_null(s);
    assert_int_equal(rec_get_text(o, "r", &s), FIELD_BAD);
    assert_null(s);
    json_decref(o);

    s = rec_nfc(AGENCY_NFD);
    assert_string_equal(s, AGENCY_NFC);
    free(s);
    s = rec_nfc("");
    assert_string_equal(s, "");
    free(s);
    assert_null(rec_nfc("\xff\xfe"));
    assert_null(rec_nfc(NULL));
}

static void test_names_and_counts(void **state)
{
    assert_string_equal(rec_kind_name(FEED_DOSSIER), "dossier");
    assert_string_equal(rec_kind_name(FEED_PROCEDURE), "procedure");
    assert_string_equal(rec_kind_name(FEED_SHIPMENT), "shipment");
    assert_int_equal(rec_ncols(FEED_DOSSIER), DC_NCOLS);
    assert_int_equal(rec_ncols(FEED_PROCEDURE), PC_NCOLS);
    assert_int_equal(rec_ncols(FEED_SHIPMENT), SC_NCOLS);
    assert_true(DC_NCOLS <= REC_MAX_COLS);
    static const char *const reasons[] = {
        "bad_json",       "missing_key",          "bad_code", "bad_date", "missing_receipt",
        "missing_finish", "finish_before_receipt"};
    for (int i = 0; i < REASON_COUNT; i++)
        assert_string_equal(rec_reason_name((enum rec_reason)i), reasons[i]);
}

static void test_batch_move(void **state)
{
    struct record_batch a, b;

    rec_batch_init(&a, FEED_DOSSIER);
    rec_batch_init(&b, FEED_DOSSIER);
    offer(&a, "20220105000000", "A1");
    offer(&b, "20220106000000", "B1");
    offer(&b, "20220104000000", "B2");
    json_t *bad = jparse("[]");
    assert_int_equal(adp_parse_dossier(bad, &b), 0);
    json_decref(bad);
    a.nitems = 1;
    b.nitems = 3;
    b.server_last = 1;

    assert_int_equal(rec_batch_move(&a, &b), 0);
    assert_int_equal(a.nrecs, 3);
    assert_int_equal(a.nrejs, 1);
    assert_int_equal(a.nitems, 1); /* counting items is the caller's business */
    assert_int_equal(a.server_last, 1);
    assert_string_equal(a.recs[0].key, "A1");
    assert_string_equal(a.recs[1].key, "B1");
    assert_string_equal(a.recs[2].key, "B2");
    assert_string_equal(a.cursor_time, "20220106000000");
    assert_string_equal(a.cursor_key, "B1");
    assert_int_equal(b.nrecs, 0);
    assert_int_equal(b.nrejs, 0);
    assert_int_equal(b.nitems, 0);
    assert_null(b.cursor_key);
    assert_int_equal(b.kind, FEED_DOSSIER);

    /* moving an empty batch changes nothing */
    assert_int_equal(rec_batch_move(&a, &b), 0);
    assert_int_equal(a.nrecs, 3);
    assert_string_equal(a.cursor_key, "B1");

    /* many records: the arrays grow */
    for (int i = 0; i < 300; i++) {
        char k[16];
        snprintf(k, sizeof(k), "K%03d", i);
        offer(&b, "20220101000000", k);
    }
    assert_int_equal(rec_batch_move(&a, &b), 0);
    assert_int_equal(a.nrecs, 303);
    assert_string_equal(a.recs[302].key, "K299");
    rec_batch_clear(&a);
    rec_batch_clear(&b);

    /* clear is safe on a zeroed batch */
    struct record_batch z;
    memset(&z, 0, sizeof(z));
    rec_batch_clear(&z);
}

static void test_batch_add_reject(void **state)
{
    struct record_batch b;
    struct record r = {0};
    struct reject j = {0};

    rec_batch_init(&b, FEED_SHIPMENT);
    r.key = strdup("k");
    r.raw = strdup("{}");
    r.col[0] = strdup("k");
    assert_int_equal(rec_batch_add(&b, &r), 0);
    assert_null(r.key); /* ownership moved */
    j.reason = REASON_BAD_DATE;
    j.detail = strdup("d");
    j.raw = strdup("{}");
    assert_int_equal(rec_batch_reject(&b, &j), 0);
    assert_null(j.detail);
    assert_int_equal(b.nrecs, 1);
    assert_int_equal(b.nrejs, 1);
    assert_string_equal(b.rejs[0].detail, "d");

    /* offers that are not 14 characters are ignored */
    rec_batch_offer_cursor(&b, "2022", "k");
    rec_batch_offer_cursor(&b, NULL, "k");
    rec_batch_offer_cursor(&b, "20220101000000", NULL);
    assert_string_equal(b.cursor_time, "");
    rec_batch_offer_cursor(&b, "20220101000000", "k");
    assert_string_equal(b.cursor_key, "k");
    rec_batch_clear(&b);
}

/* rec_json_dump writes what json_dumps(JSON_COMPACT) writes, but for NUL as U+FFFD. */
static void test_json_dump_like_jansson(void **state)
{
    static const char *const docs[] = {
        "{}",
        "[]",
        "{\"a\":[1,-2,0,9223372036854775807,-9223372036854775807],\"b\":{\"c\":[[],{}]}}",
        "[0.1,1.5,-0.0,1e300,1.5e-7,123456789.125,2.0,1e22,3.14159265358979,-2.5e-300]",
        "[true,false,null,\"\",\"x\\\"y\\\\z/\"]",
        "[\"\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\"]",
        "{\"Sở\":\"Khoa học và Công nghệ\",\"emoji\":\"\\ud83d\\ude00\",\"\\u00e9\":1}",
        "{\"z\":1,\"a\":2,\"m\":{\"y\":1,\"b\":2}}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_error_t e;
        json_t *v = json_loads(docs[i], JSON_DECODE_ANY, &e);
        assert_non_null(v);
        char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        char *got = rec_json_dump(v);
        assert_string_equal(got, want);
        free(want);
        free(got);
        json_decref(v);
    }
    json_t *nul = json_loads("{\"k\":\"a\\u0000b\"}", JSON_ALLOW_NUL, NULL);
    assert_non_null(nul);
    char *got = rec_json_dump(nul);
    assert_string_equal(got, "{\"k\":\"a\\ufffdb\"}");
    free(got);
    json_decref(nul);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_record),
        cmocka_unit_test(test_nul_in_strings),
        cmocka_unit_test(test_agency_all_reserved),
        cmocka_unit_test(test_codes_as_numbers_and_strings),
        cmocka_unit_test(test_bad_code_values),
        cmocka_unit_test(test_codes_outside_their_list),
        cmocka_unit_test(test_optional_code_defaults),
        cmocka_unit_test(test_missing_keys),
        cmocka_unit_test(test_key_types),
        cmocka_unit_test(test_absent_dates_are_null),
        cmocka_unit_test(test_impossible_dates),
        cmocka_unit_test(test_valid_dates),
        cmocka_unit_test(test_nested_dates),
        cmocka_unit_test(test_missing_receipt),
        cmocka_unit_test(test_missing_finish),
        cmocka_unit_test(test_finish_from_ngaytra),
        cmocka_unit_test(test_finish_before_receipt),
        cmocka_unit_test(test_reason_precedence),
        cmocka_unit_test(test_non_object_items),
        cmocka_unit_test(test_reject_fields),
        cmocka_unit_test(test_names_nfc),
        cmocka_unit_test(test_apologies),
        cmocka_unit_test(test_cursor_greatest),
        cmocka_unit_test(test_procedure),
        cmocka_unit_test(test_shipment),
        cmocka_unit_test(test_rec_get_code),
        cmocka_unit_test(test_rec_get_date),
        cmocka_unit_test(test_rec_get_text),
        cmocka_unit_test(test_names_and_counts),
        cmocka_unit_test(test_batch_move),
        cmocka_unit_test(test_batch_add_reject),
        cmocka_unit_test(test_json_dump_like_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
