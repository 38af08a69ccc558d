-- Who may sign in, with what, and what each person did: users (passwords hashed with argon2 by
-- pipeline/access/users.py, never stored in clear), their credentials (dashboard sessions and API
-- tokens, stored as SHA-256 of a random secret) and the audit log, which is only ever appended to.
CREATE SEQUENCE audit_seq START 1;

CREATE TABLE users (
    name            VARCHAR PRIMARY KEY,      -- the sign-in name, lower case
    display_name    VARCHAR,
    email           VARCHAR,                  -- matched by single sign-on
    role            VARCHAR NOT NULL,         -- admin, manager, agent, analyst, viewer
    teams           VARCHAR[] NOT NULL DEFAULT [],   -- care teams whose cases an agent works
    brands          VARCHAR[] NOT NULL DEFAULT [],   -- brands this person sees; empty = every brand
    password_hash   VARCHAR,                  -- NULL: single sign-on only
    disabled        BOOLEAN NOT NULL DEFAULT false,
    failed_logins   INTEGER NOT NULL DEFAULT 0,      -- in a row, reset by a good sign-in
    locked_until    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    last_login_at   TIMESTAMPTZ
);

CREATE TABLE credentials (
    id              VARCHAR PRIMARY KEY,      -- public part of the credential (s_… or t_…)
    kind            VARCHAR NOT NULL,         -- session, token
    user_name       VARCHAR NOT NULL,
    role            VARCHAR NOT NULL,         -- a token's role, never above its user's
    label           VARCHAR,
    secret_hash     VARCHAR NOT NULL,         -- SHA-256 hex of the secret part
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    revoked_at      TIMESTAMPTZ,
    last_used_at    TIMESTAMPTZ
);
CREATE INDEX credentials_user ON credentials (user_name);

CREATE TABLE audit_log (
    id              BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
    happened_at     TIMESTAMPTZ NOT NULL,
    actor           VARCHAR NOT NULL,         -- user name, 'system', or 'anonymous' (failed sign-in)
    via             VARCHAR NOT NULL,         -- session, token:<id>, oidc, cli, service
    action          VARCHAR NOT NULL,         -- e.g. case.acknowledge, user.add, auth.login
    target          VARCHAR,                  -- e.g. C-000012, a user name, a setting
    outcome         VARCHAR NOT NULL DEFAULT 'ok',  -- ok, denied, failed
    detail          JSON,
    chain           VARCHAR NOT NULL          -- SHA-256 of the previous row's chain and this row
);

-- Single sign-on in flight: the state and nonce of each authorisation request, until its callback,
-- then a one-time code the dashboard exchanges for its session.
CREATE TABLE sign_in_flows (
    state           VARCHAR PRIMARY KEY,
    nonce           VARCHAR NOT NULL,
    return_to       VARCHAR,
    created_at      TIMESTAMPTZ NOT NULL,
    code_hash       VARCHAR,                  -- set by the callback
    user_name       VARCHAR,
    used_at         TIMESTAMPTZ
);
