"""The audit-log mirror: poller, outbox delivery and rendering."""
