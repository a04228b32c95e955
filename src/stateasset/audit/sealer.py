"""The sealer: a task in each app process that links committed audit entries into the chain."""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from stateasset.audit import service

log = structlog.get_logger(__name__)

# How far back a quick pass looks for entries that committed after higher ids were sealed: a
# write's transaction shorter than this is always caught by a quick pass, a longer one by the
# next full pass (every FULL_PASS_SECONDS, at start and at shutdown).
LATE_COMMIT_SECONDS = 30.0
FULL_PASS_SECONDS = 60.0
STOP_SECONDS = 3.0


class Sealer:
    """Seals every `interval` seconds, or sooner when woken; once more when stopped."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        # (monotonic time, highest entry sealed then): the floor of a quick pass is the highest
        # entry sealed at least LATE_COMMIT_SECONDS ago.
        self._history: list[tuple[float, int]] = []
        self._last_full = 0.0

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="audit-sealer")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        """Stop the loop, then seal what is committed and anchor the head."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        # Bounded, so a database that stopped answering cannot hold up the process's exit.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._task, STOP_SECONDS)
        self._task = None
        try:
            await asyncio.wait_for(service.seal(anchor=True), STOP_SECONDS)
        except Exception as exc:  # the database may be gone at shutdown; the next start seals
            log.warning("audit seal at shutdown failed", error=str(exc))

    def _floor(self, now: float) -> int:
        floor = 0
        for at, entry in self._history:
            if now - at >= LATE_COMMIT_SECONDS:
                floor = entry
        self._history = [h for h in self._history if now - h[0] < 2 * LATE_COMMIT_SECONDS]
        return floor

    async def pass_once(self) -> int:
        now = time.monotonic()
        full = now - self._last_full >= FULL_PASS_SECONDS
        floor = 0 if full else self._floor(now)
        sealed = await service.seal(after_id=floor)
        if full:
            self._last_full = now
        if sealed or not self._history:
            self._history.append((now, await service.last_sealed_entry()))
        return sealed

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                await self.pass_once()
                failures = 0
            except Exception as exc:  # keep sealing: the entries wait safely in the log
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning("audit seal failed", error=str(exc), failures=failures)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval * min(failures + 1, 25))
            self._wake.clear()
