"""One settings object, read from the environment once."""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

import msgspec

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The checkout (or image) root: where `.stateasset/` and `piccolo_migrations/` live."""

DEV_SECRET = "dev-only-secret-change-me-0123456789abcdef"
"""Once the default signing secret of every checkout, so public: refused everywhere."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Runtime configuration; every field has an environment variable `STATEASSET_<NAME>`."""

    environment: str = "development"
    database_url: str | None = None  # the owner, for migrations (also read from DATABASE_URL)
    app_database_url: str | None = None  # the app's own role; default stateasset_app, see db.py
    data_dir: Path = PROJECT_ROOT / ".stateasset"
    jwt_secret: str = ""  # unset: generated once per data folder, kept in <data_dir>/jwt.key
    token_minutes: int = 30
    login_attempts: int = 5
    login_window_seconds: int = 300
    login_name_attempts: int = 50  # failures per name from every address together, same window
    login_throttle_max_keys: int = 50_000  # past this, the least recently failed key is dropped
    trusted_proxies: str = ""  # comma-separated addresses whose X-Forwarded-For is believed
    max_header_bytes: int = 32 * 1024  # larger request headers are answered 431
    pool_max_size: int = 10
    shutdown_grace_seconds: int = 5  # on SIGTERM, requests still running after this are cancelled
    log_json: bool = False
    # The in-process job scheduler: "on" in the app (one process), "off" where a separate
    # `stateasset scheduler` process runs the jobs, and in tests.
    scheduler: str = "on"
    job_lease_seconds: int = 60  # a running run not heard from for this long is taken as dead
    job_misfire_grace_seconds: int = 6 * 3600  # a run this late still starts (coalesced)
    job_queue_seconds: int = 5  # how often the scheduler starts runs queued by period locks
    scheduler_timezone: str = "Asia/Shanghai"  # the county's clock, whatever the server's
    # Crontab lines (minute hour day month weekday) in scheduler_timezone; "": not scheduled.
    cron_consolidations: str = "0 1 * * *"
    cron_ratios: str = "30 1 * * *"
    cron_fund_metrics: str = "0 2 * * *"
    cron_kpi_scores: str = ""  # runs after each ratios run instead
    cron_depreciation: str = "0 3 1 * *"
    control_threshold: float = 0.5  # votes above this share mean control
    equity_floor: float = 0.2  # votes from here up to control: equity method
    intercompany_tolerance: str = "0.01"  # yuan; a pair differing by more is a mismatch
    # Statement uploads past any of these are refused (413) before they are parsed.
    upload_max_bytes: int = 16 * 1024 * 1024  # the file as uploaded
    upload_max_rows: int = 200_000  # rows over all sheets, blank rows between included
    upload_max_columns: int = 100  # the last column a row may use
    upload_max_cells: int = 2_000_000  # each row up to its last cell, over all sheets
    upload_max_sheets: int = 2_000
    upload_max_uncompressed_bytes: int = 128 * 1024 * 1024  # an XLSX's zip members together
    upload_max_compression_ratio: int = 100  # for a zip member over 1 MiB
    upload_parsers: int = 2  # uploads parsed at once (each in a worker thread)
    audit_key: str = ""  # the audit chain's HMAC key; unset: generated in <data_dir>/audit.key
    audit_anchor_file: Path | None = None  # chain checkpoints; unset: <data_dir>/audit.anchors
    audit_anchor_seconds: float = 10.0  # a checkpoint at least this often while entries are sealed
    # 有效资产: an operating asset earning more than its category's threshold (yuan) over the
    # trailing 12 months; "buildings=50000,vehicles=1000", a category not named has 0.
    asset_income_thresholds: str = ""

    @property
    def scheduler_on(self) -> bool:
        return self.scheduler.strip().lower() not in ("off", "false", "0", "no")

    @property
    def production(self) -> bool:
        return self.environment == "production"

    def check(self) -> None:
        """Refuse to start with a guessable signing secret, in any environment."""
        if self.jwt_secret == DEV_SECRET or len(self.jwt_secret) < 32:
            raise RuntimeError(
                "STATEASSET_JWT_SECRET must be a random value of at least 32 characters "
                "(unset, one is generated in the data folder)"
            )


def read_or_create_secret(path: Path) -> str:
    """The secret kept in `path`, first written there (mode 0600) by whoever comes first.

    The file appears complete or not at all: it is written under a temporary name and hard-linked
    into place, which fails if another process got there first; then theirs is read.
    """
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32) + "\n")
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: use theirs
            os.link(temporary, path)
    finally:
        temporary.unlink()
    return path.read_text().strip()


def resolve_secrets(settings: Settings) -> Settings:
    """`settings` with the signing secret filled in from the data folder when none was given."""
    if settings.jwt_secret:
        return settings
    secret = read_or_create_secret(settings.data_dir / "jwt.key")
    return msgspec.structs.replace(settings, jwt_secret=secret)


def _from_env() -> Settings:
    raw: dict[str, object] = {}
    for field in msgspec.structs.fields(Settings):
        value = os.environ.get(f"STATEASSET_{field.name.upper()}")
        if value is not None:
            raw[field.name] = value
    if "database_url" not in raw and os.environ.get("DATABASE_URL"):
        raw["database_url"] = os.environ["DATABASE_URL"]
    # str_values lets "30" and "true" from the environment convert to their field types.
    return msgspec.convert(raw, Settings, strict=False, dec_hook=_decode_path)


def _decode_path(kind: type, value: object) -> object:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(kind)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings."""
    return resolve_secrets(_from_env())
