"""What a job is, and what a running job may tell its run record.

Each domain's `jobs` module defines its jobs as `Job` values (a name, its parameters as a msgspec
Struct, and an async body) and the registry (`jobs.registry`) lists them. A body computes and
writes its results as a new version switched current in one transaction of its own: a failure
before that commit leaves the previous version current, and the runner marks the run failed.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

import msgspec

from stateasset.auth.schemas import Actor


class Trigger(enum.StrEnum):
    """Why a run started."""

    schedule = "schedule"  # 定时
    manual = "manual"  # 手动
    period_lock = "period-lock"  # 期间锁定
    dependency = "dependency"  # 上游作业完成后


class RunStatus(enum.StrEnum):
    queued = "queued"  # 排队中 (after a period lock or an upstream run; the scheduler starts it)
    running = "running"  # 运行中
    succeeded = "succeeded"  # 成功
    failed = "failed"  # 失败


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a finished body reports: rows read and written, and a short summary for the record."""

    rows_in: int = 0
    rows_out: int = 0
    summary: dict[str, Any] = {}


class Context(Protocol):
    """The running job's handle on its run: who it acts as and how it reports progress."""

    run_id: UUID
    actor: Actor
    trigger: Trigger

    async def progress(self, done: int, total: int, message: str = "") -> None:
        """Record `done` of `total` steps (throttled); also renews the run's lease."""
        ...


Body = Callable[[Context, Any], Awaitable[Outcome]]


class NoParameters(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A job that takes none."""


@dataclass(frozen=True)
class Job:
    """A named job: `params` decodes the request body (or CLI `--param`s), `body` runs it.

    `then` names the jobs started (trigger `dependency`) after a run succeeds, with parameters
    from `then_params(params, outcome)` (None: this run leaves it nothing to do);
    `on_period_lock` builds a run's parameters from a locked period (None: that lock does not
    concern this job).
    """

    name: str
    label: str  # Chinese, for the pages
    description: str
    params: type[msgspec.Struct]
    body: Body
    then: tuple[str, ...] = ()
    then_params: Callable[[Any, Outcome], dict[str, Any] | None] | None = None
    on_period_lock: Callable[[str, list[UUID]], dict[str, Any] | None] | None = None
    default_cron: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
