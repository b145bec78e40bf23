import json

from django.core.management.base import BaseCommand, CommandError

from routing.evaluation import evaluate_file


class Command(BaseCommand):
    help = "Route labelled messages (JSON Lines) without creating anything; the last line is the JSON summary."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--organisation", required=True)

    def handle(self, *args, **options):
        try:
            summary = evaluate_file(options["organisation"], options["file"])
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(summary))
