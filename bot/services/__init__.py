"""The services the Discord cogs call: plain values in, dataclasses out, ServiceError for the user.

No Discord here. Every mutating method checks permission itself (the cog's check is not trusted)
and validates its input before any VRChat request or database write. `bot.services.registry` builds
them all (`Services`) and names what callers use; this package's own namespace stays empty, so a
feature package (bot.requests) may use a service module without running the registry, which builds
that feature's service in turn.
"""
