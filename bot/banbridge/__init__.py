"""Discord bans that reach VRChat: when a linked member is banned (or, where asked, kicked) in Discord,
the binding's moderators are asked (or, opted in, the bot bans at once) to ban the linked account in
the VRChat group too.

`cog.py` (the gateway listeners, the start-up sweep, `/bridge bans`; loaded by
`bot.bot.install_commands`), `views.py` (the card and its Confirm / Dismiss buttons), `service.py`
(no Discord); the queries in `bot/store/ban_prompts.py`. Import the modules themselves.
"""
