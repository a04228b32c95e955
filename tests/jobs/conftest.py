"""Builders for job tests: the ledger's API builders, and a job held running until released."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from stateasset.jobs.base import Context, Job, NoParameters, Outcome
from tests.ledger.conftest import Api, admin, api, credit_code, make_entity, make_stake  # noqa: F401


class Held:
    """A job whose body reports one step, then waits until `release()` (or raises when told)."""

    def __init__(self) -> None:
        self.released = False
        self.started = 0
        self.fail_with: Exception | None = None

    def release(self) -> None:
        self.released = True

    async def body(self, context: Context, params: msgspec.Struct) -> Outcome:
        self.started += 1
        await context.progress(1, 2, "held")
        # Released from the test's loop, not the app's: an asyncio.Event cannot cross them.
        while not self.released:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        if self.fail_with is not None:
            raise self.fail_with
        return Outcome(rows_in=3, rows_out=2, summary={"held": True})


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[Held]:
    """A job named `held` in the registry for this test only."""
    from stateasset.jobs.registry import JOBS

    holder = Held()
    job = Job(
        name="held",
        label="测试作业",
        description="Held running until the test releases it.",
        params=NoParameters,
        body=holder.body,
    )
    monkeypatch.setitem(JOBS, "held", job)
    yield holder
    holder.release()


@pytest.fixture
def direct(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Services called from the test's own loop while the app runs: the app's pool belongs to
    the app's loop, so without it every query opens its own connection on the caller's loop."""
    from stateasset import db

    monkeypatch.setattr(db.engine(), "pool", None)
