"""Shared set-up for the benchmarks: a fresh PostgreSQL database of their own."""

import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
# bench/routing.py would shadow the routing app: the project root comes first
# and this folder is taken off the path once ``common`` is imported.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "aiguillage_bench")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def fresh_database(reuse=False):
    """Drop and recreate the benchmark database, point Django at it, migrate
    (``reuse``: keep what an earlier run left there, only migrate)."""
    import psycopg

    if not reuse:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    os.environ["DATABASE_URL"] = f"{PG}/{BENCH_DATABASE}"
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    import routing  # noqa: F401  (the app, before anything can find bench/routing.py)

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(latencies_s):
    ms = [value * 1000 for value in latencies_s]
    return {"p50_ms": round(statistics.median(ms), 3), "p95_ms": round(percentile(ms, 95), 3)}


def emit(figures):
    print(json.dumps(figures, ensure_ascii=False))
