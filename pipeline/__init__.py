"""The pipeline: the contract (records, settings, errors, ports, query, fold), the store, analytics,
customer care, the listening stages, alerts, the service, its HTTP API and the CLI."""
