"""Join requests during the crash run: VRChat players asking, moderators deciding, and what the
requests channel must show at the end (one card per request; open with its three buttons while
pending, closed exactly once when handled)."""

from __future__ import annotations

import random
from collections import defaultdict

from bot.sandbox.discord import StandInMessage
from bot.sandbox.world import SandboxWorld

BUTTONS = ["Approve", "Reject", "Reject & Block", "History"]  # History: bot.desk
DECISIONS = set(BUTTONS) - {"History"}  # what a closed card no longer shows (it keeps History)


def card_user(message: StandInMessage) -> str:
    """The requester a card stands for: its footer reads ``grp_… · usr_…``."""
    footer = str(message.embeds[0].get("footer", {}).get("text", "")).replace("\\", "")
    return footer.rsplit("·", 1)[-1].strip()


def button_labels(message: StandInMessage) -> list[str]:
    return [str(c.get("label")) for row in message.components or [] for c in row.get("components", [])]


def outcome_fields(message: StandInMessage) -> int:
    return sum(1 for f in message.embeds[0].get("fields", []) if f.get("name") == "Outcome")


class Requesters:
    """The people who ask to join during the run, and what happened to their requests."""

    def __init__(self, world: SandboxWorld, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self.names: dict[str, str] = {}  # user id -> display name
        self.clicked: dict[str, str] = {}  # user id -> the button a moderator pressed
        self.handled_in_vrchat: dict[str, str] = {}  # user id -> accept / reject

    @property
    def _group(self) -> str:
        return self.world.community.group.id

    def ask(self) -> str:
        state = self.world.sim.state
        name = f"Requester {len(self.names) + 1}"
        user = state.add_user(name, bio=f"Hello from {name}")
        state.request_to_join(self._group, user.id)
        self.names[user.id] = name
        return user.id

    def pending(self) -> list[str]:
        memberships = self.world.community.group.memberships
        return [u for u in self.names if (m := memberships.get(u)) is not None and m.status == "requested"]

    def handle_in_vrchat(self) -> str | None:
        """The group owner accepts or rejects, in VRChat itself, a pending request that has its card
        (without one, the bot has nothing to close: the request just never gets a card).

        Never one a moderator clicked: a process killed between the click's claim and its VRChat call
        leaves the card open with the request already claimed, so deciding it in VRChat would not give
        the bot a card to claim (its first round closes it again instead)."""
        card = self.open_card(unclicked=True)
        if card is None:
            return None
        user_id = card_user(card)
        action = self.rng.choice(["accept", "reject"])
        owner = self.world.community.bot.id
        self.world.sim.state.respond_request(self._group, user_id, owner, action)
        self.handled_in_vrchat[user_id] = action
        return user_id

    def open_card(self, *, unclicked: bool = False) -> StandInMessage | None:
        """A card with buttons for a request VRChat still lists, if there is one."""
        waiting = set(self.pending())
        if unclicked:
            waiting -= set(self.clicked)
        open_cards = [c for c in self.world.cards() if DECISIONS & set(button_labels(c))]
        cards = [c for c in open_cards if card_user(c) in waiting]
        return self.rng.choice(cards) if cards else None

    async def click(self, card: StandInMessage) -> str:
        """A moderator presses Approve or Reject; returns what they pressed once the bot answered."""
        label = self.rng.choice(["Approve", "Reject"])
        exchange = await self.world.click(card, label)
        await exchange.wait(timeout=15)
        self.clicked[card_user(card)] = label
        return label

    def problems(self) -> list[str]:
        """What is wrong in the requests channel now (empty when every card is as it must be)."""
        per_user: dict[str, list[StandInMessage]] = defaultdict(list)
        for message in self.world.cards():
            per_user[card_user(message)].append(message)
        waiting = set(self.pending())
        found = []
        for user_id, name in self.names.items():
            cards = per_user.pop(user_id, [])
            if user_id in waiting:
                if len(cards) != 1:
                    found.append(f"{name} (pending): {len(cards)} cards instead of one")
                elif button_labels(cards[0]) != BUTTONS or outcome_fields(cards[0]):
                    found.append(f"{name} (pending): card shows {button_labels(cards[0])}, not the buttons")
                continue
            # Handled: a card (there may be none if the request came and went while the bot was down)
            # must be closed, once.
            if len(cards) > 1:
                found.append(f"{name} (handled): {len(cards)} cards for one request")
            for card in cards:
                if DECISIONS & set(button_labels(card)):
                    found.append(f"{name} (handled): the card still has buttons {button_labels(card)}")
                elif outcome_fields(card) != 1:
                    found.append(f"{name} (handled): the card was closed {outcome_fields(card)} times")
        found += [f"a card for {user}, who never asked to join" for user in per_user]
        return found
