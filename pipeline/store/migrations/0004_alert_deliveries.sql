-- Deliveries held through a subscription's quiet hours are state, not memory: each run of the
-- alert watcher sends the rows that are due, so a restart loses none of them.
CREATE SEQUENCE alert_delivery_seq START 1;

CREATE TABLE alert_deliveries (
    id            BIGINT PRIMARY KEY DEFAULT nextval('alert_delivery_seq'),
    alert_id      BIGINT NOT NULL,            -- alerts.id
    subscription  VARCHAR NOT NULL,           -- its URLs hold tokens, so they are read from the settings when sent
    send_at       TIMESTAMPTZ NOT NULL,       -- the end of the quiet hours, then the next retry
    status        VARCHAR NOT NULL DEFAULT 'pending',  -- pending, sent, failed
    attempts      INTEGER NOT NULL DEFAULT 0,
    error         VARCHAR,
    created_at    TIMESTAMPTZ NOT NULL,
    delivered_at  TIMESTAMPTZ
);

-- Alerts deferred before this migration were held by a process that has stopped; which
-- subscriptions they were for was never written down, so say so instead of "deferred" for good.
UPDATE alerts SET status = 'failed',
    error = 'held for quiet hours by a process that stopped before it could send it'
WHERE status = 'deferred';
