import shutil
import tempfile

import pytest

from mail.models import Mailbox
from tests.support.dovecot import Dovecot
from tests.support.emails import USER


@pytest.fixture(scope="session")
def dovecot_server():
    if shutil.which("dovecot") is None:
        pytest.fail("Dovecot is not installed: .ci/debian-packages installs dovecot-imapd")
    # Dovecot's own processes run as the dovecot user: pytest's private
    # temporary folders are out of their reach.
    root = tempfile.mkdtemp(prefix="aiguillage-dovecot-")
    server = Dovecot(root, {USER: "secret-imap"})
    server.start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def dovecot(dovecot_server):
    """The server with an empty INBOX for this test."""
    client = dovecot_server.client(USER)
    try:
        for folder in ("INBOX", "Traite"):
            if client.folder_exists(folder):
                client.select_folder(folder)
                uids = client.search(["ALL"])
                if uids:
                    client.delete_messages(uids)
                    client.expunge()
        client.unselect_folder() if client.has_capability("UNSELECT") else None
    finally:
        client.logout()
    return dovecot_server


@pytest.fixture
def mailbox(organisation, dovecot, monkeypatch):
    monkeypatch.setenv("TEST_IMAP_SECRET", "secret-imap")
    return Mailbox.objects.create(
        organisation=organisation,
        address=USER,
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_security=Mailbox.Security.NONE,
        imap_login=USER,
        imap_secret="env:TEST_IMAP_SECRET",
    )
