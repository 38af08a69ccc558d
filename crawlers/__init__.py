"""Connectors: read mentions from platforms, sites and files (Source) and post replies (Channel)."""
