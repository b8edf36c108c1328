"""Join requests, one package from command to card: `cog.py` (`/vrc requests`; loaded by
`bot.bot.install_commands`), `loop.py` (the card rounds: when, for which groups, posting and closing
the messages), `cards.py` (how a card looks, open and closed), `views.py` (Approve / Reject / Block),
`service.py` (no Discord: list, decide, first click wins), `reconcile.py` (no Discord: which cards to
post and close), `model.py` (what a card shows about a request). The queries are in bot/store/cards.py.

Import the modules themselves (bot.requests.service, bot.requests.cog, ...).
"""

# bot.services builds the JoinRequestService (services.requests), so its package runs this package's
# service modules, which in turn use bot.services' modules. Whoever imports a module of this package
# first (the dry run imports bot.requests.cards), bot.services must be complete before those modules
# run, or Python meets one of them half-initialised: so it is imported here, before any of them.
import bot.services  # noqa: F401
