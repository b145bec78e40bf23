import json

from django.core.management.base import BaseCommand, CommandError

from kb.models import Organisation
from routing.corrections import routing_report


class Command(BaseCommand):
    help = "List the topics agents most often correct, and the words that would have routed them right."

    def add_arguments(self, parser):
        parser.add_argument("--organisation", help="The organisation's slug.")
        parser.add_argument("--limit", type=int, default=10)

    def handle(self, *args, **options):
        organisation = None
        if options["organisation"]:
            organisation = Organisation.objects.filter(slug=options["organisation"]).first()
            if organisation is None:
                raise CommandError(f"unknown organisation {options['organisation']!r}")
        report = routing_report(organisation, limit=options["limit"])
        for row in report:
            self.stdout.write(
                f"{row['topic']}: {row['corrections']} correction(s); missing words: {', '.join(row['missing_words'])}"
            )
        self.stdout.write(json.dumps(report, ensure_ascii=False))
