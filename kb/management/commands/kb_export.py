from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kb.exporter import export_yaml
from kb.models import Organisation


class Command(BaseCommand):
    help = "Write an organisation's knowledge base in the YAML exchange format."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("-o", "--output", help="A file to write (default: standard output).")

    def handle(self, *args, **options):
        organisation = Organisation.objects.filter(slug=options["slug"]).first()
        if organisation is None:
            raise CommandError(f"unknown organisation {options['slug']!r}")
        text = export_yaml(organisation)
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")
