"""Disposable servers of a test's own, which it may stop, restart and kill
without touching the machine's shared PostgreSQL and Redis (other engineers
and CI run their tests on those at the same time).

    with PrivatePostgres() as pg, PrivateRedis() as redis:
        pg.create_database("app")
        env = django_env(pg.url("app"), redis.url())
        with ManagedProcess("worker", celery_command(), env, log_path, ready_text="ready.") as worker:
            ...
            pg.restart()            # pg_ctl restart -m fast
            redis.stop(); redis.start()
            worker.kill()           # SIGKILL to the worker and its children

Everything listens on 127.0.0.1 on a free port and lives in a temporary
folder removed on exit.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from glob import glob
from pathlib import Path

from tests.support.processes import ROOT, wait_until


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port):
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb in a temporary folder, trust
    authentication, user ``postgres``). As root, the server runs as the
    ``postgres`` OS user (PostgreSQL refuses to run as root)."""

    def __init__(self):
        binaries = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
        if not binaries:
            raise RuntimeError("PostgreSQL's server binaries are missing: install the postgresql package")
        self.bin = Path(binaries[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="aiguillage-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "postgresql.log"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o755)

    def _run(self, tool, *args, timeout=60):
        command = [str(self.bin / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr or result.stdout}\n{self.log()}")
        return result.stdout

    def _options(self):
        # fsync off: a disposable cluster survives its server's restarts, not
        # the machine's; commits still wait for the WAL write (synchronous_commit).
        return f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"

    def start(self):
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self._run("pg_ctl", "-D", str(self.data), "-o", self._options(), "-l", str(self.log_path), "-w", "start")
        return self

    def stop(self, mode="fast"):
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode="fast"):
        """``pg_ctl restart``: every connection is cut, the server is back
        when this returns."""
        self._run(
            "pg_ctl", "-D", str(self.data), "-m", mode, "-o", self._options(), "-l", str(self.log_path), "-w", "restart"
        )

    def url(self, database="postgres"):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database="postgres"):
        import psycopg

        return psycopg.connect(self.url(database), autocommit=True)

    def query(self, database, sql, params=()):
        """Run one statement; its rows (an empty list for a statement
        without any)."""
        with self.connect(database) as conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name, template=None):
        from psycopg import sql

        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(statement)

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def close(self):
        if self.data.exists():
            with contextlib.suppress(Exception):
                self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


class PrivateRedis:
    """A redis-server of its own, in memory only (no RDB, no AOF): stopping
    it loses everything it held, as a crashed Redis without persistence would."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="aiguillage-redis-"))
        self.port = free_port()
        self.process = None

    def start(self):
        log = open(self.root / "redis.log", "ab")  # noqa: SIM115 (kept open by the child)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_until(lambda: listening(self.port), timeout=20, message=f"redis-server on port {self.port}")
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        wait_until(lambda: not listening(self.port), timeout=10, message="redis-server to stop listening")

    def url(self, db=0):
        return f"redis://127.0.0.1:{self.port}/{db}"

    def flushall(self):
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port)
        try:
            client.flushall()
        finally:
            client.close()

    def close(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


def django_env(database_url, redis_url, **extra):
    """The environment of a project process on these servers: the test
    process's own variables less its database, broker and settings module."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update({key: str(value) for key, value in extra.items()})
    return env


def manage(env, *args, timeout=180):
    """Run ``manage.py ARGS`` to completion; its standard output."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args[:2])} failed: {result.stderr[-4000:]}")
    return result.stdout


def web_command(port, threads=4):
    """The production HTTP server (gunicorn, threaded worker) on config.wsgi."""
    return [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi:application",
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "5",
    ]


def celery_command(pool="threads", concurrency=2):
    return [
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
        "--without-heartbeat",
        "--without-mingle",
        "--without-gossip",
    ]


def listener_command(*addresses):
    command = [sys.executable, "manage.py", "mail_listen"]
    for address in addresses:
        command += ["--mailbox", address]
    return command


def http_ok(url):
    """Whether ``url`` answers 200 (a server that is up and reaches its database)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class ManagedProcess:
    """A child process in a session of its own (so that ``kill`` reaches
    its own children too: a Celery worker's pool), its output in a log file,
    started when ``ready_text`` appears in the log or ``ready()`` is true."""

    def __init__(self, name, command, env, log_path, *, ready_text=None, ready=None, timeout=60):
        self.name = name
        self.command = command
        self.env = env
        self.log_path = Path(log_path)
        self.ready_text = ready_text
        self.ready = ready
        self.timeout = timeout
        self.process = None
        self._offset = 0
        self._group_killed = False
        self.ready_at = None

    def start(self):
        """Launch and wait until ready."""
        return self.launch().wait_ready()

    def launch(self):
        """Launch without waiting (several processes then start side by side)."""
        self._offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._group_killed = False
        self.ready_at = None
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def wait_ready(self):
        wait_until(self._is_ready, timeout=self.timeout, interval=0.05, message=f"{self.name} to be ready")
        self.is_ready()
        return self

    def is_ready(self):
        """Running, and ready (without waiting); ``ready_at`` notes when it
        was first seen so."""
        try:
            ready = self.alive() and bool(self._is_ready())
        except AssertionError:
            return False
        if ready and self.ready_at is None:
            self.ready_at = time.monotonic()
        return ready

    def ready_for(self):
        """Seconds since it was first seen ready (0 when it is not)."""
        return time.monotonic() - self.ready_at if self.is_ready() else 0.0

    def _is_ready(self):
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.log()[-4000:]}")
        if self.ready_text is not None and self.ready_text not in self.log(since_start=True):
            return False
        return self.ready is None or self.ready()

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def children(self):
        """The pids of this process's direct children (a prefork pool)."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            return []

    def log(self, since_start=False):
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as handle:
            if since_start:
                handle.seek(self._offset)
            return handle.read().decode("utf-8", "replace")

    def kill(self):
        """SIGKILL to the process and everything in its session."""
        if self.process is None or self._group_killed:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._group_killed = True
        self.process.wait(timeout=20)

    def stop(self, timeout=15):
        """SIGTERM (a clean shutdown), SIGKILL if it takes longer than ``timeout``."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)
        # Whatever it left in its session (a pool child) goes with it.
        self.kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
