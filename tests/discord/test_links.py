"""`/link`, Verify, `/unlink` and `/whois` through the real bot on the Discord stand-in and the VRChat
simulator: who can link what, and every way a link must not happen, each refused in one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.links.service import ISSUE_CAP, VERIFY_CAP
from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.discord.models import StandInUser
from tests.discord.conftest import assert_messages_disable_mentions, command, first_reply
from tests.discord.linking import Clock, link_start, link_through_bot, press_verify, reply_text, use_clock
from tests.fixtures.discord_gateway import GUILD_ID, MEMBER_ID, MOD_ID
from tests.fixtures.vrchat_profiles import edit_profile
from tests.fixtures.vrchat_sim import SeededSim

OUTSIDER_DISCORD_ID = 1_500_000_000_000_000_077  # a Discord user in no server of the bot


@pytest.fixture(autouse=True)
def every_reply_private_and_silent(gateway_standin: DiscordStandIn):
    yield
    assert_messages_disable_mentions(gateway_standin, ephemeral=True)


def one_line(text: str) -> bool:
    return "\n" not in text.strip() and 0 < len(text) <= 300


async def test_a_member_links_their_account_sees_it_and_removes_it(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    dave = seeded_sim.outsider.id
    async with make_bot() as bot:
        issued = await link_start(gateway_standin, f"https://vrchat.com/home/user/{dave}", MEMBER_ID)
        assert "bio or the status description" in issued.text and "Verify" in issued.text
        assert await bot.store.link_of_discord(MEMBER_ID) is None  # nothing before Verify
        code_row = await bot.store.link_code_of(MEMBER_ID)
        assert code_row is not None and issued.code not in repr(code_row)  # a digest, not the code

        edit_profile(seeded_sim.sim, dave, status_description=f"ask me {issued.code.lower()}")
        outcome = await press_verify(gateway_standin, issued, MEMBER_ID)
        assert outcome.startswith("Linked: your Discord account is now linked")
        assert "remove the code" in outcome
        link = await bot.store.link_of_discord(MEMBER_ID)
        assert link is not None and link.vrchat_user_id == dave
        (added,) = await bot.store.list_actions(action="link.add")
        assert (added.discord_user_id, added.target_id, added.guild_id) == (MEMBER_ID, dave, GUILD_ID)

        status = await reply_text(gateway_standin, "link", "status", {}, MEMBER_ID)
        assert "is linked to" in status and dave.replace("_", "\\_") in status

        member = gateway_standin.member(GUILD_ID, MEMBER_ID)
        whois = await reply_text(gateway_standin, "whois", "member", {"member": member}, MOD_ID)
        assert f"<@{MEMBER_ID}> is linked to" in whois and dave in whois
        back = await reply_text(gateway_standin, "whois", "vrchat", {"user": dave}, MOD_ID)
        assert f"is linked to <@{MEMBER_ID}> (in this server)" in back

        removed = await reply_text(gateway_standin, "unlink", "", {}, MEMBER_ID)
        assert removed.startswith("Unlinked: your Discord account is no longer linked")
        assert await bot.store.link_of_discord(MEMBER_ID) is None
        (gone,) = await bot.store.list_actions(action="link.remove")
        assert gone.discord_user_id == MEMBER_ID and gone.details == {
            "discord_user_id": str(MEMBER_ID),
            "by": "self",
        }
        after = await reply_text(gateway_standin, "whois", "vrchat", {"user": dave}, MOD_ID)
        assert "is not linked to a Discord account" in after


async def test_a_code_for_one_account_in_another_accounts_bio_links_nothing(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    carol, dave = seeded_sim.requester.id, seeded_sim.outsider.id
    async with make_bot() as bot:
        issued = await link_start(gateway_standin, carol, MEMBER_ID)  # claims to be Carol...
        edit_profile(seeded_sim.sim, dave, bio=issued.code)  # ...but controls only Dave
        outcome = await press_verify(gateway_standin, issued, MEMBER_ID)
        assert outcome.startswith(f"The code wasn't found in the bio or status of {carol}.")
        assert one_line(outcome)
        assert await bot.store.link_of_vrchat(carol) is None and await bot.store.link_of_vrchat(dave) is None


async def test_an_expired_code_links_nothing(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    dave = seeded_sim.outsider.id
    clock = Clock()
    async with make_bot() as bot:
        use_clock(bot, clock)
        issued = await link_start(gateway_standin, dave, MEMBER_ID)
        edit_profile(seeded_sim.sim, dave, bio=issued.code)
        clock.advance(minutes=10)
        gets = len(seeded_sim.sim.requests_to("GET", rf"^/users/{dave}$"))
        outcome = await press_verify(gateway_standin, issued, MEMBER_ID)
        assert outcome == "This code has expired; run /link start again."
        assert len(seeded_sim.sim.requests_to("GET", rf"^/users/{dave}$")) == gets  # VRChat was not asked
        assert await bot.store.link_of_discord(MEMBER_ID) is None


async def test_a_used_code_links_once(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    dave = seeded_sim.outsider.id
    async with make_bot() as bot:
        issued = await link_start(gateway_standin, dave, MEMBER_ID)
        edit_profile(seeded_sim.sim, dave, bio=issued.code)
        assert (await press_verify(gateway_standin, issued, MEMBER_ID)).startswith("Linked")
        await reply_text(gateway_standin, "unlink", "", {}, MEMBER_ID)  # the code is still in the bio
        again = await press_verify(gateway_standin, issued, MEMBER_ID)
        assert again.startswith("This code is no longer valid") and one_line(again)
        assert await bot.store.link_of_discord(MEMBER_ID) is None
        # Without the unlink, the same button says so plainly.
        issued = await link_start(gateway_standin, dave, MEMBER_ID)
        edit_profile(seeded_sim.sim, dave, bio=issued.code)
        assert (await press_verify(gateway_standin, issued, MEMBER_ID)).startswith("Linked")
        again = await press_verify(gateway_standin, issued, MEMBER_ID)
        assert again.startswith("Already used") and one_line(again)
        assert len(await bot.store.list_actions(action="link.add")) == 2


async def test_another_discord_users_code_links_nothing(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    dave = seeded_sim.outsider.id
    async with make_bot() as bot:
        theirs = await link_start(gateway_standin, dave, MEMBER_ID)
        edit_profile(seeded_sim.sim, dave, bio=theirs.code)
        gets = len(seeded_sim.sim.requests)
        # The moderator presses the member's button (Discord would not even show it to them).
        outcome = await press_verify(gateway_standin, theirs, MOD_ID)
        assert outcome == "This code was issued to another Discord account."
        assert len(seeded_sim.sim.requests) == gets
        # The moderator asks for a code of their own but copies the member's into the bio.
        mine = await link_start(gateway_standin, dave, MOD_ID)
        edit_profile(seeded_sim.sim, dave, bio=theirs.code)
        outcome = await press_verify(gateway_standin, mine, MOD_ID)
        assert outcome.startswith(f"The code wasn't found in the bio or status of {dave}.")
        assert await bot.store.link_of_vrchat(dave) is None
        # The member's own code still works for them.
        assert (await press_verify(gateway_standin, theirs, MEMBER_ID)).startswith("Linked")


HOSTILE_BIOS = [
    "@everyone @here <@&1400000000000000001> <@1500000000000000002> [click](https://evil.example/) " * 50,
    "x" * 5000,
    "\ud800\udfff\ud83d lone halves \udc00 " * 100,
    "GB-2345-6789 GB-CFGH-JMPQ " * 200,  # other codes, never the issued one
]


@pytest.mark.parametrize(
    "bio", HOSTILE_BIOS, ids=["mentions", "5000-chars", "lone-surrogates", "other-codes"]
)
async def test_a_hostile_bio_links_nothing_and_is_never_repeated(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bio: str
) -> None:
    dave = seeded_sim.outsider.id
    async with make_bot() as bot:
        issued = await link_start(gateway_standin, dave, MEMBER_ID)
        edit_profile(
            seeded_sim.sim,
            dave,
            bio=f"{bio}X{issued.code}",
            status_description=f"{issued.code}-{bio[:20]}",
            beyond_spec=len(bio) > 512,
        )
        outcome = await press_verify(gateway_standin, issued, MEMBER_ID)
        assert outcome.startswith(f"The code wasn't found in the bio or status of {dave}.") and one_line(
            outcome
        )
        for piece in ("everyone", "evil", "xxxx", "lone", "GB-2345"):
            assert piece not in outcome
        assert await bot.store.link_of_discord(MEMBER_ID) is None


@pytest.mark.parametrize(
    "bio", HOSTILE_BIOS, ids=["mentions", "5000-chars", "lone-surrogates", "other-codes"]
)
async def test_the_code_standing_alone_in_a_hostile_bio_links(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bio: str
) -> None:
    """The control for the test above: the same bios with the code as a token of its own do link (a
    lone surrogate next to it arrives as U+FFFD, which ends a token), and still nothing is repeated."""
    dave = seeded_sim.outsider.id
    async with make_bot() as bot:
        issued = await link_start(gateway_standin, dave, MEMBER_ID)
        edit_profile(seeded_sim.sim, dave, bio=f"{bio}\ud800{issued.code}\n{bio}"[:6000], beyond_spec=True)
        outcome = await press_verify(gateway_standin, issued, MEMBER_ID)
        assert outcome.startswith("Linked")
        for piece in ("everyone", "evil", "xxxx", "lone", "GB-2345"):
            assert piece not in outcome
        assert (await bot.store.link_of_discord(MEMBER_ID)) is not None


async def test_codes_and_verifications_are_capped_per_hour(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    dave = seeded_sim.outsider.id
    clock = Clock()
    async with make_bot() as bot:
        use_clock(bot, clock)
        for _ in range(ISSUE_CAP):
            issued = await link_start(gateway_standin, dave, MEMBER_ID)
        refused = await reply_text(gateway_standin, "link", "start", {"user": dave}, MEMBER_ID)
        assert refused.startswith(
            f"You have asked for a link code {ISSUE_CAP} times in the last hour; try again in 60 minutes."
        )
        assert await bot.store.link_code_of(MEMBER_ID) == await bot.store.link_code(
            int(issued.custom_id.rsplit(":", 1)[1])
        )
        for _ in range(VERIFY_CAP):
            assert "wasn't found" in await press_verify(gateway_standin, issued, MEMBER_ID)
        edit_profile(seeded_sim.sim, dave, bio=issued.code)
        gets = len(seeded_sim.sim.requests)
        refused = await press_verify(gateway_standin, issued, MEMBER_ID)
        assert refused.startswith(
            f"You have pressed Verify {VERIFY_CAP} times in the last hour"
        ) and one_line(refused)
        assert len(seeded_sim.sim.requests) == gets  # a capped Verify costs VRChat nothing
        clock.advance(minutes=5)  # still within the code's ten minutes, but not the hour
        assert "pressed Verify" in await press_verify(gateway_standin, issued, MEMBER_ID)
        clock.advance(hours=1)
        issued = await link_start(gateway_standin, dave, MEMBER_ID)  # a new hour: codes again
        edit_profile(seeded_sim.sim, dave, bio=issued.code)
        assert (await press_verify(gateway_standin, issued, MEMBER_ID)).startswith("Linked")


async def test_relinking_replaces_old_links_only_after_a_new_verification(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    carol, dave = seeded_sim.requester.id, seeded_sim.outsider.id
    async with make_bot() as bot:
        assert (await link_through_bot(gateway_standin, seeded_sim, dave, MEMBER_ID)).startswith("Linked")
        already = await reply_text(gateway_standin, "link", "start", {"user": dave}, MEMBER_ID)
        assert already == f"Your Discord account is already linked to {dave}."
        issued = await link_start(gateway_standin, carol, MEMBER_ID)
        assert (await bot.store.link_of_discord(MEMBER_ID)).vrchat_user_id == dave  # still, until Verify
        edit_profile(seeded_sim.sim, carol, bio=issued.code)
        outcome = await press_verify(gateway_standin, issued, MEMBER_ID)
        assert "Your earlier link to" in outcome and dave.replace("_", "\\_") in outcome
        assert (await bot.store.link_of_discord(MEMBER_ID)).vrchat_user_id == carol
        assert await bot.store.link_of_vrchat(dave) is None
        # Carol's account is then linked by the moderator: the member's link to it goes.
        outcome = await link_through_bot(gateway_standin, seeded_sim, carol, MOD_ID)
        assert "That VRChat account's earlier link to another Discord account was replaced." in outcome
        assert str(MEMBER_ID) not in outcome
        assert await bot.store.link_of_discord(MEMBER_ID) is None
        (last, *_) = await bot.store.list_actions(action="link.add")
        assert last.details == {"discord_user_id": str(MOD_ID), "replaced": [f"{MEMBER_ID} {carol}"]}


async def test_moderators_unlink_and_look_up_members_others_cannot(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    dave = seeded_sim.outsider.id
    member, moderator = gateway_standin.member(GUILD_ID, MEMBER_ID), gateway_standin.member(GUILD_ID, MOD_ID)
    async with make_bot() as bot:
        await link_through_bot(gateway_standin, seeded_sim, dave, MEMBER_ID)
        refused = await reply_text(gateway_standin, "whois", "member", {"member": moderator}, MEMBER_ID)
        assert "Manage Server" in refused or "moderator" in refused
        refused = await reply_text(gateway_standin, "unlink", "", {"member": moderator}, MEMBER_ID)
        assert "Manage Server" in refused or "moderator" in refused
        assert await bot.store.link_of_discord(MEMBER_ID) is not None

        stranger = StandInUser(id=OUTSIDER_DISCORD_ID, username="stranger")
        refused = await reply_text(gateway_standin, "whois", "member", {"member": stranger}, MOD_ID)
        assert refused == "That user is not a member of this server; /whois looks up this server's members."

        done = await reply_text(gateway_standin, "unlink", "", {"member": member}, MOD_ID)
        assert done.startswith(f"Unlinked <@{MEMBER_ID}> from")
        assert await bot.store.link_of_discord(MEMBER_ID) is None
        (removed,) = await bot.store.list_actions(action="link.remove")
        assert removed.discord_user_id == MOD_ID
        assert removed.details == {"discord_user_id": str(MEMBER_ID), "by": "moderator"}
        again = await reply_text(gateway_standin, "unlink", "", {"member": member}, MOD_ID)
        assert again == "That member is not linked to a VRChat account."


async def test_whois_a_vrchat_account_linked_from_another_server_names_nobody(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    dave = seeded_sim.outsider.id
    async with make_bot() as bot:
        code = await bot.store.issue_link_code(
            OUTSIDER_DISCORD_ID,
            dave,
            "0" * 64,
            now=_now(),
            expires_at=_now(minutes=10),
            purge_before=_now(days=-1),
        )
        await bot.store.complete_link(code.id, OUTSIDER_DISCORD_ID, dave, now=_now())
        reply = first_reply(await command(gateway_standin, "whois", "vrchat", {"user": dave}, who=MOD_ID))
        assert reply["content"].endswith("is linked to a Discord account that is not in this server.")
        assert str(OUTSIDER_DISCORD_ID) not in reply["content"]


def _now(**delta: float) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)


async def test_verify_works_after_a_restart(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    dave = seeded_sim.outsider.id
    async with make_bot():
        issued = await link_start(gateway_standin, dave, MEMBER_ID)
    edit_profile(seeded_sim.sim, dave, bio=issued.code)
    async with make_bot() as restarted:  # nothing of the first bot's memory: the custom_id is enough
        assert (await press_verify(gateway_standin, issued, MEMBER_ID)).startswith("Linked")
        assert (await restarted.store.link_of_discord(MEMBER_ID)) is not None
