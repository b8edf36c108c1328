"""Shared test configuration. Fixtures live in tests/fixtures/, one module per subsystem."""

pytest_plugins = [
    "tests.fixtures.vrchat_sim",
    "tests.fixtures.vrchat_accounts",
    "tests.fixtures.postgres",
    "tests.fixtures.logs",
    "tests.fixtures.discord_standin",
    "tests.fixtures.discord_gateway",
    "tests.fixtures.clocks",
    "tests.fixtures.bridge",
    "tests.fixtures.sqlite_threads",
]
