"""What the CLI's subcommands do once the configuration is known to be good.

Kept apart from `bot.cli` so `groupbridge check-config` works with nothing else importable, and apart
from the layers below so they stay free of process concerns (prompts, exit codes, printing).
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from typing import TYPE_CHECKING

from bot.logs import register_secret
from bot.vrchat import AuthError, Politeness, VRChatClient, VRChatError

if TYPE_CHECKING:
    from bot.config import Config


def _secret(value: object) -> str | None:
    if value is None:
        return None
    raw = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return raw or None


def make_vrchat_client(
    config: Config, *, username: str | None = None, password: str | None = None
) -> VRChatClient:
    """The one place a VRChatClient is built from configuration."""
    vrc = config.vrchat
    password = password or _secret(vrc.password)
    totp_secret = _secret(vrc.totp_secret)
    for secret in (password, totp_secret):
        if secret:
            register_secret(secret)
    return VRChatClient(
        base_url=vrc.base_url,
        user_agent=vrc.user_agent,
        session_path=vrc.session_file,
        username=username or vrc.username or None,
        password=password,
        totp_secret=totp_secret,
        relogin_interval=vrc.relogin_interval_seconds,
        politeness=Politeness(
            requests_per_second=vrc.requests_per_second,
            burst=vrc.burst,
            max_backoff=vrc.max_backoff_seconds,
            timeout=vrc.request_timeout_seconds,
        ),
    )


async def _console_two_factor(methods: list[str]) -> tuple[str, str]:
    """Ask the person at the terminal for a 2FA code; recovery codes are read without echo."""
    labels = {"totp": "authenticator app code", "otp": "recovery code", "emailOtp": "code from the e-mail"}
    offered = [m for m in ("totp", "emailOtp", "otp") if m in methods]
    if not offered:
        raise AuthError(f"VRChat asks for an unsupported two-factor method: {', '.join(methods)}")
    method = offered[0]
    if len(offered) > 1:
        print("VRChat asks for two-factor authentication. Choose:")
        for number, name in enumerate(offered, 1):
            print(f"  {number}. {labels[name]}")
        choice = await asyncio.to_thread(input, f"[1-{len(offered)}, default 1]: ")
        if choice.strip().isdigit() and 1 <= int(choice) <= len(offered):
            method = offered[int(choice) - 1]
    reader = getpass.getpass if method == "otp" else input
    code = await asyncio.to_thread(reader, f"Enter the {labels[method]}: ")
    return method, code


async def login_interactive(config: Config, *, fresh: bool = False) -> int:
    """`groupbridge login`: log the bot's account in once, answering 2FA, and save the session (0600)."""
    username = config.vrchat.username or await asyncio.to_thread(input, "VRChat username or e-mail: ")
    password = _secret(config.vrchat.password)
    try:
        if not fresh and not password:
            # Without a configured password, only ask for one if the saved session is really gone.
            async with make_vrchat_client(config, username=username) as probe:
                user_id = await _try_saved_session(probe)
            if user_id:
                print(f"The saved session is still valid ({user_id}); nothing to do.")
                return 0
        password = password or await asyncio.to_thread(getpass.getpass, "VRChat password: ")
        async with make_vrchat_client(config, username=username, password=password) as client:
            if fresh:
                await client.forget_session()
            user_id = await client.login(prompt=_console_two_factor, force=fresh)
            me = await client.get_current_user()
    except (AuthError, VRChatError) as exc:
        print(f"Login failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"Logged in as {me.display_name} ({user_id}). "
        f"Session saved to {config.vrchat.session_file} (mode 0600)."
    )
    return 0


async def _try_saved_session(client: VRChatClient) -> str | None:
    try:
        return await client.login()
    except AuthError:
        return None


async def db_upgrade(config: Config) -> int:
    from bot.store.migrate import upgrade

    await asyncio.to_thread(upgrade, config.database.url)
    print("Database is at the newest schema.")
    return 0


async def run_bot(config: Config) -> int:
    """Check the VRChat session without a password loop; the Discord front itself is not built yet."""
    async with make_vrchat_client(config) as client:
        try:
            user_id = await client.login()
        except (AuthError, VRChatError) as exc:
            print(f"Cannot start: {exc}", file=sys.stderr)
            return 1
    print(
        f"VRChat session OK ({user_id}). The Discord side of `groupbridge run` is not built yet "
        "(see the README's Status section); exiting.",
        file=sys.stderr,
    )
    return 3


async def sync_commands(config: Config) -> int:
    print(
        "Slash commands do not exist yet (see the README's Status section); nothing to sync.", file=sys.stderr
    )
    return 3
