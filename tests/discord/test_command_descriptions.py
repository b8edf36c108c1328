"""Every command, subcommand group and option the bot registers has a description a moderator can use:
not discord.py's placeholder "…", which it fills in for a parameter nobody described."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.discord.conftest import offline_command_tree

PLACEHOLDER = "…"


def registered_commands() -> list[dict[str, Any]]:
    """The bodies `tree.sync` would send, built offline by the bot's own `install_commands`."""
    tree = offline_command_tree()
    return [command.to_dict(tree) for command in tree.get_commands()]


def described(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, str]]:
    """(qualified name, description) of a command and everything under it."""
    here = f"{path} {node['name']}".strip()
    yield here, node.get("description", "")
    for option in node.get("options", []):
        yield from described(option, here)


def test_no_command_or_option_has_the_placeholder_description() -> None:
    everything = [pair for command in registered_commands() for pair in described(command)]
    assert len(everything) > 50  # the walk reached the options
    placeholders = [name for name, text in everything if text.strip() in ("", PLACEHOLDER)]
    assert placeholders == [], f"describe these with @app_commands.describe: {placeholders}"
