-- The full-text index beside the database (pipeline/store/fulltext.py) follows the mentions by
-- two numbers: search_id names a mention in the index for good, search_seq grows with every write
-- of its words. The index commits the highest search_seq it holds together with the documents, so
-- after a crash between the two commits it re-indexes from there (delete by key, then add).
-- No index on search_seq: it grows with insertion order, so zone maps already skip old rows.
CREATE SEQUENCE mention_search_id;
CREATE SEQUENCE mention_search_seq;
ALTER TABLE mentions ADD COLUMN search_id BIGINT DEFAULT nextval('mention_search_id');
ALTER TABLE mentions ADD COLUMN search_seq BIGINT DEFAULT nextval('mention_search_seq');
