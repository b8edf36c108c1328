"""Role sync: VRChat group roles ↔ Discord roles per binding, and the membership role (`/bridge roles`).

Import the modules themselves (bot.roles.service, bot.roles.cog, ...): this package imports nothing.
"""
