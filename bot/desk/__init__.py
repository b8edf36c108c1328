"""The moderation desk: a user's history and moderators' notes (`/vrc history`, `/vrc note`), the
summary and History button on join-request cards, and actions on the users in feed messages.

Import the modules themselves (bot.desk.service, bot.desk.cog, ...): this package imports nothing.
"""
