"""Slash-command cogs, discovered by the bot; modules starting with "_" are helpers, not cogs."""
