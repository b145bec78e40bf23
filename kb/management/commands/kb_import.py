import json

from django.core.management.base import BaseCommand, CommandError

from kb.importer import KbImportError, import_files


class Command(BaseCommand):
    help = "Import knowledge-base YAML files (one transaction; nothing is written when a file is invalid)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+")

    def handle(self, *args, **options):
        try:
            report = import_files(options["files"])
        except KbImportError as exc:
            raise CommandError("invalid knowledge base, nothing imported:\n" + "\n".join(exc.errors)) from exc
        for org in report.organisations:
            if org.unchanged:
                self.stdout.write(f"{org.slug}: unchanged")
                continue
            parts = [
                f"{label} " + ", ".join(f"{kind} {n}" for kind, n in counts.items() if n)
                for label, counts in (("added", org.added), ("changed", org.changed), ("removed", org.removed))
                if any(counts.values())
            ]
            self.stdout.write(f"{org.slug}: {'created; ' if org.created else ''}{'; '.join(parts)}")
        self.stdout.write(json.dumps(report.as_dict()))
