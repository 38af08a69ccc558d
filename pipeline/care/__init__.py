"""Customer care: a case from open to closed.

Lifecycle, cases, replies, outbox, routing, SLA, CSAT and customers.
"""
