"""The guard in tests/fixtures/sqlite_threads.py fails a test that leaves an aiosqlite connection open,
and only that test; a module-scoped fixture's connection is left alone until its module ends."""

import asyncio
import textwrap

import aiosqlite
import pytest

pytest_plugins = ["pytester"]

# Where the inner tests put what they leak, so that this test can close it after the inner run.
LEFT_OPEN: list[aiosqlite.Connection] = []

_INNER_ARGS = (
    *("-p", "tests.fixtures.sqlite_threads", "-p", "no:randomly", "-p", "no:cacheprovider"),
    *("-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function"),
)


@pytest.fixture
def close_what_inner_tests_left() -> object:
    yield
    for connection in LEFT_OPEN:
        asyncio.run(connection.close())
    LEFT_OPEN.clear()


def test_a_connection_left_open_fails_the_test_that_opened_it_and_says_where(
    pytester: pytest.Pytester, close_what_inner_tests_left: object
) -> None:
    pytester.makepyfile(
        test_inner="""
        import aiosqlite
        from tests.test_sqlite_thread_guard import LEFT_OPEN

        async def open_and_forget():
            LEFT_OPEN.append(await aiosqlite.connect(":memory:"))

        async def test_closes_its_connection():
            async with aiosqlite.connect(":memory:") as connection:
                await connection.execute("select 1")

        async def test_leaks_a_connection():
            await open_and_forget()

        def test_after_the_leak():
            pass
        """
    )

    result = pytester.runpytest(*_INNER_ARGS)

    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaks_a_connection*",
            "*1 aiosqlite connection(s) still open after the test's teardown*",
            "*opened by test_inner.py::test_leaks_a_connection (function scope)*",
            "*test_inner.py*in open_and_forget*",
        ]
    )
    assert len(LEFT_OPEN) == 1


def test_a_module_fixtures_connection_is_checked_when_its_module_ends(
    pytester: pytest.Pytester, close_what_inner_tests_left: object
) -> None:
    shared_fixture = """
        import asyncio
        import aiosqlite
        import pytest
        from tests.test_sqlite_thread_guard import LEFT_OPEN

        @pytest.fixture(scope="module")
        def shared():
            connection = asyncio.run(aiosqlite.connect(":memory:").__aenter__())
            LEFT_OPEN.append(connection)
            yield connection
            if CLOSES:
                asyncio.run(connection.close())

        def test_one(shared):
            pass

        def test_two(shared):
            pass
        """
    pytester.makepyfile(
        test_closes="CLOSES = True\n" + textwrap.dedent(shared_fixture),
        test_forgets="CLOSES = False\n" + textwrap.dedent(shared_fixture),
    )

    result = pytester.runpytest(*_INNER_ARGS)

    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_two*", "*opened by test_forgets.py::test_one (module scope)*"]
    )
    assert "test_closes.py::test_two" not in result.stdout.str().split("= ERRORS =")[-1]
