-- Mentions a stage could not process: set aside with the reason, so the items behind them go on.
-- The mention's stage becomes 'set_aside' (out of every queue) until a person retries it (back
-- to the stage that failed) or discards it (stage 'discarded': kept for counts, never scored).
CREATE TABLE set_aside (
    mention_key   VARCHAR PRIMARY KEY,
    stage         VARCHAR NOT NULL,           -- score, triage
    reason        VARCHAR NOT NULL,           -- the error's kind and message, capped
    attempts      INTEGER NOT NULL DEFAULT 1,
    first_at      TIMESTAMPTZ NOT NULL,
    last_at       TIMESTAMPTZ NOT NULL,
    status        VARCHAR NOT NULL DEFAULT 'held',  -- held, retried, discarded
    decided_by    VARCHAR
);
