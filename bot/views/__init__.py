"""Discord UI components: restart-safe buttons (DynamicItems) and short-lived confirmations."""
