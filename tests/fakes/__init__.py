"""Loopback fake platform servers (X, Reddit, YouTube, Google reviews) for the connector tests."""
