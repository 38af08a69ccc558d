-- What each signed-in person chose to keep between sessions (the queue's filters, for one): one
-- JSON object per person and preference name, written by the person only, through
-- PUT /me/preferences/{name}. The value is the JSON text as sent, capped by the API.
CREATE TABLE preferences (
    user_name     VARCHAR NOT NULL,           -- users.name of the person who saved it
    name          VARCHAR NOT NULL,           -- which preference: queue_filters, ...
    value         VARCHAR NOT NULL,           -- a JSON object, as text
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_name, name)
);
