"""A real ClamAV daemon (Debian's clamav-daemon) on a Unix socket,
configured and started by the tests.

There is no internet for freshclam: the daemon loads one signature database
written here, an MD5 hash signature (``.hdb``: ``md5:size:name``) of the EICAR
test file, the harmless string every antivirus is built to detect. clamd
names the signatures of a database that is not official with
``.UNOFFICIAL`` appended: it reports ``Eicar-Signature.UNOFFICIAL``.
"""

import contextlib
import hashlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Eicar-Signature"
REPORTED = f"{SIGNATURE}.UNOFFICIAL"

CONFIG = """\
LocalSocket {root}/clamd.sock
Foreground yes
DatabaseDirectory {root}/db
LogFile {root}/clamd.log
PidFile {root}/clamd.pid
StreamMaxLength 4M
"""


def hash_signature(content, name):
    """One line of an .hdb database: the MD5 and size of a whole file."""
    return f"{hashlib.md5(content).hexdigest()}:{len(content)}:{name}\n"  # noqa: S324 - ClamAV's format


class Clamd:
    def __init__(self):
        # A short path of its own: a Unix socket's path has at most 107 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="clamd-"))
        self.socket = str(self.root / "clamd.sock")
        self.process = None

    def write_config(self):
        (self.root / "db").mkdir(exist_ok=True)
        (self.root / "db" / "test.hdb").write_text(hash_signature(EICAR, SIGNATURE))
        (self.root / "clamd.conf").write_text(CONFIG.format(root=self.root))

    def start(self, timeout=30):
        self.write_config()
        self.process = subprocess.Popen(
            ["clamd", "-c", str(self.root / "clamd.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"clamd stopped at start: {self.log()}")
            if self.ping():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"clamd did not answer on {self.socket}: {self.log()}")

    def ping(self):
        with (
            contextlib.suppress(OSError),
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock,
        ):
            sock.settimeout(1)
            sock.connect(self.socket)
            sock.sendall(b"zPING\0")
            return sock.recv(16).startswith(b"PONG")
        return False

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        with contextlib.suppress(FileNotFoundError):
            Path(self.socket).unlink()

    def log(self):
        path = self.root / "clamd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def remove(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
