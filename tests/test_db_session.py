"""Pooled connections go back without a reset, so no code may leave state on a session.

`db.keep_session` skips asyncpg's `RESET ALL` round trip on every release; that is only sound
while the app sets nothing a later request on the same connection could inherit. This reads
the source for the statements that would.
"""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest

from stateasset import db

SOURCE = Path(db.__file__).parent

SESSION_STATE = {
    "a session-level advisory lock": re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\("),
    # Case-sensitive: SQL here is written in capitals, prose ("Set these items") is not.
    "a session setting": re.compile(r"""["']\s*(RE)?SET\s+(?!LOCAL\b)\w"""),
    "set_config for the session": re.compile(r"set_config\([^)]*\bfalse\s*\)", re.IGNORECASE),
    "a LISTEN": re.compile(r"""["']\s*LISTEN\b|add_listener\(""", re.IGNORECASE),
    "a cursor held past its statement": re.compile(r"DECLARE\s+\w+.*CURSOR\s+WITH\s+HOLD", re.I),
}


def _offences(text: str) -> list[str]:
    return [name for name, pattern in SESSION_STATE.items() if pattern.search(text)]


@pytest.mark.parametrize(
    ("sql", "offence"),
    [
        ('conn.execute("SELECT pg_advisory_lock(1)")', "a session-level advisory lock"),
        ("conn.execute('SET search_path TO x')", "a session setting"),
        ("conn.execute(\"SELECT set_config('a.b', 'c', false)\")", "set_config for the session"),
        ('conn.execute("LISTEN jobs")', "a LISTEN"),
    ],
)
def test_the_scan_finds_session_state(sql: str, offence: str) -> None:
    assert _offences(sql) == [offence]


def test_transaction_scoped_forms_pass_the_scan() -> None:
    assert _offences('conn.execute("SELECT pg_advisory_xact_lock($1)")') == []
    assert _offences('conn.execute("SET LOCAL statement_timeout = 1000")') == []
    assert _offences('"UPDATE period_state SET state = $1"') == []


def test_no_module_leaves_state_on_a_pooled_session() -> None:
    found = {
        str(path.relative_to(SOURCE)): offences
        for path in sorted(SOURCE.rglob("*.py"))
        if (offences := _offences(path.read_text()))
    }
    assert found == {}


async def test_a_released_connection_keeps_no_open_transaction(database_url: str) -> None:
    """asyncpg rolls back a transaction left open even with the reset skipped."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1, reset=db.keep_session)
    try:
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("CREATE TEMP TABLE left_behind (x int)")
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT to_regclass('pg_temp.left_behind')") is None
            assert await conn.fetchval("SELECT pg_current_xact_id_if_assigned()") is None
    finally:
        await pool.close()
