-- Predictions by content: retweets, quote copies, copy-paste campaigns and re-polled edits repeat
-- text, and each distinct classifier input is sent to the model once. `content_hash` covers every
-- input of the prediction and the model and release that made it (pipeline/store/score_cache.py);
-- rows are written in the same transaction as the scores they produced.
CREATE TABLE score_cache (
    content_hash    VARCHAR PRIMARY KEY,
    model_version   VARCHAR NOT NULL,
    lang            VARCHAR NOT NULL,
    sentiment       VARCHAR NOT NULL,
    p_negative      DOUBLE NOT NULL,
    p_neutral       DOUBLE NOT NULL,
    p_positive      DOUBLE NOT NULL,
    complaint       DOUBLE NOT NULL,
    intent          VARCHAR NOT NULL,
    urgency_score   DOUBLE NOT NULL,
    urgency_level   INTEGER NOT NULL,
    urgency_reasons VARCHAR[] NOT NULL,
    cached_at       TIMESTAMPTZ NOT NULL
);
