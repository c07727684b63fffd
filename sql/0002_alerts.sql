-- onestopd schema, version 2: alerting.

-- The indicators as the leader computed them on each local day ("today" honours
-- [metrics] as_of), one row per (day, period label, agency); the last computation of the
-- day wins (computed_at: when its figures last changed). OnTimeRatioDropped compares
-- today's on-time ratio with the latest row dated drop_window days earlier or up to 7
-- days before that (a day without a computation does not disable it). A ratio is NULL
-- when its denominator was 0.
CREATE TABLE indicator_daily (
    day                     date NOT NULL,
    period                  text NOT NULL,      -- "2022", "2022-Q4", "2022-12", "report:..."
    agency                  text NOT NULL,      -- MaDonVi, or ALL
    on_time_ratio           double precision,
    resolved_on_time_ratio  double precision,
    online_dossier_ratio    double precision,
    postal_receipt_ratio    double precision,
    postal_return_ratio     double precision,
    carried_over            bigint NOT NULL,
    received_online         bigint NOT NULL,
    received_direct         bigint NOT NULL,
    received_postal         bigint NOT NULL,
    resolved_early          bigint NOT NULL,
    resolved_on_time        bigint NOT NULL,
    resolved_late           bigint NOT NULL,
    pending_within          bigint NOT NULL,
    pending_overdue         bigint NOT NULL,
    computed_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, period, agency)
);

-- One row per alert (its label set, by fingerprint) that is pending, firing, or was
-- resolved lately. Times are the daemon's wall clock.
CREATE TABLE alert_state (
    fingerprint    text PRIMARY KEY,            -- FNV-1a 64 of the sorted labels, hex
    alertname      text NOT NULL,
    state          text NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    labels         jsonb NOT NULL,
    annotations    jsonb NOT NULL,
    vals           jsonb NOT NULL DEFAULT '{}', -- the figures: ratio, target, count, ...
    active_since   timestamptz NOT NULL,        -- the condition started to hold
    firing_since   timestamptz,
    last_notified  timestamptz,                 -- the last firing/resolved notification queued
    resolved_at    timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Webhook notifications, one row per (notification, webhook URL), written in the same
-- transaction as the state change that caused it. The leader's delivery thread claims a
-- due row (claimed_until, claimed_by) before it POSTs it, so two instances never send the
-- same row at the same time, and marks it sent only after the webhook answered 2xx.
-- Delivery is at least once: a notification is never lost by a restart or a failover
-- while it is younger than 7 days, and it is sent again only if the process dies (or the
-- database stays unreachable until its claim runs out) between the webhook's 2xx and the
-- sent_at update. A failed attempt sets attempts and next_attempt_at (quick retries, then
-- 30 s doubling up to an hour); a row still failing 7 days after created_at is abandoned
-- (abandoned_at). A newer notification of the same alert to the same URL supersedes an
-- older one that is still unsent, as does the URL leaving [alert] webhook_url. Sent,
-- superseded and abandoned rows are deleted after 30 days.
CREATE TABLE alert_outbox (
    id               bigserial PRIMARY KEY,
    fingerprint      text NOT NULL,
    url              text NOT NULL,
    status           text NOT NULL CHECK (status IN ('firing', 'resolved')),
    body             text NOT NULL,             -- the JSON payload, as sent
    created_at       timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0, -- failed attempts (a round cut short counts whole)
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    claimed_until    timestamptz,               -- being sent by claimed_by until then
    claimed_by       text,                      -- host:pid:nonce of the claiming process
    last_error       text,                      -- why the last attempt failed
    sent_at          timestamptz,
    superseded_at    timestamptz,
    abandoned_at     timestamptz
);
CREATE INDEX alert_outbox_unsent_idx ON alert_outbox (id)
    WHERE sent_at IS NULL AND superseded_at IS NULL AND abandoned_at IS NULL;
CREATE INDEX alert_outbox_fingerprint_idx ON alert_outbox (fingerprint, url);
