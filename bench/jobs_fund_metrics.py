"""The fund_metrics job at scale: 10,000 funds × 80 flows, run twice, the two versions compared.

    PYTHONPATH=src python bench/jobs_fund_metrics.py [--funds 10000 --flows 80]

Loads bench/funds.py's seeded funds (one LP each, 80 dated flows, a NAV at 2025-12-31) into a
throwaway embedded PostgreSQL, then runs the `fund_metrics` job for that date through the
runner (`jobs.runner.run_now`, as the command line does) --runs times, and times its two halves
apart on the same data: computing every fund's and position's metrics (`funds.jobs.metrics_frame`:
the reads by COPY and `compute.metrics`) and storing them (`funds.jobs.store_metrics`: the run
row, the COPY of its rows and the switch of `current`). Every version's rows must be identical,
byte for byte, as PostgreSQL renders them. Prints a markdown table and writes it to
bench/results/jobs_fund_metrics.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("PICCOLO_CONF", "stateasset.piccolo_conf")

from end_to_end import copy_frames, start_database
from funds import AS_OF, generate

from stateasset.funds import jobs as fund_jobs
from stateasset.jobs import runner


async def measure(runs: int) -> dict[str, object]:
    from stateasset import db

    await db.open_pool()
    try:
        whole, compute, store = [], [], []
        for _ in range(runs):
            started = time.perf_counter()
            run = await runner.run_now("fund_metrics", {"as_of": AS_OF.isoformat()})
            whole.append(time.perf_counter() - started)
            assert run.status.value == "succeeded", run.error
        for _ in range(runs):
            started = time.perf_counter()
            frame = await fund_jobs.metrics_frame(actor=runner.SYSTEM, as_of=AS_OF)
            compute.append(time.perf_counter() - started)
            started = time.perf_counter()
            await fund_jobs.store_metrics(actor=runner.SYSTEM, as_of=AS_OF, index=None, frame=frame)
            store.append(time.perf_counter() - started)
        async with db.connection() as conn:
            versions = await conn.fetch(
                "SELECT r.version, md5(string_agg((to_jsonb(m) - 'id' - 'run')::text, E'\\n' "
                "ORDER BY m.id)) AS digest, count(*) AS rows FROM fund_metric_run r "
                "JOIN fund_metric m ON m.run = r.id GROUP BY r.version ORDER BY r.version"
            )
    finally:
        await db.close_pool()
    digests = {v["digest"] for v in versions}
    assert len(digests) == 1, f"versions differ: {[(v['version'], v['digest']) for v in versions]}"
    return {
        "job": min(whole),
        "compute": min(compute),
        "store": min(store),
        "versions": len(versions),
        "rows": versions[0]["rows"],
        "digest": versions[0]["digest"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--funds", type=int, default=10_000)
    parser.add_argument("--flows", type=int, default=80)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20251231)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "results/jobs_fund_metrics.md",
    )
    args = parser.parse_args(argv)
    tables = generate(args.funds, args.flows, args.seed)
    url = start_database()
    seconds = asyncio.run(copy_frames(url, tables))
    flows = tables["fund_flow"].height
    print(f"loaded {flows:,} flows of {args.funds:,} funds in {seconds:.1f}s", file=sys.stderr)
    m = asyncio.run(measure(args.runs))
    rate = m["rows"] / m["store"]  # type: ignore[operator]
    text = "\n".join(
        [
            "# fund_metrics job benchmark",
            "",
            f"{args.funds:,} funds with {flows:,} dated flows and a NAV each, in an embedded "
            f"PostgreSQL; the job as of {AS_OF.isoformat()} stores {m['rows']:,} rows (each fund "
            f"and each LP position). {m['versions']} versions written on the same data, every "
            f"one byte-identical (md5 of the rows as PostgreSQL renders them: {m['digest']}). "
            f"Each step best of {args.runs}. Polars {pl.__version__}, Python "
            f"{platform.python_version()}, {os.cpu_count()} CPUs.",
            "",
            "| step | seconds |",
            "|---|---:|",
            f"| the job end to end (`run_now`: claim, compute, store, record) | {m['job']:.3f} |",
            f"| compute: read by COPY, metrics of every fund and position | {m['compute']:.3f} |",
            f"| store: run row, COPY of the rows, switch `current`, audit "
            f"({rate:,.0f} rows/s) | {m['store']:.3f} |",
            "",
        ]
    )
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
