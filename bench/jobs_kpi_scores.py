"""The kpi_scores job at scale: 2,000 active contracts × 10 indicators, run twice, compared.

    PYTHONPATH=src python bench/jobs_kpi_scores.py [--contracts 2000]

Generates, seeded, one second-level company per contract and its active 2025–2027 contract with
ten indicators of weight 10: five `efficacy` against five tiers and five `target_step` against a
2025 target, every actual entered with evidence (so no statements are needed), a third of them
lower-is-better, and COPYs them into a throwaway embedded PostgreSQL migrated like the test
suite's. Then runs the `kpi_scores` job for 2025 through the runner (`jobs.runner.run_now`)
--runs times and times its halves apart: scoring (`score_jobs.score_frames`: the contracts read
and `service._score_year`) and storing (`score_jobs.store_scores`). Every version's rows must be
identical, byte for byte, as PostgreSQL renders them. Prints a markdown table and writes it to
bench/results/jobs_kpi_scores.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sys
import time
import uuid
from pathlib import Path

import msgspec
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("PICCOLO_CONF", "stateasset.piccolo_conf")

from end_to_end import copy_frames, start_database

from stateasset.jobs import runner
from stateasset.kpi import score_jobs
from stateasset.kpi.schemas import ContractTerms

YEAR = 2025
TIERS = [20.0, 15.0, 10.0, 5.0, 0.0]


def _terms(rng: random.Random) -> dict[str, object]:
    indicators, targets = [], []
    for i in range(10):
        code = f"k{i}"
        lower = rng.random() < 1 / 3
        efficacy = i < 5
        actual = round(rng.uniform(-2.0, 25.0), 2) if efficacy else round(rng.uniform(50, 150), 2)
        indicators.append(
            {
                "code": code,
                "name": f"指标{i}",
                "weight": 10,
                "direction": "lower" if lower and efficacy else "higher",
                "method": "efficacy" if efficacy else "target_step",
                "source": "entered",
                "main": i == 5,
                "parameters": {"tiers": TIERS[::-1] if lower and efficacy else TIERS}
                if efficacy
                else {},
                "entered": [{"year": YEAR, "value": actual, "evidence": "审计报告"}],
            }
        )
        if not efficacy:
            targets.append({"indicator": code, "year": YEAR, "value": 100})
    return {
        "managers": ["张三"],
        "indicators": indicators,
        "targets": targets,
        "adjustments": [],
    }


def generate(contracts: int, seed: int) -> dict[str, pl.DataFrame]:
    """Companies and their active contracts, as the tables hold them."""
    rng = random.Random(seed)
    companies = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(contracts)]
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(contracts)]
    entity = pl.DataFrame(
        {
            "id": companies,
            "credit_code": [f"91350182{i:010d}" for i in range(contracts)],
            "name": [f"二级公司{i:04d}" for i in range(contracts)],
            "kind": ["subsidiary"] * contracts,
        }
    )

    # Terms as the service stores them: ContractTerms' fields, defaults filled in.
    def stored(terms: dict[str, object]) -> str:
        return msgspec.json.encode(msgspec.convert(terms, ContractTerms)).decode()

    contract = pl.DataFrame(
        {
            "id": ids,
            "lineage": ids,
            "version": [1] * contracts,
            "company": companies,
            "name": ["2025—2027年任期经营业绩责任书"] * contracts,
            "industry": [f"行业{i % 20:02d}" for i in range(contracts)],
            "tenure_start": [YEAR] * contracts,
            "tenure_years": [3] * contracts,
            "state": ["active"] * contracts,
            "terms": [stored(_terms(rng)) for _ in range(contracts)],
            "created_at": [f"2025-01-01T00:00:{i % 60:02d}Z" for i in range(contracts)],
            "created_by": ["bench"] * contracts,
        }
    )
    return {"entity": entity, "kpi_contract": contract}


async def measure(runs: int) -> dict[str, object]:
    from stateasset import db

    await db.open_pool()
    try:
        whole, score, store = [], [], []
        for _ in range(runs):
            started = time.perf_counter()
            run = await runner.run_now("kpi_scores", {"year": YEAR})
            whole.append(time.perf_counter() - started)
            assert run.status.value == "succeeded", run.error
        for _ in range(runs):
            started = time.perf_counter()
            totals, indicators = await score_jobs.score_frames(YEAR)
            score.append(time.perf_counter() - started)
            started = time.perf_counter()
            await score_jobs.store_scores(
                actor=runner.SYSTEM, year=YEAR, totals=totals, indicators=indicators
            )
            store.append(time.perf_counter() - started)
        async with db.connection() as conn:
            versions = await conn.fetch(
                "SELECT r.version, md5(string_agg(x.row, E'\\n' ORDER BY x.t, x.id)) AS digest, "
                "count(*) AS rows FROM kpi_score_run r JOIN ("
                "  SELECT run, 1 AS t, id, (to_jsonb(s) - 'id' - 'run')::text AS row FROM kpi_score s"
                "  UNION ALL SELECT run, 2, id, (to_jsonb(i) - 'id' - 'run')::text "
                "  FROM kpi_score_indicator i) x ON x.run = r.id "
                "GROUP BY r.version ORDER BY r.version"
            )
            grades = await conn.fetch(
                "SELECT grade, count(*) AS n FROM kpi_score s JOIN kpi_score_run r ON r.id = s.run "
                "AND r.current GROUP BY grade ORDER BY grade"
            )
    finally:
        await db.close_pool()
    digests = {v["digest"] for v in versions}
    assert len(digests) == 1, f"versions differ: {[(v['version'], v['digest']) for v in versions]}"
    return {
        "job": min(whole),
        "score": min(score),
        "store": min(store),
        "versions": len(versions),
        "rows": versions[0]["rows"],
        "digest": versions[0]["digest"],
        "grades": ", ".join(f"{g['grade']} {g['n']}" for g in grades),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20251231)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results/jobs_kpi_scores.md"
    )
    args = parser.parse_args(argv)
    tables = generate(args.contracts, args.seed)
    url = start_database()
    seconds = asyncio.run(copy_frames(url, tables))
    print(f"loaded {args.contracts:,} contracts in {seconds:.1f}s", file=sys.stderr)
    m = asyncio.run(measure(args.runs))
    text = "\n".join(
        [
            "# kpi_scores job benchmark",
            "",
            f"{args.contracts:,} active contracts of as many companies, ten indicators each (five "
            f"efficacy, five target_step, actuals entered), in an embedded PostgreSQL; the job "
            f"for {YEAR} stores {m['rows']:,} rows (a total per contract, a score per indicator; "
            f"grades {m['grades']}). {m['versions']} versions written on the same data, every one "
            f"byte-identical (md5 of the rows as PostgreSQL renders them: {m['digest']}). Each "
            f"step best of {args.runs}. Polars {pl.__version__}, Python "
            f"{platform.python_version()}, {os.cpu_count()} CPUs.",
            "",
            "| step | seconds |",
            "|---|---:|",
            f"| the job end to end (`run_now`: claim, score, store, record) | {m['job']:.3f} |",
            f"| score: contracts read, `service._score_year` (`compute.score`) | {m['score']:.3f} |",
            f"| store: run row, COPY of the rows, switch `current`, audit | {m['store']:.3f} |",
            "",
        ]
    )
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
