"""Rebuild the indicators' facts and daily aggregates from the tickets and
their events: every organisation, or one (--organisation SLUG)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from contacts.indicators.aggregates import RebuildError, rebuild


class Command(BaseCommand):
    help = "Rebuild the indicators' facts and daily aggregates from scratch."

    def add_arguments(self, parser):
        parser.add_argument("--organisation", metavar="SLUG", help="only this organisation")

    def handle(self, *args, **options):
        try:
            report = rebuild(options["organisation"])
        except RebuildError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            _("%(tickets)d ticket facts and %(aggregates)d daily aggregates in %(seconds).1f s (%(rate)s rows/s).")
            % {
                "tickets": report.tickets,
                "aggregates": report.aggregates,
                "seconds": report.seconds,
                "rate": report.rows_per_second,
            }
        )
