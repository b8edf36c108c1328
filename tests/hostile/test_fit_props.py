"""`fit_embed`, `fit_embeds` and `plain_label` (bot/text.py): whatever text an embed or a label was built
from, the result is within Discord's limits by tests/hostile/checks.py, which counts independently."""

from __future__ import annotations

import discord
from hypothesis import example, given
from hypothesis import strategies as st

from bot.text import EMPTY, clip, fit_embed, fit_embeds, plain_label
from tests.hostile.checks import EMBED_TOTAL, blank, embed_problems, embed_texts, units
from tests.hostile.strategies import examples, hostile_text

texts = hostile_text(10_000)
fields = st.lists(st.tuples(hostile_text(2_000), hostile_text(3_000), st.booleans()), max_size=30)


@st.composite
def embeds(draw: st.DrawFn) -> discord.Embed:
    embed = discord.Embed(
        title=draw(texts) or None, description=draw(texts) or None, url="https://vrchat.com/home"
    )
    for name, value, inline in draw(fields):
        embed.add_field(name=name, value=value, inline=inline)
    if footer := draw(texts):
        embed.set_footer(text=footer)
    if author := draw(hostile_text(1_000)):
        embed.set_author(name=author)
    return embed


def size(embed: discord.Embed) -> int:
    return sum(units(t) for _, t in embed_texts(embed.to_dict()))


@examples(150)
@given(embed=embeds())
def test_a_fitted_embed_is_within_every_limit(embed: discord.Embed) -> None:
    fitted = fit_embed(embed)
    assert fitted is embed
    assert not embed_problems(fitted.to_dict()), embed_problems(fitted.to_dict())


@examples(60)
@given(many=st.lists(embeds(), min_size=1, max_size=10))
def test_fitted_embeds_share_the_6000_of_one_message(many: list[discord.Embed]) -> None:
    fitted = fit_embeds(many)
    for embed in fitted:
        assert not embed_problems(embed.to_dict()), embed_problems(embed.to_dict())
    assert sum(size(e) for e in fitted) <= EMBED_TOTAL
    assert fitted and fitted[0] is many[0]  # the first embed always stays


def test_a_full_card_gives_up_its_last_fields_and_says_so() -> None:
    embed = discord.Embed(title="t", description="d" * 4096)
    for n in range(10):
        embed.add_field(name=f"field {n}", value="v" * 1000)
    fit_embed(embed)
    names = [f.name for f in embed.fields]
    assert names[0] == "field 0" and names[-1] == "…" and embed.fields[-1].value.endswith("more not shown")
    assert size(embed) <= EMBED_TOTAL and embed.description == "d" * 4096


def test_an_embed_within_the_limits_is_left_alone() -> None:
    embed = discord.Embed(title="Join request: Carol", description="Let me in")
    embed.add_field(name="Bio", value="Hello")
    before = embed.to_dict()
    assert fit_embed(embed).to_dict() == before


@examples(200)
@given(text=hostile_text(10_000), limit=st.integers(1, 100))
@example(text=" \ufeff\u3000", limit=100)
@example(text="😀" * 80, limit=100)
def test_a_label_is_one_line_within_its_limit_and_never_blank(text: str, limit: int) -> None:
    shown = plain_label(text, max(limit, len(EMPTY)))
    assert 1 <= units(shown) <= max(limit, len(EMPTY)) and not blank(shown)
    assert "\n" not in shown


def test_clip_counts_utf16_units() -> None:
    assert clip("😀" * 60, 100) == "😀" * 49 + "…"
    assert units(clip("😀" * 60, 100)) == 99
