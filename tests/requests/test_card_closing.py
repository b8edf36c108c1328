"""One look for a closed card: closed by a click or by the reconcile round, a card differs only in the
line that credits who ended the request (bot.requests.cards.close_card / closed_card)."""

from __future__ import annotations

import pytest

from bot.requests.cards import OUTCOME, Closing, closed_card, outcome_line
from bot.sandbox.discord import DiscordStandIn, button_click
from tests.discord.conftest import CLOSED_CARD, card_messages, components, labels, post_cards
from tests.fixtures.discord_gateway import GUILD_ID, MOD_ID
from tests.fixtures.vrchat_sim import SeededSim


def card_of(standin: DiscordStandIn, name: str):
    (card,) = [m for m in card_messages(standin) if name in m.embeds[0]["title"]]
    return card


def structure(embed: dict) -> dict:
    """What a closed card looks like, without what is about this request: its keys, colour and fields'
    names in order."""
    return {
        "keys": sorted(embed),
        "colour": embed.get("color"),
        "fields": [f["name"] for f in embed.get("fields", [])],
        "footer": sorted(embed.get("footer", {})),
    }


async def test_a_card_closed_by_a_click_looks_like_one_closed_by_the_round(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    state, group_id = seeded_sim.sim.state, seeded_sim.group.id
    # Two requesters alike in all a card shows, so only the way each card closes can differ.
    erin, finn = state.add_user("Erin", bio="Hello"), state.add_user("Finn", bio="Hello")
    state.request_to_join(group_id, erin.id)
    state.request_to_join(group_id, finn.id)
    async with make_bot() as bot:
        await post_cards(bot)
        opened = structure(card_of(gateway_standin, "Erin").embeds[0])
        assert opened == structure(card_of(gateway_standin, "Finn").embeds[0])
        # Erin's card: a moderator clicks Approve. Finn's: Alice accepts in VRChat, the round closes it.
        clicked = card_of(gateway_standin, "Erin")
        approve = button_click(
            components(clicked)[0]["custom_id"], clicked, member=gateway_standin.member(GUILD_ID, MOD_ID)
        )
        exchange = await gateway_standin.dispatch_interaction(approve)
        await exchange.wait_for_followup(1, timeout=10)
        assert "Done" in exchange.followups[0].body["content"]
        state.respond_request(group_id, finn.id, seeded_sim.moderator.id, "accept")
        await post_cards(bot)
        await post_cards(bot)  # a round after the click leaves both cards as they are
    by_click, by_round = card_of(gateway_standin, "Erin"), card_of(gateway_standin, "Finn")
    assert labels(by_click) == CLOSED_CARD and labels(by_round) == CLOSED_CARD
    click_embed, round_embed = by_click.embeds[0], by_round.embeds[0]
    assert structure(click_embed) == structure(round_embed)
    assert structure(click_embed)["fields"] == [*opened["fields"], OUTCOME]  # one Outcome, last
    assert click_embed["color"] != card_of(gateway_standin, "Carol").embeds[0]["color"]  # not pending
    assert click_embed["fields"][-1]["value"].startswith("**Accepted** by ")
    assert click_embed["fields"][-1]["value"].endswith(" via Discord")
    assert round_embed["fields"][-1]["value"] == "**Accepted** by Alice in VRChat"


def closing(state: str, by: str | None, where: str | None) -> Closing:
    return Closing("grp_1", "usr_1", "Carol", state, by, where)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "by", "where", "line"),
    [
        ("accepted", "Maya", "Discord", "**Accepted** by Maya via Discord"),
        ("rejected", "Alice", "VRChat", "**Rejected** by Alice in VRChat"),
        ("blocked", "Alice", None, "**Blocked** by Alice in VRChat"),  # where unknown: VRChat's doing
        ("accepted", None, "VRChat", "**Accepted** in VRChat"),
        ("gone", None, "VRChat", "**No longer pending**: withdrawn or handled elsewhere"),
    ],
)
def test_the_outcome_line_says_what_who_and_where(state, by, where, line) -> None:
    assert outcome_line(closing(state, by, where)) == line


def test_a_name_in_the_outcome_line_is_inert() -> None:
    line = outcome_line(closing("accepted", "@everyone **x**\n[a](https://e.x)", "Discord"))
    assert "@everyone" not in line and "\n" not in line
    assert "[a](" not in line and "**x**" not in line  # the link and the bold escaped, not live


def test_a_card_rebuilt_without_its_embed_has_the_same_closed_look() -> None:
    rebuilt = closed_card(None, closing("rejected", "Alice", "VRChat"))
    assert rebuilt.title == "Join request: Carol" and rebuilt.footer.text == "grp_1 · usr_1"
    assert [f.name for f in rebuilt.fields] == [OUTCOME]
    assert rebuilt.colour == closed_card(rebuilt, closing("rejected", "Alice", "VRChat")).colour
