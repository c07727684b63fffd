/* SPDX-License-Identifier: Apache-2.0 */
/* rec: canonical records produced by adapters' parse() and consumed by the store. */
#ifndef ONESTOP_RECORD_H
#define ONESTOP_RECORD_H

#include <jansson.h>
#include <stddef.h>

enum feed_kind {
    FEED_DOSSIER = 0,
    FEED_PROCEDURE = 1,
    FEED_SHIPMENT = 2,
};
#define FEED_KIND_COUNT 3

/* "dossier" | "procedure" | "shipment" */
const char *rec_kind_name(enum feed_kind k);

/* Column indexes of each kind. Values are text in PostgreSQL input syntax, NULL = SQL NULL.
 * Timestamps are "YYYY-MM-DD HH:MM:SS", Vietnam wall-clock time (column type timestamp). */
enum dossier_col {
    DC_CODE,           /* MaHoSo */
    DC_PROC_CODE,      /* MaTTHC */
    DC_PROC_NAME,      /* TenTTHC, NFC */
    DC_FIELD_CODE,     /* MaLinhVuc */
    DC_FIELD_NAME,     /* TenLinhVuc, NFC */
    DC_AGENCY,         /* MaDonVi */
    DC_AGENCY_NAME,    /* DonViXuLy, NFC */
    DC_CHANNEL,        /* 1 direct (default), 2 online, 3 postal */
    DC_LEVEL,          /* MucDo 2..4 or NULL */
    DC_STATUS,         /* TrangThaiHoSo 1..10 */
    DC_RECEIVED_AT,    /* NgayTiepNhan */
    DC_DUE_AT,         /* NgayHenTra */
    DC_FINISHED_AT,    /* NgayKetThucXuLy, else NgayTra */
    DC_RETURNED_AT,    /* NgayTra */
    DC_REFUSED_AT,     /* NgayTuChoi */
    DC_RETURN_BY_POST, /* HinhThuc: "0" | "1" (default 0) */
    DC_APOLOGIES,      /* number of PhieuXinLoi entries */
    DC_UPDATED_AT,     /* NgayCapNhat */
    DC_NCOLS
};

enum procedure_col {
    PC_PROC_CODE,  /* MaTTHC */
    PC_AGENCY,     /* MaDonVi */
    PC_NAME,       /* TenTTHC, NFC */
    PC_FIELD_CODE, /* MaLinhVuc */
    PC_LEVEL,      /* MucDo 2..4 (required) */
    PC_POSTAL,     /* BuuChinhCongIch 0/1, default 0 */
    PC_FEE,        /* CoPhiLePhi 0/1, default 0 */
    PC_UPDATED_AT, /* NgayCapNhat */
    PC_NCOLS
};

enum shipment_col {
    SC_ITEM_CODE,    /* ItemCode */
    SC_ORDER_NUMBER, /* OrderNumber = MaHoSo */
    SC_DIRECTION,    /* 1 to agency, 2 to applicant */
    SC_STATUS_CODE,  /* VNPost StatusCode, any integer, NULL when absent */
    SC_ACCEPTED_AT,
    SC_DELIVERED_AT,
    SC_SENDER_PROVINCE,
    SC_RECEIVER_PROVINCE,
    SC_FEE,        /* integer VND or NULL */
    SC_COD_AMOUNT, /* integer VND or NULL */
    SC_UPDATED_AT,
    SC_NCOLS
};

#define REC_MAX_COLS 18

/* Number of columns of a kind. */
size_t rec_ncols(enum feed_kind k);

/* Why a record was quarantined, in the order metrics.md checks them. */
enum rec_reason {
    REASON_BAD_JSON = 0,
    REASON_MISSING_KEY,
    REASON_BAD_CODE,
    REASON_BAD_DATE,
    REASON_MISSING_RECEIPT,
    REASON_MISSING_FINISH,
    REASON_FINISH_BEFORE_RECEIPT,
    REASON_COUNT
};
/* "bad_json", "missing_key", ... */
const char *rec_reason_name(enum rec_reason r);

struct record {
    char *col[REC_MAX_COLS]; /* owned */
    char *key;               /* owned: MaHoSo, ItemCode, or "MaTTHC|MaDonVi" */
    char *raw;               /* owned: the record as compact JSON */
};

struct reject {
    char *key;     /* owned, may be NULL when the key itself is missing */
    char *updated; /* owned "YYYY-MM-DD HH:MM:SS" or NULL */
    enum rec_reason reason;
    char *detail; /* owned: which key and why, e.g. "TrangThaiHoSo: \"11\" outside 1..10" */
    char *raw;    /* owned: compact JSON of the item */
};

/* One parsed page (or, for whole-fetch feeds, all pages). */
struct record_batch {
    enum feed_kind kind;
    struct record *recs;
    size_t nrecs, caprecs;
    struct reject *rejs;
    size_t nrejs, caprejs;
    size_t nitems; /* items the page held, good and bad */
    /* Greatest (NgayCapNhat, key) of the page, as the server sorts it (raw
     * "yyyyMMddHHmmss" and the key, byte order); empty when no item had both. */
    char cursor_time[15];
    char *cursor_key;
    int server_last; /* the envelope said this was the last page (informational) */
};

void rec_batch_init(struct record_batch *b, enum feed_kind kind);
/* Frees the contents (not b itself). Safe on a zeroed or already-cleared batch. */
void rec_batch_clear(struct record_batch *b);
/* Frees the records' contents once they are rendered for the store (store_rows_render),
 * keeping nrecs, the rejects and the cursor: a queued page then costs its staging text
 * alone. */
void rec_batch_strip(struct record_batch *b);
/* Appends; takes ownership of r's / j's strings (also on failure: they are then freed)
 * and zeroes *r / *j. 0 or -1 (out of memory). */
int rec_batch_add(struct record_batch *b, struct record *r);
int rec_batch_reject(struct record_batch *b, struct reject *j);
/* Moves all records and rejects of src to the end of dst (nitems is the caller's to add),
 * merges src's cursor into dst's, takes its server_last, and leaves src empty.
 * 0, or -1 (nothing moved). */
int rec_batch_move(struct record_batch *dst, struct record_batch *src);
/* Appends a bad_json reject for an item whose bytes do not decode. raw becomes
 * {"undecodable": the text with bad bytes as U+FFFD, "bytes_base64": every byte}, so
 * nothing is lost; key and dvc_time (read from the raw bytes, may be NULL or "") name
 * the record and move the cursor when usable. why names the position and jansson's
 * error. 0, or -1 on no memory. */
int rec_batch_reject_undecodable(struct record_batch *b, const char *bytes, size_t len,
                                 const char *key, const char *dvc_time, const char *why);
/* Offers a position for the cursor; keeps the greatest (time, key). */
void rec_batch_offer_cursor(struct record_batch *b, const char *dvc_time, const char *key);

/* Result of reading a field. */
enum rec_field {
    FIELD_ABSENT = 0, /* missing key, null or "" */
    FIELD_OK = 1,
    FIELD_BAD = -1,
};

/* A code: a JSON integer, or a string of ASCII digits ("02" is 2; " 2", "2a", 2.0 are bad).
 * FIELD_BAD also when outside [lo, hi]. */
enum rec_field rec_get_code(const json_t *obj, const char *key, long lo, long hi, long *out);
/* A DVCQG date "yyyyMMddHHmmss": writes iso "YYYY-MM-DD HH:MM:SS" and raw (15 bytes) when
 * either is not NULL. */
enum rec_field rec_get_date(const json_t *obj, const char *key, char iso[20], char raw[15]);
/* A text value (string, or integer rendered in decimal), NFC-normalised. New string in *out. */
enum rec_field rec_get_text(const json_t *obj, const char *key, char **out);

/* A copy of a JSON string with any embedded NUL (legal as \u0000) replaced by U+FFFD,
 * which text columns can hold. New string, NULL for a non-string or no memory. */
char *rec_json_string(const json_t *v);
/* The item as compact JSON for the raw column, as json_dumps(JSON_COMPACT) writes it but
 * with NUL as \ufffd (jsonb refuses \u0000). New string. */
char *rec_json_dump(const json_t *item);
/* The same, appended to b. */
struct buf;
void rec_json_write(struct buf *b, const json_t *v);

/* NFC-normalises UTF-8 text. New string, NULL on invalid UTF-8 or no memory. */
char *rec_nfc(const char *s);

#endif
