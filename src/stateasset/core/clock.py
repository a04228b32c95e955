"""The clock: one place that says what time it is, so tests and jobs agree on "now"."""

from __future__ import annotations

from datetime import UTC, date, datetime


def utc_now() -> datetime:
    """The current instant, timezone-aware in UTC (what every table's timestamps hold)."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date, the default as-of date of every dated read."""
    return date.today()
