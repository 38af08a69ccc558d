-- The current score of each mention is data, not a query: one row per mention, written in the same
-- transaction as its history row in `scores` (kept for audit and re-scoring).
CREATE TABLE current_scores (
    mention_key     VARCHAR PRIMARY KEY,
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
    scored_at       TIMESTAMPTZ NOT NULL
);

INSERT INTO current_scores
SELECT mention_key, model_version, lang, sentiment, p_negative, p_neutral, p_positive, complaint,
       intent, urgency_score, urgency_level, urgency_reasons, scored_at
FROM scores
QUALIFY row_number() OVER (PARTITION BY mention_key ORDER BY scored_at DESC, model_version DESC) = 1;
