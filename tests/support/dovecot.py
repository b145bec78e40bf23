"""A real Dovecot IMAP server on loopback, configured and started by the tests."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Dovecot:
    def __init__(self, root, users):
        self.root = Path(root)
        self.users = users
        self.port = free_port()
        self.config = self.root / "dovecot.conf"

    def write_config(self):
        (self.root / "home").mkdir(parents=True, exist_ok=True)
        shutil.chown(self.root / "home", "dovecot", "dovecot")
        self.root.chmod(0o755)
        self.config.write_text(CONFIG.format(root=self.root, port=self.port))
        (self.root / "passwd").write_text("".join(f"{user}:{{PLAIN}}{pw}\n" for user, pw in self.users.items()))

    def start(self):
        self.write_config()
        subprocess.run(["dovecot", "-c", str(self.config)], check=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"Dovecot did not listen on port {self.port}: {self.log()}")

    def stop(self):
        subprocess.run(["dovecot", "-c", str(self.config), "stop"], check=False, capture_output=True)
        pid_file = self.root / "run" / "master.pid"
        deadline = time.monotonic() + 10
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self, drop_connections=False):
        """Stop and start the server. ``drop_connections``: the IMAP sessions
        open before end with it, as when the machine restarts (this
        Dovecot's stop leaves its running imap processes serving them)."""
        sessions = self._children() if drop_connections else []
        self.stop()
        for pid in sessions:
            with contextlib.suppress(ProcessLookupError, FileNotFoundError):
                if "dovecot" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
                    os.kill(pid, signal.SIGKILL)
        return self.start()

    def _children(self):
        """The pids of the master process's children (logins, imap sessions)."""
        try:
            master = int((self.root / "run" / "master.pid").read_text().split()[0])
            return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
            return []

    def log(self):
        path = self.root / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def client(self, user):
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(user, self.users[user])
        return client

    def append(self, user, raw, folder="INBOX"):
        client = self.client(user)
        try:
            client.append(folder, raw)
        finally:
            client.logout()

    def uids(self, user, folder="INBOX", criteria=("ALL",)):
        client = self.client(user)
        try:
            client.select_folder(folder)
            return client.search(list(criteria))
        finally:
            client.logout()

    def reset_uidvalidity(self, user):
        """Recreate the user's INBOX: the server gives it a new UIDVALIDITY."""
        self.stop()
        shutil.rmtree(self.root / "home" / user / "Maildir", ignore_errors=True)
        time.sleep(1.1)  # Dovecot derives UIDVALIDITY from the clock, in seconds
        self.start()
