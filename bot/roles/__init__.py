"""Role sync: VRChat group roles ↔ Discord roles per binding, and the membership role (`/rolesync`).

Import the modules themselves (bot.roles.service, bot.roles.cog, ...): this package imports nothing.
"""
