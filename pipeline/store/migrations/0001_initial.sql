-- The initial schema: mentions and their authors, scores, source cursors, cases with their audit
-- trail, messages, the outbox and alerts. Forward-only; applied once in a transaction.

CREATE SEQUENCE case_seq START 1;
CREATE SEQUENCE event_seq START 1;
CREATE SEQUENCE message_seq START 1;
CREATE SEQUENCE outbox_seq START 1;
CREATE SEQUENCE alert_seq START 1;
CREATE SEQUENCE correction_seq START 1;

CREATE TABLE authors (
    key           VARCHAR PRIMARY KEY,        -- platform:handle-or-id (lower case)
    platform      VARCHAR NOT NULL,
    handle        VARCHAR NOT NULL,
    native_id     VARCHAR,
    name          VARCHAR,
    followers     BIGINT,
    customer_id   VARCHAR,                    -- identity linked across platforms (customer 360)
    first_seen    TIMESTAMPTZ NOT NULL,
    last_seen     TIMESTAMPTZ NOT NULL
);

CREATE TABLE mentions (
    key           VARCHAR PRIMARY KEY,        -- platform:native_id
    platform      VARCHAR NOT NULL,
    native_id     VARCHAR NOT NULL,
    source        VARCHAR,
    kind          VARCHAR NOT NULL DEFAULT 'post',
    brand         VARCHAR,                    -- configured brand or competitor it mentions
    text          VARCHAR NOT NULL,
    title         VARCHAR,
    url           VARCHAR,
    lang_hint     VARCHAR,                    -- language given by the source, if any
    lang          VARCHAR,                    -- language identified by enrich
    author_key    VARCHAR NOT NULL,
    author        VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    fetched_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    parent_key    VARCHAR,
    thread_key    VARCHAR,
    rating        DOUBLE,
    likes         BIGINT NOT NULL DEFAULT 0,
    replies       BIGINT NOT NULL DEFAULT 0,
    shares        BIGINT NOT NULL DEFAULT 0,
    author_followers BIGINT,
    content_hash  VARCHAR NOT NULL,
    edits         INTEGER NOT NULL DEFAULT 0,
    cluster_key   VARCHAR,                    -- near-duplicate cluster (first mention's key)
    stage         VARCHAR NOT NULL DEFAULT 'new',  -- new -> scored -> triaged
    raw           JSON
);

CREATE TABLE scores (
    mention_key     VARCHAR NOT NULL,
    model_version   VARCHAR NOT NULL,
    lang            VARCHAR,
    sentiment       VARCHAR NOT NULL,
    p_negative      DOUBLE NOT NULL,
    p_neutral       DOUBLE NOT NULL,
    p_positive      DOUBLE NOT NULL,
    complaint       DOUBLE NOT NULL,
    intent          VARCHAR NOT NULL,
    urgency_score   DOUBLE NOT NULL,
    urgency_level   INTEGER NOT NULL,
    urgency_reasons VARCHAR[] NOT NULL,
    scored_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (mention_key, model_version)
);

CREATE TABLE corrections (
    id            BIGINT PRIMARY KEY DEFAULT nextval('correction_seq'),
    mention_key   VARCHAR NOT NULL,
    field         VARCHAR NOT NULL,           -- sentiment, urgency_level, complaint, intent
    old_value     VARCHAR,
    new_value     VARCHAR NOT NULL,
    actor         VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE source_state (
    source            VARCHAR PRIMARY KEY,    -- configured source name, or channel:<platform>
    platform          VARCHAR NOT NULL,
    cursor            JSON,
    last_run_at       TIMESTAMPTZ,
    last_success_at   TIMESTAMPTZ,
    last_error        VARCHAR,
    last_error_at     TIMESTAMPTZ,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    items_last        BIGINT NOT NULL DEFAULT 0,
    items_total       BIGINT NOT NULL DEFAULT 0,
    rate_limit        JSON,
    next_run_at       TIMESTAMPTZ
);

CREATE TABLE cases (
    id                  VARCHAR PRIMARY KEY,  -- C-000001
    status              VARCHAR NOT NULL,
    brand               VARCHAR,
    platform            VARCHAR NOT NULL,
    lang                VARCHAR,
    author_key          VARCHAR NOT NULL,
    author              VARCHAR NOT NULL,
    mention_key         VARCHAR NOT NULL,     -- the public post that opened the case
    rule                VARCHAR,
    team                VARCHAR,
    level               VARCHAR,
    assignee            VARCHAR,
    priority            INTEGER NOT NULL DEFAULT 2,
    urgency_level       INTEGER NOT NULL DEFAULT 0,
    urgency_score       DOUBLE NOT NULL DEFAULT 0,
    urgency_reasons     VARCHAR[] NOT NULL DEFAULT [],
    private_channel     VARCHAR,              -- dm, email, whatsapp, web_form
    private_conversation VARCHAR,
    opened_at           TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    first_response_due  TIMESTAMPTZ,
    first_response_at   TIMESTAMPTZ,
    resolution_due      TIMESTAMPTZ,
    deflected_at        TIMESTAMPTZ,
    resolved_at         TIMESTAMPTZ,
    closed_public_at    TIMESTAMPTZ,
    closed_at           TIMESTAMPTZ,
    sla_paused_at       TIMESTAMPTZ,          -- set while waiting for the customer
    sla_breached        BOOLEAN NOT NULL DEFAULT false,
    dismiss_reason      VARCHAR,
    csat_score          INTEGER
);

CREATE TABLE case_mentions (
    case_id       VARCHAR NOT NULL,
    mention_key   VARCHAR NOT NULL,
    added_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (case_id, mention_key)
);

CREATE TABLE case_events (
    id            BIGINT PRIMARY KEY DEFAULT nextval('event_seq'),
    case_id       VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    actor         VARCHAR NOT NULL,
    action        VARCHAR NOT NULL,
    from_status   VARCHAR,
    to_status     VARCHAR,
    detail        JSON,
    outbox_id     BIGINT
);

CREATE TABLE messages (
    id            BIGINT PRIMARY KEY DEFAULT nextval('message_seq'),
    case_id       VARCHAR,
    direction     VARCHAR NOT NULL,           -- inbound, outbound
    visibility    VARCHAR NOT NULL,           -- public, private
    platform      VARCHAR NOT NULL,
    native_id     VARCHAR,                    -- the platform's id once known
    author        VARCHAR NOT NULL,
    text          VARCHAR NOT NULL,
    lang          VARCHAR,
    created_at    TIMESTAMPTZ NOT NULL,
    outbox_id     BIGINT
);

CREATE TABLE outbox (
    id              BIGINT PRIMARY KEY DEFAULT nextval('outbox_seq'),
    idempotency_key VARCHAR NOT NULL UNIQUE,
    case_id         VARCHAR,
    kind            VARCHAR NOT NULL,         -- public_reply, private_message, public_close
    platform        VARCHAR NOT NULL,
    source          VARCHAR,                  -- configured source whose channel sends it
    in_reply_to     VARCHAR,
    recipient       VARCHAR,
    private_channel VARCHAR,
    text            VARCHAR NOT NULL,
    lang            VARCHAR,
    status          VARCHAR NOT NULL DEFAULT 'pending',  -- pending, sending, sent, failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      VARCHAR,
    platform_id     VARCHAR,
    url             VARCHAR,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);

CREATE TABLE alerts (
    id            BIGINT PRIMARY KEY DEFAULT nextval('alert_seq'),
    kind          VARCHAR NOT NULL,           -- urgent_case, volume_spike, sentiment_drop, vip_author, sla_breach
    dedupe_key    VARCHAR NOT NULL,
    severity      VARCHAR NOT NULL,
    title         VARCHAR NOT NULL,
    body          VARCHAR NOT NULL,
    payload       JSON,
    created_at    TIMESTAMPTZ NOT NULL,
    status        VARCHAR NOT NULL DEFAULT 'pending',  -- pending, sent, failed, suppressed
    delivered_at  TIMESTAMPTZ,
    error         VARCHAR
);
