-- SPDX-License-Identifier: Apache-2.0
-- onestopd schema, version 4: incremental rollups, so that a computation of the
-- indicators costs in proportion to what changed, never to the history (see
-- docs/design.md, "Rollups"). The store keeps them in the transaction of every page it
-- upserts: it counts the old version of each replaced record out and the new one in.
-- `onestopd --rebuild-rollups` recomputes them from the stored rows, as this migration
-- does once for an existing database.

-- Biểu 06 contributions per agency and day, at three grains: 'd' (bucket = the day),
-- 'm' (the first day of its month) and 'y' (1 January of its year) carry the same sums,
-- so a prefix sum up to any day reads years, then months, then days: a few rows per
-- agency however long the history. Every column is a count of dossiers whose event fell
-- in the bucket; the overdue columns are deltas (+1 the day a dossier becomes overdue
-- if still pending, -1 the day it is finished), so "overdue at P" is their prefix sum and
-- the local midnight moves dossiers from within to overdue with no record changing.
CREATE TABLE rollup_b06 (
    grain                     "char" NOT NULL CHECK (grain IN ('d', 'm', 'y')),
    bucket                    date NOT NULL,
    agency                    text NOT NULL,
    received_online           bigint NOT NULL DEFAULT 0, -- by receipt day, KenhThucHien 2
    received_direct           bigint NOT NULL DEFAULT 0, -- ... 1 or absent
    received_postal           bigint NOT NULL DEFAULT 0, -- ... 3
    resolved_early            bigint NOT NULL DEFAULT 0, -- by finish day, status 9/10, finish < due
    resolved_on_time          bigint NOT NULL DEFAULT 0, -- 9/10 finish = due or no due; 7
    resolved_late             bigint NOT NULL DEFAULT 0, -- 9/10 finish > due
    resolved_returned         bigint NOT NULL DEFAULT 0, -- 9/10
    resolved_returned_by_post bigint NOT NULL DEFAULT 0, -- 9/10 with HinhThuc 1
    overdue                   bigint NOT NULL DEFAULT 0, -- delta of pending-overdue
    overdue_no_apology        bigint NOT NULL DEFAULT 0, -- ... of those without PhieuXinLoi
    PRIMARY KEY (grain, bucket, agency)
);

-- Stored dossiers of every status (1 and 3 included) per agency: the known agencies.
CREATE TABLE rollup_agency (
    agency    text PRIMARY KEY,
    dossiers  bigint NOT NULL DEFAULT 0
);

-- Stored shipments by direction and onestop_postal_shipments status (0 collected,
-- 1 in transit, 2 delivered, 3 failed, 4 cancelled), and how many of them point at no
-- stored dossier.
CREATE TABLE rollup_shipment (
    direction  smallint NOT NULL,
    status     smallint NOT NULL,
    shipments  bigint NOT NULL DEFAULT 0,
    unmatched  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (direction, status)
);

-- Quarantine rows per source and reason.
CREATE TABLE rollup_quarantine (
    source   text NOT NULL,
    reason   text NOT NULL,
    records  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (source, reason)
);

-- Dossier events of the pages stored since the last compaction, at day grain only: the
-- store appends to it (a plain INSERT, cheaper than updating three grains in place) and
-- every few pages, and at the end of every sync, moves its sums into rollup_b06
-- (rollup_compact in daemon/rollup.c). Readers add it to rollup_b06, so the figures are
-- exact before and after a compaction alike.
CREATE TABLE rollup_b06_delta (
    bucket                    date NOT NULL,
    agency                    text NOT NULL,
    received_online           bigint NOT NULL,
    received_direct           bigint NOT NULL,
    received_postal           bigint NOT NULL,
    resolved_early            bigint NOT NULL,
    resolved_on_time          bigint NOT NULL,
    resolved_late             bigint NOT NULL,
    resolved_returned         bigint NOT NULL,
    resolved_returned_by_post bigint NOT NULL,
    overdue                   bigint NOT NULL,
    overdue_no_apology        bigint NOT NULL
);

-- The contributions of one dossier version to rollup_b06, one row per day it touches
-- (docs/metrics.md, "Biểu 06 counts"): its receipt, by channel; its finish when closed
-- (7, 9, 10), by timeliness; and, for one that is (or was) pending past its due date
-- (status 2 or 4, or 7, 9, 10 finished after that), +1 overdue on the day after the due
-- date (not before the receipt) and, when closed, -1 on its finish day. Statuses 1 and 3
-- were never received and count nowhere. The store (counting versions in and out) and
-- the rebuild both use it, so the two always agree. (UNION ALL rather than VALUES: the
-- planner inlines it either way, but a VALUES list of expressions is set up again for
-- every row.)
CREATE FUNCTION rollup_b06_events(status smallint, channel smallint, received date,
                                  due date, finished date, by_post boolean,
                                  apologies integer)
RETURNS TABLE (day date, received_online integer, received_direct integer,
               received_postal integer, resolved_early integer, resolved_on_time integer,
               resolved_late integer, resolved_returned integer,
               resolved_returned_by_post integer, overdue integer,
               overdue_no_apology integer)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT received, (channel = 2)::integer, (channel = 1)::integer, (channel = 3)::integer,
           0, 0, 0, 0, 0, 0, 0
    WHERE status NOT IN (1, 3) AND received IS NOT NULL
    UNION ALL
    SELECT finished, 0, 0, 0,
           coalesce(status IN (9, 10) AND finished < due, false)::integer,
           (status = 7 OR (status IN (9, 10) AND (due IS NULL OR finished = due)))::integer,
           coalesce(status IN (9, 10) AND finished > due, false)::integer,
           (status IN (9, 10))::integer, (status IN (9, 10) AND by_post)::integer, 0, 0
    WHERE status IN (7, 9, 10) AND finished IS NOT NULL
    UNION ALL
    -- pending and overdue from the day after the due date, not before the receipt;
    -- a dossier closed by then never is
    SELECT greatest(received, due + 1), 0, 0, 0, 0, 0, 0, 0, 0, 1,
           (apologies = 0)::integer
    WHERE due IS NOT NULL AND received IS NOT NULL AND (status IN (2, 4)
          OR (status IN (7, 9, 10) AND finished > greatest(received, due + 1)))
    UNION ALL
    SELECT finished, 0, 0, 0, 0, 0, 0, 0, 0, -1, -(apologies = 0)::integer
    WHERE due IS NOT NULL AND received IS NOT NULL AND status IN (7, 9, 10)
          AND finished > greatest(received, due + 1)
$$;

-- onestop_postal_shipments status of a VNPost StatusCode: 6 collected, 14 delivered,
-- 15 failed, 22 cancelled, anything else (or none) in transit.
CREATE FUNCTION rollup_shipment_status(code bigint) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT (CASE code WHEN 6 THEN 0 WHEN 14 THEN 2 WHEN 15 THEN 3 WHEN 22 THEN 4
            ELSE 1 END)::smallint
$$;

-- What the rollups hold when they agree with the stored rows (all-zero rows left out),
-- rollup_b06_delta compacted.
CREATE VIEW rollup_b06_expected AS
    WITH d AS (
        SELECT d.agency, e.day, sum(e.received_online) AS received_online,
               sum(e.received_direct) AS received_direct,
               sum(e.received_postal) AS received_postal,
               sum(e.resolved_early) AS resolved_early,
               sum(e.resolved_on_time) AS resolved_on_time,
               sum(e.resolved_late) AS resolved_late,
               sum(e.resolved_returned) AS resolved_returned,
               sum(e.resolved_returned_by_post) AS resolved_returned_by_post,
               sum(e.overdue) AS overdue, sum(e.overdue_no_apology) AS overdue_no_apology
        FROM dossiers d
        CROSS JOIN LATERAL rollup_b06_events(d.status, d.channel, d.received_at::date,
                                             d.due_at::date, d.finished_at::date,
                                             d.return_by_post, d.apologies) e
        GROUP BY d.agency, e.day),
    g AS (
        SELECT 'd'::"char" AS grain, day AS bucket, d.* FROM d
        UNION ALL
        SELECT 'm'::"char", date_trunc('month', day::timestamp)::date, d.* FROM d
        UNION ALL
        SELECT 'y'::"char", date_trunc('year', day::timestamp)::date, d.* FROM d)
    SELECT grain, bucket, agency, sum(received_online)::bigint AS received_online,
           sum(received_direct)::bigint AS received_direct,
           sum(received_postal)::bigint AS received_postal,
           sum(resolved_early)::bigint AS resolved_early,
           sum(resolved_on_time)::bigint AS resolved_on_time,
           sum(resolved_late)::bigint AS resolved_late,
           sum(resolved_returned)::bigint AS resolved_returned,
           sum(resolved_returned_by_post)::bigint AS resolved_returned_by_post,
           sum(overdue)::bigint AS overdue, sum(overdue_no_apology)::bigint AS overdue_no_apology
    FROM g GROUP BY grain, bucket, agency
    HAVING sum(received_online) <> 0 OR sum(received_direct) <> 0
        OR sum(received_postal) <> 0 OR sum(resolved_early) <> 0
        OR sum(resolved_on_time) <> 0 OR sum(resolved_late) <> 0
        OR sum(resolved_returned) <> 0 OR sum(resolved_returned_by_post) <> 0
        OR sum(overdue) <> 0 OR sum(overdue_no_apology) <> 0;

CREATE VIEW rollup_agency_expected AS
    SELECT agency, count(*) AS dossiers FROM dossiers GROUP BY agency;

CREATE VIEW rollup_shipment_expected AS
    SELECT s.direction, rollup_shipment_status(s.status_code) AS status,
           count(*) AS shipments,
           count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM dossiers d
                                              WHERE d.code = s.order_number)) AS unmatched
    FROM shipments s GROUP BY 1, 2;

CREATE VIEW rollup_quarantine_expected AS
    SELECT source, reason, count(*) AS records FROM quarantine GROUP BY 1, 2;

-- Recomputes every rollup from the stored rows. The lock is the one every page store
-- takes first, so no page commits half counted meanwhile.
CREATE FUNCTION rollup_rebuild() RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(28539296568129650);
    TRUNCATE rollup_b06, rollup_b06_delta, rollup_agency, rollup_shipment,
             rollup_quarantine;
    INSERT INTO rollup_b06 SELECT * FROM rollup_b06_expected;
    INSERT INTO rollup_agency SELECT * FROM rollup_agency_expected;
    INSERT INTO rollup_shipment SELECT * FROM rollup_shipment_expected;
    INSERT INTO rollup_quarantine SELECT * FROM rollup_quarantine_expected;
END
$$;

SELECT rollup_rebuild();
