-- onestopd schema, version 1.
-- Every timestamp column is Vietnam wall-clock time (Asia/Ho_Chi_Minh, UTC+07:00, no DST)
-- as the feeds send it, stored as "timestamp without time zone": comparisons and ::date
-- then never depend on the TimeZone of the server or of the session.

CREATE TABLE dossiers (
    code            text PRIMARY KEY,           -- MaHoSo
    procedure_code  text NOT NULL,              -- MaTTHC
    procedure_name  text,
    field_code      text,
    field_name      text,
    agency          text NOT NULL,              -- MaDonVi
    agency_name     text,                       -- DonViXuLy, NFC
    channel         smallint NOT NULL CHECK (channel BETWEEN 1 AND 3),
    level           smallint CHECK (level BETWEEN 2 AND 4),
    status          smallint NOT NULL CHECK (status BETWEEN 1 AND 10),
    received_at     timestamp,
    due_at          timestamp,
    finished_at     timestamp,                  -- NgayKetThucXuLy, else NgayTra
    returned_at     timestamp,
    refused_at      timestamp,
    return_by_post  boolean NOT NULL,
    apologies       integer NOT NULL DEFAULT 0, -- entries in PhieuXinLoi
    updated_at      timestamp NOT NULL,         -- NgayCapNhat
    source          text NOT NULL,
    raw             jsonb NOT NULL,
    stored_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dossiers_agency_idx ON dossiers (agency);
CREATE INDEX dossiers_received_idx ON dossiers (received_at);

CREATE TABLE procedures (
    procedure_code  text NOT NULL,              -- MaTTHC
    agency          text NOT NULL,              -- MaDonVi
    name            text,
    field_code      text,
    level           smallint NOT NULL CHECK (level BETWEEN 2 AND 4),
    postal          boolean NOT NULL,           -- BuuChinhCongIch
    fee             boolean NOT NULL,           -- CoPhiLePhi
    updated_at      timestamp NOT NULL,
    source          text NOT NULL,
    raw             jsonb NOT NULL,
    PRIMARY KEY (procedure_code, agency)
);

CREATE TABLE shipments (
    item_code          text PRIMARY KEY,        -- ItemCode
    order_number       text NOT NULL,           -- the dossier's MaHoSo
    direction          smallint NOT NULL CHECK (direction IN (1, 2)),
    status_code        bigint,                  -- NULL: none sent, counts as in transit
    accepted_at        timestamp,
    delivered_at       timestamp,
    sender_province    text,
    receiver_province  text,
    fee                bigint,
    cod_amount         bigint,
    updated_at         timestamp NOT NULL,
    source             text NOT NULL,
    raw                jsonb NOT NULL
);
CREATE INDEX shipments_order_idx ON shipments (order_number);

-- Keyset position of each (source, feed); moves only in the transaction that stores
-- the page it was read from.
CREATE TABLE sync_cursors (
    source       text NOT NULL,
    feed         text NOT NULL,
    cursor_time  text NOT NULL,                 -- raw yyyyMMddHHmmss of the last item
    cursor_key   text NOT NULL,
    pages        bigint NOT NULL DEFAULT 0,
    changed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, feed)
);

-- Records that could not be understood. A record with a key (MaHoSo, ItemCode,
-- MaTTHC|MaDonVi) is one row holding its latest bad version, removed once a good
-- version at least as new is stored; a record without a key is told apart by the hash
-- of its canonical JSON, so the same item fetched twice is one row either way.
CREATE TABLE quarantine (
    source      text NOT NULL,
    feed        text NOT NULL,
    record_id   text NOT NULL,                  -- 'key:' || key, or 'md5:' || md5(jsonb text)
    record_key  text,
    reason      text NOT NULL,
    detail      text NOT NULL,
    updated_at  timestamp,                      -- its NgayCapNhat, when valid
    raw         jsonb NOT NULL,
    times_seen  bigint NOT NULL DEFAULT 1,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, feed, record_id)
);
CREATE INDEX quarantine_reason_idx ON quarantine (source, reason);
