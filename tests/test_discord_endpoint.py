"""bot.discord_endpoint: the one place that points discord.py elsewhere, and its check that the
installed discord.py still works the way it patches it."""

from __future__ import annotations

import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.discord_endpoint import UnsupportedDiscordPy, check_supported, current_base, pointed_at

STAND_IN = "http://127.0.0.1:9/api/v10"


def test_inside_the_block_rest_and_the_gateway_go_to_the_target_and_back_after():
    before_base, before_gateway = current_base(), DiscordWebSocket.DEFAULT_GATEWAY
    with pointed_at(STAND_IN + "/", gateway="ws://127.0.0.1:9/gateway") as base:
        assert base == STAND_IN == current_base()
        assert Route("GET", "/channels/{channel_id}", channel_id=1).url == f"{STAND_IN}/channels/1"
        assert yarl.URL("ws://127.0.0.1:9/gateway") == DiscordWebSocket.DEFAULT_GATEWAY
    assert (current_base(), DiscordWebSocket.DEFAULT_GATEWAY) == (before_base, before_gateway)


def test_the_installed_discord_py_is_supported():
    check_supported()  # what the whole suite runs on: no exception


# What a discord.py upgrade could change, each made here on purpose: the hook must refuse loudly,
# before the bot could reach discord.com instead of the stand-in.


def test_refuses_when_route_base_is_gone(monkeypatch):
    monkeypatch.delattr(Route, "BASE")
    with pytest.raises(UnsupportedDiscordPy, match=r"Route\.BASE is gone"), pointed_at(STAND_IN):
        pass


def test_refuses_when_routes_no_longer_build_their_url_from_base(monkeypatch):
    fixed = Route.BASE
    original = Route.__init__

    def init(self, method, path, **kwargs):
        original(self, method, path, **kwargs)
        self.url = fixed + path  # as if the base were read once, at import

    monkeypatch.setattr(Route, "__init__", init)
    with pytest.raises(UnsupportedDiscordPy, match=r"no longer built from Route\.BASE"), pointed_at(STAND_IN):
        pass
    assert current_base() == fixed  # the probe put the base back


def test_refuses_when_the_default_gateway_changes_shape(monkeypatch):
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", "wss://gateway.discord.gg/")
    with pytest.raises(UnsupportedDiscordPy, match=r"DEFAULT_GATEWAY is gone or no longer a yarl\.URL"):
        check_supported()


def test_refuses_when_the_gateway_connection_no_longer_reads_the_default(monkeypatch):
    async def from_client(cls, client, *, gateway=None, **kwargs):
        return gateway or yarl.URL("wss://gateway.discord.gg/")

    monkeypatch.setattr(DiscordWebSocket, "from_client", classmethod(from_client))
    with pytest.raises(UnsupportedDiscordPy, match="from_client no longer reads DEFAULT_GATEWAY") as refused:
        check_supported()
    assert "discord.py 2." in str(refused.value)  # names the installed version
