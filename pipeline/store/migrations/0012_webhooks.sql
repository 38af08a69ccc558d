-- Webhook deliveries kept before they are answered, delivery states of the messages we sent,
-- and the customers who opted in to a channel by writing to us first.

-- One row per distinct delivery: a body the platform retries is the same body, so its SHA-256
-- stores it once. The row is committed before the platform hears 200; the service's cycle parses
-- it later ('pending' -> 'processed'), or sets it aside with the reason ('set_aside').
CREATE TABLE webhook_inbox (
    digest        VARCHAR PRIMARY KEY,        -- hex SHA-256 of the raw body
    source        VARCHAR NOT NULL,           -- the configured source the platform called
    body          BLOB NOT NULL,              -- the raw body, exactly as signed
    received_at   TIMESTAMPTZ NOT NULL,
    deliveries    INTEGER NOT NULL DEFAULT 1, -- how often the platform sent it
    status        VARCHAR NOT NULL DEFAULT 'pending',  -- pending, processed, set_aside
    reason        VARCHAR,                    -- why it was set aside
    processed_at  TIMESTAMPTZ
);

-- What the platform reported about a message we sent: sent, delivered, read or failed.
ALTER TABLE messages ADD COLUMN delivery_status VARCHAR;
ALTER TABLE messages ADD COLUMN delivery_at TIMESTAMPTZ;
ALTER TABLE messages ADD COLUMN delivery_error VARCHAR;

-- A customer who wrote to us on a channel (WhatsApp, e-mail) has opted in to hear back there.
CREATE TABLE channel_opt_ins (
    channel       VARCHAR NOT NULL,           -- whatsapp, email
    address       VARCHAR NOT NULL,           -- wa_id or e-mail address, as the platform gives it
    opted_in_at   TIMESTAMPTZ NOT NULL,
    case_id       VARCHAR,                    -- the case their first message joined, if any
    PRIMARY KEY (channel, address)
);
