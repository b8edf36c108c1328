"""Linking Discord members to VRChat users: `/link`, `/unlink`, `/whois`, the Verify button, and
what join-request cards and rules know about a requester's link.

Import the modules themselves (bot.links.service, bot.links.cog, ...): this package imports nothing,
so the services can use bot.links.requesters without importing the rest.
"""
