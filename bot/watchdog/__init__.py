"""Alerts on runaway moderators: one actor's burst of kicks, bans or role removals, counted from the
mirrored audit log, posted once per episode with a kill switch and a Dismiss button.

`detector.py` (pure: what an episode is), `settings.py` (per-binding thresholds, `[bindings.alerts]`),
`service.py` (no Discord: checks, the kill switch, Dismiss, `/bridge alerts`), `render.py` (the alert
message), `views.py` (the buttons), `loop.py` (check after each ingest, deliver exactly once),
`cog.py` (`/bridge alerts`; loaded from bot.bot.install_commands). Queries: bot/store/moderator_alerts.py.

Import the modules themselves: this package imports nothing.
"""
