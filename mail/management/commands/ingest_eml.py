"""Import raw emails from files, directories or mbox files, through exactly
the same path as IMAP, and print a JSON summary as the last line."""

import json
import mailbox as mailbox_lib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kb.models import Organisation
from mail.models import Mailbox, RawMessage
from mail.services import receive

SUMMARY_KEYS = {
    "created": "tickets_created",
    "threaded": "messages_threaded",
    "duplicate": "duplicates",
    "auto_reply": "auto_replies",
    "bounce": "bounces",
}


def iter_files(paths):
    """Every file under the given paths, each directory's files in name order."""
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            yield path
        else:
            raise CommandError(f"{path}: no such file or directory")


def is_mbox(path):
    with open(path, "rb") as handle:
        return handle.read(5) == b"From " and path.suffix.lower() in {".mbox", ".mbx", ""}


def iter_messages(path):
    """(label, raw bytes) for each message of a file (one .eml, or an mbox)."""
    if is_mbox(path):
        box = mailbox_lib.mbox(str(path), create=False)
        for index, key in enumerate(box.iterkeys()):
            yield f"{path}#{index + 1}", box.get_bytes(key)
    else:
        yield str(path), path.read_bytes()


class Command(BaseCommand):
    help = "Import .eml files, directories of them or mbox files into an organisation's tickets."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--organisation", required=True, help="The organisation's slug.")
        parser.add_argument("--mailbox", help="The address these messages were received at (one of ours).")

    def handle(self, *args, **options):
        organisation = Organisation.objects.filter(slug=options["organisation"]).first()
        if organisation is None:
            raise CommandError(f"unknown organisation {options['organisation']!r}")
        mailbox = None
        if options["mailbox"]:
            mailbox, _ = Mailbox.objects.get_or_create(
                address=options["mailbox"].strip().lower(), defaults={"organisation": organisation, "imap_host": ""}
            )
            if mailbox.organisation_id != organisation.pk:
                raise CommandError(f"mailbox {mailbox.address} belongs to another organisation")

        summary = {"files": 0, **dict.fromkeys(SUMMARY_KEYS.values(), 0), "rejected": []}
        for path in iter_files(options["paths"]):
            summary["files"] += 1
            try:
                messages = list(iter_messages(path))
            except OSError as exc:
                summary["rejected"].append({"file": str(path), "reason": f"cannot read: {exc}"})
                continue
            for label, raw in messages:
                result = receive(raw, organisation=organisation, mailbox=mailbox, source=RawMessage.Source.FILE)
                if result.outcome == "rejected":
                    summary["rejected"].append({"file": label, "reason": result.reason})
                else:
                    summary[SUMMARY_KEYS[result.outcome]] += 1
        self.stdout.write(json.dumps(summary, ensure_ascii=False))
