"""Reading a mailbox over IMAP: fetch new messages by UID, store and ingest
each, and only then flag or move it on the server."""

import logging
import ssl
import time

from django.db import DatabaseError, close_old_connections
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from mail import metrics
from mail.models import Mailbox, RawMessage
from mail.services import receive

logger = logging.getLogger(__name__)

FETCH_BATCH = 50
IDLE_SECONDS = 60  # re-issue IDLE well before servers drop it (RFC 2177: 29 min)
POLL_SECONDS = 30


def connect(mailbox, timeout=30):
    client = IMAPClient(
        mailbox.imap_host,
        port=mailbox.imap_port,
        ssl=mailbox.imap_security == Mailbox.Security.SSL,
        ssl_context=ssl.create_default_context(),
        timeout=timeout,
    )
    if mailbox.imap_security == Mailbox.Security.STARTTLS:
        client.starttls(ssl.create_default_context())
    client.login(mailbox.imap_login or mailbox.address, mailbox.password())
    return client


def select(client, mailbox):
    """Select the folder; a changed UIDVALIDITY means old UIDs mean nothing:
    scan again from the start (ingestion is idempotent, nothing duplicates)."""
    info = client.select_folder(mailbox.folder)
    uidvalidity = int(info[b"UIDVALIDITY"])
    if mailbox.uidvalidity != uidvalidity:
        if mailbox.uidvalidity is not None:
            logger.warning("%s: UIDVALIDITY changed (%s → %s), re-scanning", mailbox, mailbox.uidvalidity, uidvalidity)
        mailbox.uidvalidity = uidvalidity
        mailbox.last_uid = 0
        mailbox.save(update_fields=["uidvalidity", "last_uid"])
    return info


def sync(client, mailbox, batch=FETCH_BATCH):
    """Import every message above the last UID; returns the outcomes counted."""
    counts = {}
    uids = sorted(uid for uid in client.search(["UID", f"{mailbox.last_uid + 1}:*"]) if uid > mailbox.last_uid)
    for start in range(0, len(uids), batch):
        chunk = uids[start : start + batch]
        fetched = client.fetch(chunk, ["BODY.PEEK[]"])
        for uid in chunk:
            data = fetched.get(uid, {}).get(b"BODY[]")
            if data is None:
                continue  # expunged meanwhile
            result = receive(data, organisation=mailbox.organisation, mailbox=mailbox, imap_uid=uid)
            # The database has committed: now, and only now, tell the server.
            after_import(client, mailbox, uid)
            mailbox.last_uid = uid
            mailbox.save(update_fields=["last_uid"])
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
    mailbox.last_checked_at = timezone.now()
    mailbox.last_error = ""
    mailbox.save(update_fields=["last_checked_at", "last_error"])
    return counts


def has_unseen_uids(client, mailbox):
    status = client.folder_status(mailbox.folder, [b"UIDNEXT"])
    return int(status[b"UIDNEXT"]) - 1 > mailbox.last_uid


def after_import(client, mailbox, uid):
    if mailbox.after_import == Mailbox.AfterImport.MOVE and mailbox.move_to:
        if client.has_capability("MOVE"):
            client.move([uid], mailbox.move_to)
        else:
            client.copy([uid], mailbox.move_to)
            client.delete_messages([uid])
            client.expunge([uid]) if client.has_capability("UIDPLUS") else client.expunge()
    else:
        client.add_flags([uid], [b"\\Seen"])


def sync_once(mailbox):
    """Connect, import what is new, disconnect (the --once mode and tests)."""
    client = connect(mailbox)
    try:
        if mailbox.after_import == Mailbox.AfterImport.MOVE and mailbox.move_to:
            ensure_folder(client, mailbox.move_to)
        select(client, mailbox)
        return sync(client, mailbox)
    finally:
        _logout(client)


def ensure_folder(client, name):
    if not client.folder_exists(name):
        client.create_folder(name)


def listen(mailbox, stop=lambda: False, idle_seconds=IDLE_SECONDS, poll_seconds=POLL_SECONDS, max_backoff=300):
    """Import forever: IDLE when the server offers it, polling otherwise,
    reconnecting with exponential backoff after any network or server error."""
    backoff = 1
    while not stop():
        client = None
        try:
            mailbox.refresh_from_db()
            client = connect(mailbox)
            if mailbox.after_import == Mailbox.AfterImport.MOVE and mailbox.move_to:
                ensure_folder(client, mailbox.move_to)
            select(client, mailbox)
            backoff = 1
            while not stop():
                sync(client, mailbox)
                close_old_connections()
                if has_unseen_uids(client, mailbox):
                    continue  # arrived during the sync: no IDLE would announce it
                if client.has_capability("IDLE"):
                    client.idle()
                    try:
                        client.idle_check(timeout=idle_seconds)
                    finally:
                        client.idle_done()
                else:
                    _sleep(poll_seconds, stop)
                    client.noop()
        except (IMAPClientError, OSError, ssl.SSLError, DatabaseError) as exc:
            # The database going away (a restart, a failover) is one more
            # outage to wait out: what was not committed is fetched again.
            logger.warning("%s: %s; reconnecting in %ss", mailbox, exc, backoff)
            metrics.imap_errors.labels(str(mailbox.pk)).inc()
            try:
                Mailbox.objects.filter(pk=mailbox.pk).update(last_error=f"{type(exc).__name__}: {exc}"[:2000])
            except DatabaseError:
                logger.warning("%s: the error could not be recorded, the database is unreachable", mailbox)
            _sleep(backoff, stop)
            backoff = min(backoff * 2, max_backoff)
        finally:
            if client is not None:
                _logout(client)
            close_old_connections()


def reprocess_pending(organisation=None):
    """Ingest raw messages stored but not processed (a crash in between)."""
    from mail.services import process

    rows = RawMessage.objects.filter(status=RawMessage.Status.PENDING)
    if organisation is not None:
        rows = rows.filter(organisation=organisation)
    return [process(row) for row in rows.select_related("organisation", "mailbox")]


def _sleep(seconds, stop):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop():
        time.sleep(min(0.2, seconds))


def _logout(client):
    try:
        client.logout()
    except Exception:  # the connection may already be gone
        logger.debug("logout failed", exc_info=True)
