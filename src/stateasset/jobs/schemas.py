"""Requests and responses of the jobs API."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from stateasset.jobs.base import RunStatus, Trigger


class JobRunRead(msgspec.Struct, frozen=True, kw_only=True):
    """One run: what ran, why, when, how far it got and what it wrote."""

    id: UUID
    job: str
    job_label: str
    params: dict[str, Any]
    trigger: Trigger
    status: RunStatus
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    duration_seconds: float | None
    progress: float | None  # 0..1
    message: str
    rows_in: int
    rows_out: int
    summary: dict[str, Any]
    error: str | None
    requested_by: str


class JobRead(msgspec.Struct, frozen=True, kw_only=True):
    """A job: its name, label, schedule, and what it runs after."""

    name: str
    label: str
    description: str
    schedule: str | None  # a crontab line; None: not scheduled
    then: list[str]
    runs_after_period_lock: bool
    last_run: JobRunRead | None


class JobStart(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Start a run now; `params` as the job takes them (see each job's description)."""

    params: dict[str, Any] = {}
