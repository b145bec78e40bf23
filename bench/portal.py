"""The public pages under load, on the production set-up: gunicorn with two
workers on PostgreSQL and Redis, wrk on loopback.

Three runs in one: the topic search (the API the search-as-you-type calls),
form submissions through the API (each a new request: a ticket, its routing,
its acknowledgement in the outbox), and a bare "hello" view on the same stack
as the reference.

Usage: .venv/bin/python bench/portal.py [--duration 10] [--connections 16]
Needs wrk (Debian package). Prints one JSON line.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.parse
from pathlib import Path

from common import BENCH_DATABASE, PG, ROOT, emit, fresh_database


def search_queries(limit=400):
    """What citizens type: the first words of the labelled messages, as the
    search-as-you-type sends them (3, 4, then 6 words), all distinct."""
    path = ROOT.parent / "shared" / "datasets" / "cd99-messages.jsonl"
    queries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        words = json.loads(line)["text"].split()
        for n in (3, 4, 6):
            query = " ".join(words[:n])
            if query not in queries:
                queries.append(query)
    return queries[:limit]


SETTINGS = """
from config.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench_urls"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
PUBLIC_RATE_LIMITS = {key: (0, 60) for key in PUBLIC_RATE_LIMITS}  # noqa: F405  (load comes from one address)
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}
"""

URLS = """
from django.http import HttpResponse
from django.urls import include, path


def hello(request):
    return HttpResponse("hello")


urlpatterns = [path("hello/", hello), path("", include("config.urls"))]
"""

SEARCH_LUA = """
local queries = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/api/v1/widgets/bench/topics/?q=" .. queries[(i %% #queries) + 1])
end
"""

SUBMIT_LUA = """
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local counter = 0
request = function()
  counter = counter + 1
  local prefix = tostring(tid) .. "-" .. tostring(os.time())
  local id = string.format("%08x-0000-4000-8000-%012d", tid * 100000 + (os.time() % 100000), counter)
  local body = '{"submission_id":"' .. id .. '","name":"Citoyen ' .. counter .. '",' ..
    '"email":"c' .. prefix .. '-' .. counter .. '@citoyen.example","message":"Bonjour, mon RSA n a pas ete verse ce mois-ci.",' ..
    '"topic":"cd99/rsa-versement","postcode":"99100"}'
  return wrk.format("POST", "/api/v1/widgets/bench/requests/", {["Content-Type"] = "application/json"}, body)
end
"""


WARM_UP_SECONDS = 2


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url_port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", url_port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def to_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


# Appended to every script: the HTTP status codes seen, per thread, printed at the end.
STATUS_LUA = """
local all_threads = {}
local previous_setup = setup
setup = function(thread)
  table.insert(all_threads, thread)
  if previous_setup then previous_setup(thread) end
end
statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  for _, thread in ipairs(all_threads) do
    local seen = thread:get("statuses")
    for status, count in pairs(seen) do
      io.write(string.format("STATUS %d %d\\n", status, count))
    end
  end
end
"""


def run_wrk(url, script, duration, connections):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script + STATUS_LUA)
    try:
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", handle.name, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {q: to_ms(v, u) for q, v, u in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)}
    statuses = {}
    for status, count in re.findall(r"^STATUS (\d+) (\d+)$", out, re.M):
        statuses[status] = statuses.get(status, 0) + int(count)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "req_s": round(rate, 1),
        "p50_ms": round(latency.get("50", 0), 2),
        "p99_ms": round(latency.get("99", 0), 2),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "statuses": statuses,
        "socket_errors": socket_errors.group(1).strip() if socket_errors else "",
    }


def prepare():
    fresh_database()
    from django.core.cache import cache

    from channels_app.models import Widget
    from kb.importer import import_files
    from kb.models import Organisation

    datasets = ROOT.parent / "shared" / "datasets"
    import_files([datasets / "cd99.yaml", datasets / "partners.yaml"])
    organisation = Organisation.objects.get(slug="cd99")
    Widget.objects.create(organisation=organisation, name="Bench", key="bench")
    cache.clear()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    prepare()

    from django.db import connection

    from contacts.models import Ticket

    extra = Path(tempfile.mkdtemp())
    (extra / "bench_settings.py").write_text(textwrap.dedent(SETTINGS))
    (extra / "bench_urls.py").write_text(textwrap.dedent(URLS))
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": f"{extra}{os.pathsep}{ROOT}",
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "DATABASE_URL": f"{PG}/{BENCH_DATABASE}",
        "DB_CONN_MAX_AGE": "60",
    }
    # The production HTTP set-up: gunicorn's synchronous workers (websockets
    # are served apart, by an ASGI server).
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi:application",
            "--workers",
            str(args.workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(args.threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for(port)
        base = f"http://127.0.0.1:{port}"
        # Warm each worker (imports, matcher index, connections).
        for _ in range(20):
            subprocess.run(["curl", "-s", "-o", "/dev/null", f"{base}/api/v1/widgets/bench/topics/?q=rsa"], check=False)
        hello = run_wrk(f"{base}/hello/", "", args.duration, args.connections)
        queries = search_queries()
        lua_queries = ", ".join(json.dumps(urllib.parse.quote_plus(q)) for q in queries)
        search = run_wrk(base, SEARCH_LUA % lua_queries, args.duration, args.connections)
        # Warm the submission path too (each thread's database connection,
        # the organisation's routing and acknowledgement settings): the
        # figure is the steady state, not a freshly started worker's first
        # requests. Then ANALYZE, standing in for the autovacuum this
        # machine's PostgreSQL runs without (as bench/ingest.py does).
        run_wrk(base, SUBMIT_LUA, WARM_UP_SECONDS, args.connections)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        before = Ticket.objects.count()
        submit = run_wrk(base, SUBMIT_LUA, args.duration, args.connections)
        created = Ticket.objects.count() - before
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(extra, ignore_errors=True)
    emit(
        {
            "bench": "portal",
            "server": f"gunicorn, {args.workers} workers x {args.threads} threads, PostgreSQL, Redis",
            "connections": args.connections,
            "duration_s": args.duration,
            "hello": hello,
            "search": {
                **search,
                "distinct_queries": len(queries),
                "ratio_to_hello": round(search["req_s"] / hello["req_s"], 3),
            },
            "submit": {
                **submit,
                "tickets_created": created,
                "ratio_to_hello": round(submit["req_s"] / hello["req_s"], 3),
            },
            "targets": {"search_req_s": 300, "search_p99_ms": 50, "submit_req_s": 100, "submit_p99_ms": 200},
        }
    )


if __name__ == "__main__":
    main()
