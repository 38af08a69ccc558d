-- Customer 360 and agent availability: identity links decided by agents (with audit), and
-- agents' on/off shift state as changed from the dashboard or the API.

CREATE SEQUENCE customer_seq START 1;
CREATE SEQUENCE identity_link_seq START 1;

CREATE TABLE identity_links (
    id            BIGINT PRIMARY KEY DEFAULT nextval('identity_link_seq'),
    a_key         VARCHAR NOT NULL,           -- authors.key
    b_key         VARCHAR NOT NULL,
    decision      VARCHAR NOT NULL,           -- linked, rejected
    actor         VARCHAR NOT NULL,
    reason        VARCHAR,
    confidence    DOUBLE,                     -- of the suggestion, when it came from one
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE agent_shifts (
    agent         VARCHAR PRIMARY KEY,
    on_shift      BOOLEAN NOT NULL,
    updated_by    VARCHAR NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
