from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T21:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "jobs: the run record, one running run per job and parameters"

SQL = r"""
CREATE TABLE job_run (
    id uuid PRIMARY KEY,
    job varchar(40) NOT NULL,
    params jsonb NOT NULL,
    params_key varchar(64) NOT NULL,
    trigger varchar(20) NOT NULL
        CHECK (trigger IN ('schedule', 'manual', 'period-lock', 'dependency')),
    status varchar(10) NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    queued_at timestamptz NOT NULL,
    started_at timestamptz,
    finished_at timestamptz,
    heartbeat_at timestamptz,
    progress double precision CHECK (progress IS NULL OR progress BETWEEN 0 AND 1),
    message text NOT NULL DEFAULT '',
    rows_in bigint NOT NULL DEFAULT 0 CHECK (rows_in >= 0),
    rows_out bigint NOT NULL DEFAULT 0 CHECK (rows_out >= 0),
    summary jsonb NOT NULL DEFAULT '{}',
    error text,
    requested_by varchar(100) NOT NULL,
    host varchar(200) NOT NULL DEFAULT '',
    CHECK ((status = 'queued') = (started_at IS NULL)),
    CHECK ((status IN ('succeeded', 'failed')) = (finished_at IS NOT NULL))
);
-- The exclusivity every process relies on: a second running row for the same job and
-- parameters cannot be written, whoever tries.
CREATE UNIQUE INDEX job_run_one_running ON job_run (job, params_key) WHERE status = 'running';
-- A lock queues one run per job and parameters; more locks before it starts add nothing.
CREATE UNIQUE INDEX job_run_one_queued ON job_run (job, params_key) WHERE status = 'queued';
CREATE INDEX job_run_by_job ON job_run (job, queued_at DESC);
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="jobs", description=DESCRIPTION)

    async def create():
        transaction = engine_finder().current_transaction.get()
        await transaction.connection.execute(SQL)

    manager.add_raw(create)
    return manager
