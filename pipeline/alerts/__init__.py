"""Alerts: watch for what deserves one, build its message, deliver it."""
