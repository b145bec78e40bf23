"""SMS delivery throughput through the outbox, against a no-op Celery task
on the same broker, in the same run.

10,000 SMS rows are queued (one transaction each, dispatched after commit,
as the application does) and delivered by two Celery workers (solo pool,
one each) to a local HTTP server answering like Brevo's API, in its own
process. The baseline sends 10,000 no-op tasks (one Redis INCR each, to
know when they are done) to the same two workers.

Usage: .venv/bin/python bench/outbox.py [--messages 10000] [--workers 2]
Prints one JSON line.
"""

import os

from celery import shared_task

_redis = None


@shared_task(name="bench.outbox.noop")
def noop():
    """The baseline task: records that it ran, nothing else."""
    global _redis
    import time

    import redis

    if _redis is None:
        _redis = redis.Redis.from_url(os.environ["REDIS_URL"])
    now = time.time()
    pipe = _redis.pipeline(transaction=False)
    pipe.incr("bench:noop:count")
    pipe.set("bench:noop:last", now)
    pipe.execute()


def _provider_process(conn):
    from tests.support.sms_provider import FakeSmsProvider

    with FakeSmsProvider(record_bodies=False) as provider:
        conn.send(provider.env("brevo"))
        conn.recv()  # "stats"
        conn.send({"received": len(provider.received), "accepted": provider.accepted_count})


def _start_workers(count, env, log_dir):
    import subprocess
    import sys
    import time
    from pathlib import Path

    from common import ROOT

    processes, logs = [], []
    for index in range(count):
        log = Path(log_dir) / f"worker-{index}.log"
        logs.append(log)
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "-P",
                    "solo",
                    "-l",
                    "info",
                    "-n",
                    f"bench{index}@%h",
                    "--include",
                    "bench.outbox",
                    "--without-heartbeat",
                    "--without-mingle",
                    "--without-gossip",
                ],
                cwd=ROOT,
                env=env,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
        )
    deadline = time.monotonic() + 60
    while not all(b"ready." in log.read_bytes() for log in logs):
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers did not start; see {log_dir}")
        time.sleep(0.1)
    return processes


def run_noop(count, client):
    import time

    client.delete("bench:noop:count", "bench:noop:last")
    start = time.time()
    for _ in range(count):
        noop.delay()
    published = time.time()
    while int(client.get("bench:noop:count") or 0) < count:
        time.sleep(0.05)
    last = float(client.get("bench:noop:last"))
    return {
        "tasks": count,
        "tasks_per_s": round(count / (last - start), 1),
        "publish_per_s": round(count / (published - start), 1),
    }


def run_sms(count):
    import time

    from django.db import transaction

    from channels_app.sms.encoding import prepare
    from contacts.models import Outbox
    from contacts.services.outbox import enqueue

    text = prepare("CD99 : demande CD99-2026-000123 bien reçue. Réponse attendue d'ici le jeudi 12 mars.")
    payload = {"text": text.text, "kind": "acknowledgement", "sender": "CD99", "encoding": text.encoding}
    payload.update({"segments": text.segments, "cost_eur": 0.05})
    start = time.time()
    for i in range(count):
        with transaction.atomic():
            enqueue("sms", f"+336{10000000 + i:08d}", payload, idempotency_key=f"bench:{i}")
    enqueued = time.time()
    while Outbox.objects.filter(status=Outbox.Status.SENT).count() < count:
        if Outbox.objects.filter(status__in=[Outbox.Status.FAILED, Outbox.Status.UNKNOWN]).exists():
            raise RuntimeError("an SMS failed during the benchmark")
        time.sleep(0.2)
    rows = list(Outbox.objects.values_list("created_at", "sent_at"))
    last = max(sent for _, sent in rows).timestamp()
    latencies = [(sent - created).total_seconds() for created, sent in rows]
    return {
        "sms": count,
        "deliveries_per_s": round(count / (last - start), 1),
        "enqueue_per_s": round(count / (enqueued - start), 1),
        "latencies": latencies,
        "attempts": sorted(set(Outbox.objects.values_list("attempts", flat=True))),
    }


def main():
    import argparse
    import multiprocessing
    import signal
    import sys
    import tempfile
    from pathlib import Path

    os.environ.setdefault("BENCH_DATABASE", "aiguillage_bench_outbox")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import emit, fresh_database, summary_ms

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    parent, child = multiprocessing.Pipe()
    provider = multiprocessing.get_context("spawn").Process(target=_provider_process, args=(child,), daemon=True)
    provider.start()
    provider_env = parent.recv()

    fresh_database()
    import redis
    from django.conf import settings

    from config.celery import app

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    env = dict(os.environ)
    env.update(provider_env)
    env.update(
        {
            "DATABASE_URL": os.environ["DATABASE_URL"],
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    log_dir = tempfile.mkdtemp(prefix="bench-outbox-")
    workers = _start_workers(args.workers, env, log_dir)
    try:
        baseline = run_noop(args.messages, client)
        sms = run_sms(args.messages)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)
        app.control.purge()
    parent.send("stats")
    stats = parent.recv()
    provider.join(timeout=10)

    latencies = sms.pop("latencies")
    emit(
        {
            "bench": "outbox_sms",
            "workers": f"{args.workers} x solo",
            "provider": "local Brevo-like HTTP server",
            "sms": {**sms, "enqueue_to_sent": summary_ms(latencies)},
            "provider_accepted": stats["accepted"],
            "noop_task": baseline,
            "ratio": round(sms["deliveries_per_s"] / baseline["tasks_per_s"], 3),
            "target_ratio": 0.5,
        }
    )


if __name__ == "__main__":
    main()
