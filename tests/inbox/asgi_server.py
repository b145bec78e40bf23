"""A real ASGI server (uvicorn) on the test database and Redis layer."""

import contextlib
import signal
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.db import connection

from tests.support.dovecot import free_port
from tests.support.processes import ROOT, child_env, wait_until


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (local test server)
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def asgi_server(log_path, **env):
    """Serve the project on 127.0.0.1 (``env``: extra environment variables);
    yields its base URL."""
    port = free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "tests.inbox.asgi_app:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--ws",
                "websockets",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=child_env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(
                lambda: _answers(f"{url}/agents/connexion/") or process.poll() is not None,
                timeout=30,
                message="uvicorn",
            )
            assert process.poll() is None, Path(log_path).read_text(errors="replace")
            yield url
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def elsewhere(function):
    """Run ``function`` in another thread, as a mail listener or a Celery
    worker would: async_to_sync (the live broadcast) refuses to run in a
    thread with an event loop, and Playwright's session-wide browser keeps
    one running in the tests' main thread."""

    def run():
        try:
            return function()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=60)
