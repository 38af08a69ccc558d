"""The pipeline: records, settings, store, stages, cases, outbox, alerts, service and CLI."""
