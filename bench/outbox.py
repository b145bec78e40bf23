"""SMS delivery throughput through the outbox, against a no-op Celery task
on the same broker, in the same run.

10,000 SMS rows are queued (one transaction each, dispatched after commit,
as the application does, from a few producer threads standing for the
application's concurrent requests) and delivered by two Celery workers to
a local HTTP server answering like Brevo's API, in its own process. The
baseline sends 10,000 no-op tasks (one Redis pipeline each, to know when
they are done) from the same producer threads to the same two workers.

The two are measured in alternating rounds (no-op, SMS, no-op, SMS...) so
that a change in the machine's load during the run weighs on both alike;
each rate is its total count over its total time, from the first publish
or enqueue of a round to the last task done or SMS sent.

The workers use the pool recommended for delivery in production (README):
threads, since a delivery mostly waits for the database and the provider.

Usage: .venv/bin/python bench/outbox.py [--messages 10000] [--workers 2]
       [--pool threads] [--concurrency 4] [--producers 4] [--rounds 4]
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


def _start_workers(count, env, log_dir, pool, concurrency):
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
                    pool,
                    "-c",
                    str(concurrency),
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


def _produce(indices, producers, make_one):
    """Call make_one(i) for every index from ``producers`` threads."""
    import threading

    from django.db import connection

    def run(share):
        try:
            for i in share:
                make_one(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(indices[start::producers],)) for start in range(producers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_noop(indices, client, producers):
    """One round of no-op tasks; returns (seconds from first publish to
    last done, seconds spent publishing)."""
    import time

    client.delete("bench:noop:count", "bench:noop:last")
    start = time.time()
    _produce(indices, producers, lambda i: noop.delay())
    published = time.time()
    while int(client.get("bench:noop:count") or 0) < len(indices):
        time.sleep(0.02)
    return float(client.get("bench:noop:last")) - start, published - start


def run_sms(indices, producers):
    """One round of SMS; returns (seconds from first enqueue to last sent,
    seconds spent enqueuing)."""
    import time

    from django.db import transaction
    from django.db.models import Max

    from channels_app.sms.encoding import prepare
    from contacts.models import Outbox
    from contacts.services.outbox import enqueue

    text = prepare("CD99 : demande CD99-2026-000123 bien reçue. Réponse attendue d'ici le jeudi 12 mars.")
    payload = {"text": text.text, "kind": "acknowledgement", "sender": "CD99", "encoding": text.encoding}
    payload.update({"segments": text.segments, "cost_eur": 0.05})

    def queue_one(i):
        with transaction.atomic():
            enqueue("sms", f"+336{10000000 + i:08d}", payload, idempotency_key=f"bench:{i}")

    round_rows = Outbox.objects.filter(pk__gt=Outbox.objects.aggregate(last=Max("pk"))["last"] or 0)
    start = time.time()
    _produce(indices, producers, queue_one)
    enqueued = time.time()
    while round_rows.filter(status=Outbox.Status.SENT).count() < len(indices):
        if Outbox.objects.filter(status__in=[Outbox.Status.FAILED, Outbox.Status.UNKNOWN]).exists():
            raise RuntimeError("an SMS failed during the benchmark")
        time.sleep(0.05)
    last = round_rows.aggregate(last=Max("sent_at"))["last"].timestamp()
    return last - start, enqueued - start


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
    parser.add_argument("--pool", default="threads", choices=["threads", "solo", "prefork"])
    parser.add_argument("--concurrency", type=int, default=4, help="tasks at once in each worker")
    parser.add_argument("--producers", type=int, default=4, help="threads queuing tasks and SMS")
    parser.add_argument("--rounds", type=int, default=4, help="alternating no-op and SMS rounds")
    args = parser.parse_args()

    parent, child = multiprocessing.Pipe()
    provider = multiprocessing.get_context("spawn").Process(target=_provider_process, args=(child,), daemon=True)
    provider.start()
    provider_env = parent.recv()

    fresh_database()
    import redis
    from django.conf import settings

    from config.celery import app
    from contacts.models import Outbox

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
    workers = _start_workers(args.workers, env, log_dir, args.pool, args.concurrency)
    indices = list(range(args.messages))
    rounds = [indices[r :: args.rounds] for r in range(args.rounds)]
    noop_time = noop_publish = sms_time = sms_enqueue = 0.0
    try:
        for share in rounds:
            elapsed, publishing = run_noop(share, client, args.producers)
            noop_time += elapsed
            noop_publish += publishing
            elapsed, enqueuing = run_sms(share, args.producers)
            sms_time += elapsed
            sms_enqueue += enqueuing
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)
        app.control.purge()
    parent.send("stats")
    stats = parent.recv()
    provider.join(timeout=10)

    rows = list(Outbox.objects.values_list("created_at", "sent_at", "attempts"))
    latencies = [(sent - created).total_seconds() for created, sent, _ in rows]
    deliveries_per_s = args.messages / sms_time
    tasks_per_s = args.messages / noop_time
    emit(
        {
            "bench": "outbox_sms",
            "workers": f"{args.workers} x {args.pool} (concurrency {args.concurrency})",
            "producers": args.producers,
            "rounds": args.rounds,
            "provider": "local Brevo-like HTTP server",
            "sms": {
                "sms": args.messages,
                "deliveries_per_s": round(deliveries_per_s, 1),
                "enqueue_per_s": round(args.messages / sms_enqueue, 1),
                "attempts": sorted({attempts for _, _, attempts in rows}),
                "enqueue_to_sent": summary_ms(latencies),
            },
            "provider_accepted": stats["accepted"],
            "noop_task": {
                "tasks": args.messages,
                "tasks_per_s": round(tasks_per_s, 1),
                "publish_per_s": round(args.messages / noop_publish, 1),
            },
            "ratio": round(deliveries_per_s / tasks_per_s, 3),
            "target_ratio": 0.5,
        }
    )


if __name__ == "__main__":
    main()
