-- Lookups the case and mention pages make by something other than the primary key: a thread's
-- replies, an author's other mentions, the case a mention belongs to.
CREATE INDEX mentions_thread ON mentions(thread_key);
CREATE INDEX mentions_author ON mentions(author_key);
CREATE INDEX case_mentions_mention ON case_mentions(mention_key);
