"""`groupbridge group-id REF`: the ID of a group named by its link or short code, as config.toml wants it.

config.toml takes only group IDs (it is read without network), while an operator often has only the
group's short code (ABCDE.1234) or its link. This logs in as the dry run does (session.py: the saved
session, never a prompt), finds the ID the way /bridge link does (bot.services.group_refs), reads the
group's name, and prints a [[groups]] entry ready to paste. Only GET requests follow the login.
"""

from __future__ import annotations

import sys

from rich.console import Console

from bot.config import Config
from bot.config.accounts import vrchat_accounts
from bot.services.common import InvalidInput, NotFoundError
from bot.services.group_refs import group_id_of, group_ref
from bot.vrchat import NotFound, VRChatError
from bot.wiring import open_account_pool

from .run import EXIT_CONFIG, EXIT_FAILURE, EXIT_OK
from .session import log_in_accounts
from .terminal import terminal_safe

# TOML basic strings: these escape as themselves; other control characters as \uXXXX.
_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(text: str) -> str:
    """`text` as a TOML basic string: any group name reads back as itself (tomllib)."""

    def escape(ch: str) -> str:
        if ch in _TOML_ESCAPES:
            return _TOML_ESCAPES[ch]
        return f"\\u{ord(ch):04x}" if ord(ch) < 0x20 or ord(ch) == 0x7F else ch

    return '"' + "".join(escape(ch) for ch in text) + '"'


def groups_entry(group_id: str, name: str) -> str:
    return f"[[groups]]\nid = {toml_string(group_id)}\nname = {toml_string(name)}\n"


async def group_id_command(config: Config, *, ref: str) -> int:
    """Print the group's ID, name and [[groups]] entry; 0, 1 (login failed, not found) or 2 (not a
    group reference: nothing was sent)."""
    try:
        wanted = group_ref(ref)
    except InvalidInput as exc:
        print(f"groupbridge group-id: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    # Progress goes to stderr: stdout is only the answer, for a script or a paste.
    status = Console(file=sys.stderr, markup=False, emoji=False, highlight=False, soft_wrap=True)
    pool = await open_account_pool(config)
    try:
        first = [(vrchat_accounts(config)[0], pool.accounts[0])]
        if not await log_in_accounts(first, status, several=len(pool) > 1):
            return EXIT_FAILURE
        client = pool.accounts[0].client
        try:
            group_id = await group_id_of(client, wanted)
        except NotFoundError as exc:
            print(f"groupbridge group-id: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        try:
            group = await client.get_group(group_id)
        except NotFound:
            print(f"groupbridge group-id: VRChat has no group {group_id}.", file=sys.stderr)
            return EXIT_FAILURE
        except VRChatError as exc:
            print(f"groupbridge group-id: VRChat did not answer: {exc}", file=sys.stderr)
            return EXIT_FAILURE
    finally:
        await pool.close()
    name = group.name
    code = f"{group.short_code}.{group.discriminator}" if group.short_code and group.discriminator else None
    shown = terminal_safe(name).replace("\n", " ")
    print(f"Group: {shown}" + (f" ({code})" if code else ""))
    print(f"ID:    {group_id}")
    print("\nTo allow it in config.toml, paste:\n")
    print(groups_entry(group_id, name), end="")
    return EXIT_OK
