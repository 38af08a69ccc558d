"""Pipeline stages: ingest, enrich, score, triage. Plain functions over batches."""
