"""Listen to every active mailbox (one IDLE loop each), or sync them once."""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from mail import imap
from mail.models import Mailbox


class Command(BaseCommand):
    help = "Import email from the mailboxes over IMAP (IDLE, polling fallback, reconnection with backoff)."

    def add_arguments(self, parser):
        parser.add_argument("--mailbox", action="append", help="Only this address (repeatable).")
        parser.add_argument("--once", action="store_true", help="Import what is there, then stop.")

    def handle(self, *args, **options):
        mailboxes = Mailbox.objects.filter(is_active=True).exclude(imap_host="").select_related("organisation")
        if options["mailbox"]:
            mailboxes = mailboxes.filter(address__in=[a.lower() for a in options["mailbox"]])
        mailboxes = list(mailboxes)
        if not mailboxes:
            raise CommandError("No active mailbox with an IMAP host to read.")

        imap.reprocess_pending()
        if options["once"]:
            for mailbox in mailboxes:
                counts = imap.sync_once(mailbox)
                self.stdout.write(f"{mailbox.address}: {counts}")
            return

        stopping = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.set())
        threads = [
            threading.Thread(target=imap.listen, args=(mailbox, stopping.is_set), name=mailbox.address, daemon=True)
            for mailbox in mailboxes
        ]
        for thread in threads:
            thread.start()
        self.stdout.write(f"Listening to {len(threads)} mailbox(es).")
        while not stopping.wait(1):
            pass
        for thread in threads:
            thread.join(timeout=10)
