"""Join requests, one package from command to card: `cog.py` (`/vrc requests`; loaded by
`bot.bot.install_commands`), `loop.py` (the card rounds: when, for which groups, posting and closing
the messages), `cards.py` (how a card looks, open and closed), `views.py` (Approve / Reject / Block),
`service.py` (no Discord: list, decide, first click wins), `reconcile.py` (no Discord: which cards to
post and close), `model.py` (what a card shows about a request). The queries are in bot/store/cards.py.

Import the modules themselves (bot.requests.service, bot.requests.cog, ...).
"""
