"""The login of the read-only commands (`run --dry-run`, `group-id`): as `run` logs in, never asking.

Each account reuses its saved session, else logs in with the configured password and TOTP secret; a
login that needs a person fails with the AuthError text, which names `groupbridge login` (and never
carries the password, codes or cookies).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from rich.console import Console

from bot.config.accounts import AccountLogin
from bot.vrchat import VRChatError
from bot.vrchat.pool import Account

from .terminal import line


async def log_in_accounts(
    accounts: Iterable[tuple[AccountLogin, Account]], out: Console, *, several: bool
) -> bool:
    """Log each account in, in turn, and say how on `out`; False (said on stderr) at the first that
    cannot. `several`: the accounts are named in the failure, as there is a choice of them."""
    for login, account in accounts:
        client = account.client
        try:
            user_id = await client.login()
            me = await client.get_current_user()
        except VRChatError as exc:
            whose = f" as {account.name}" if several else ""
            print(f"Cannot log in to VRChat{whose}: {exc}", file=sys.stderr)
            return False
        how = (
            f"logged in with the password; session saved to {login.session_file}"
            if client.password_logins
            else f"reused the saved session in {login.session_file}"
        )
        out.print(line("VRChat account: ", (me.display_name or user_id, "bold"), f" ({user_id}), {how}."))
    return True
