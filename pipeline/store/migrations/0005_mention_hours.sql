-- Mentions counted per hour, platform, brand, language, current sentiment and urgency: what the
-- overview and the spike detector read instead of every mention. Kept exact by recounting the hours
-- a write touches (new or edited mentions, scores), in the same transaction as the write.
CREATE TABLE mention_hours (
    hour            TIMESTAMPTZ NOT NULL,
    platform        VARCHAR NOT NULL,
    brand           VARCHAR NOT NULL,   -- '' when the mention names no configured brand (yet)
    lang            VARCHAR NOT NULL,   -- detected, else the source's hint, else ''
    sentiment       VARCHAR NOT NULL,   -- current sentiment; '' while not scored
    urgency_level   INTEGER NOT NULL,   -- current urgency level; -1 while not scored
    mentions        BIGINT NOT NULL
);

INSERT INTO mention_hours
SELECT date_trunc('hour', m.created_at), m.platform, coalesce(m.brand, ''),
       coalesce(m.lang, m.lang_hint, ''), coalesce(s.sentiment, ''), coalesce(s.urgency_level, -1),
       count(*)
FROM mentions m LEFT JOIN current_scores s ON s.mention_key = m.key
GROUP BY ALL
ORDER BY 1;
