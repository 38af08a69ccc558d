-- Privacy of the people we listen to (pipeline/store/privacy.py): an erased mention keeps its row,
-- so counts and hourly rollups survive, but loses its text, handle, links and payload; these
-- columns say when and why (request, retention, deleted on the platform). Ingest never writes
-- an erased row again. (An erased case is known by its author key, 'erased:<token>': the case
-- row is read whole into a typed record, so it gets no column of its own.)
ALTER TABLE mentions ADD COLUMN erased_at TIMESTAMPTZ;
ALTER TABLE mentions ADD COLUMN erased_reason VARCHAR;  -- request, retention, deleted
