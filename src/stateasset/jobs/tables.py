"""The job run record: one row per run, from queued or started to finished."""

from piccolo.columns import (
    JSONB,
    UUID,
    BigInt,
    DoublePrecision,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class JobRun(Table, tablename="job_run"):
    """作业运行记录. At most one `running` row per job and parameters (a partial unique index);
    `heartbeat_at` is the lease: a running row whose heartbeat is older than the lease belongs
    to a process that died, and the next claim marks it failed."""

    id = UUID(primary_key=True)
    job = Varchar(length=40)
    params = JSONB()
    params_key = Varchar(length=64)
    trigger = Varchar(length=20)
    status = Varchar(length=10)
    queued_at = Timestamptz()
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    heartbeat_at = Timestamptz(null=True, default=None)
    progress = DoublePrecision(null=True, default=None)
    message = Text(default="")
    rows_in = BigInt(default=0)
    rows_out = BigInt(default=0)
    summary = JSONB(default="{}")
    error = Text(null=True, default=None)
    requested_by = Varchar(length=100)
    host = Varchar(length=200, default="")
