"""IMAP latency: messages appended to a real Dovecot while the listener
runs (IDLE); time from APPEND to a routed ticket.

Usage: .venv/bin/python bench/imap_latency.py [--messages 1000]
Prints one JSON line. Needs Debian's dovecot-imapd.
"""

import argparse
import statistics
import tempfile
import threading
import time

from common import ROOT, emit, fresh_database, percentile

USER = "contact@bench.example"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between two APPENDs")
    args = parser.parse_args()

    fresh_database()
    import sys

    sys.path.insert(0, str(ROOT))
    from django.db import connection

    from config.celery import app
    from contacts.models import TicketEvent
    from kb.models import Organisation, Service
    from mail import imap
    from mail.models import Mailbox
    from tests.support.dovecot import Dovecot

    server = Dovecot(tempfile.mkdtemp(prefix="bench-dovecot-"), {USER: "secret"}).start()
    organisation = Organisation.objects.create(slug="bench", name="Bench", kind="departement")
    Service.objects.create(organisation=organisation, slug="accueil", name="Accueil", is_triage=True)
    mailbox = Mailbox.objects.create(
        organisation=organisation,
        address=USER,
        imap_host="127.0.0.1",
        imap_port=server.port,
        imap_security=Mailbox.Security.NONE,
        imap_secret="secret",
    )
    stop = threading.Event()

    def listen():
        try:
            imap.listen(mailbox, stop.is_set, idle_seconds=5)
        finally:
            connection.close()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    appended = {}
    client = server.client(USER)
    try:
        for n in range(args.messages):
            raw = (
                f"From: Citoyen {n} <c{n}@citoyen.example>\r\nTo: {USER}\r\nSubject: Demande {n}\r\n"
                f"Message-ID: <lat-{n}@citoyen.example>\r\n\r\nBonjour, demande {n}.\r\n"
            ).encode()
            client.append("INBOX", raw)
            appended[f"Demande {n}"] = time.time()
            time.sleep(args.interval)
    finally:
        client.logout()

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if TicketEvent.objects.filter(kind="routed").count() >= args.messages:
            break
        time.sleep(0.2)
    stop.set()
    listener.join(timeout=15)
    server.stop()
    app.control.purge()

    latencies = []
    for subject, routed_at in TicketEvent.objects.filter(kind="routed").values_list("ticket__subject", "created_at"):
        if subject in appended:
            latencies.append(routed_at.timestamp() - appended[subject])
    emit(
        {
            "bench": "imap_latency",
            "appended": args.messages,
            "routed": len(latencies),
            "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "p95_ms": round(percentile(latencies, 95) * 1000, 1) if latencies else None,
            "target_p95_ms": 1000,
        }
    )


if __name__ == "__main__":
    main()
