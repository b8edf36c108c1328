"""`vrchat.pipeline` / `vrchat.pipeline_url`: where the pipeline connects, and a wrong URL named."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config_text

TOKEN = "MTA4NzY1NDMyMTA5ODc2NTQzMg.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"


def config_text(*vrchat_lines: str) -> str:
    lines = "\n".join(vrchat_lines)
    return f"""\
[vrchat]
username = "Bot"
user_agent = "GroupBridge/0.1 (ops@bridge.gg)"
{lines}

[discord]
token = "{TOKEN}"
"""


@pytest.mark.parametrize(
    ("lines", "endpoint"),
    [
        ((), "wss://pipeline.vrchat.cloud/"),
        (('pipeline_url = ""',), "wss://pipeline.vrchat.cloud/"),
        (('base_url = "http://127.0.0.1:8123/api/1"',), "ws://127.0.0.1:8123/"),
        (('base_url = "https://localhost:9000/api/1"',), "wss://localhost:9000/"),
        (('base_url = "https://vrchat-proxy.bridge.gg/api/1"',), None),
        (
            ('base_url = "https://vrchat-proxy.bridge.gg/api/1"', 'pipeline_url = "wss://pipe.bridge.gg/"'),
            "wss://pipe.bridge.gg/",
        ),
        (("pipeline = false",), None),
        (("pipeline = false", 'pipeline_url = "wss://pipe.bridge.gg/"'), None),
    ],
    ids=["vrchat", "blank", "simulator", "simulator-tls", "other-host", "explicit", "off", "off-wins"],
)
def test_where_the_pipeline_connects(lines: tuple[str, ...], endpoint: str | None) -> None:
    assert load_config_text(config_text(*lines), env={}).vrchat.pipeline_endpoint == endpoint


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://pipeline.vrchat.cloud/", "ws:// or wss://"),
        ("wss://", "ws:// or wss://"),
        ("wss://pipeline.vrchat.cloud/?authToken=authcookie_abc", "must not have a query"),
    ],
)
def test_a_wrong_pipeline_url_is_named_with_its_line(url: str, words: str) -> None:
    text = config_text("pipeline = true", f'pipeline_url = "{url}"')
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env={})
    (problem,) = info.value.problems
    assert problem.key == "vrchat.pipeline_url" and words in problem.message
    assert problem.line == 5
    assert "authcookie_abc" not in str(info.value)  # a token pasted into the URL is not echoed


def test_the_environment_can_turn_it_off() -> None:
    config = load_config_text(config_text(), env={"GROUPBRIDGE_VRCHAT__PIPELINE": "false"})
    assert config.vrchat.pipeline is False and config.vrchat.pipeline_endpoint is None
