"""Keeping the daily aggregates: rebuilt from scratch (``rebuild``), or
brought up to date from the events recorded since the last run
(``refresh``, a Celery beat task every minute). Both write facts with
contacts.indicators.facts and add each fact's contribution to its day's
row; the refresh first takes the ticket's previous contribution off.

One refresh or rebuild at a time: each locks the RefreshState row for its
transaction, so a process that dies leaves the watermark where it was and
the next run does the work again (refreshing a ticket twice changes
nothing)."""

import datetime
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.indicators.clock import Calendars
from contacts.indicators.facts import FACT_FIELDS, compute_facts, same_fact
from contacts.indicators.models import KEY_FIELDS, AggregateBuild, DailyAggregate, RefreshState, TicketFact
from contacts.models import Ticket, TicketEvent
from kb.models import Organisation

BATCH = 5000
# Events are re-read this long after the run that could first have seen
# them: an event committed late by a long transaction, with an id below the
# watermark, is still taken into account.
OVERLAP = datetime.timedelta(minutes=10)


class RebuildError(ValueError):
    """A rebuild that cannot be done; the message says why."""


@dataclass
class Report:
    tickets: int = 0
    aggregates: int = 0
    seconds: float = 0.0

    @property
    def rows_per_second(self):
        return round((self.tickets + self.aggregates) / self.seconds) if self.seconds else None


def _lock_state():
    RefreshState.objects.get_or_create(pk=1)
    return RefreshState.objects.select_for_update().get(pk=1)


def _add(sums, fact, sign=1):
    totals = sums[fact.key()]
    for name, amount in fact.contribution().items():
        totals[name] += sign * amount


def _row(key, totals):
    return DailyAggregate(**dict(zip(KEY_FIELDS, key, strict=True)), **totals)


def rebuild(organisation_slug=None, batch=BATCH):
    """Recompute every fact and aggregate (of one organisation, by its slug)
    from the tickets and events, in one transaction."""
    started = time.perf_counter()
    if organisation_slug is not None:
        organisations = list(Organisation.objects.filter(slug=organisation_slug))
        if not organisations:
            raise RebuildError(_("Unknown organisation “%(value)s”.") % {"value": organisation_slug})
    else:
        organisations = list(Organisation.objects.order_by("pk"))
    report = Report()
    calendars = Calendars()
    with transaction.atomic():
        state = _lock_state()
        if organisation_slug is None:
            # Everything up to here is in the rebuild: the next refresh starts from it.
            state.last_event_id = TicketEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            state.last_run_at = timezone.now()
            state.save(update_fields=["last_event_id", "last_run_at"])
        for organisation in organisations:
            TicketFact.objects.filter(organisation=organisation).delete()
            DailyAggregate.objects.filter(organisation=organisation).delete()
            sums = defaultdict(Counter)
            tickets = Ticket.objects.filter(organisation=organisation).order_by("pk")
            count, last = 0, 0
            while True:
                # A range of ids per batch (not a list of them: thousands of
                # parameters in each of the facts' queries cost more than they do).
                bound = list(tickets.filter(pk__gt=last).values_list("pk", flat=True)[batch - 1 : batch])
                chunk = tickets.filter(pk__gt=last, pk__lte=bound[0]) if bound else tickets.filter(pk__gt=last)
                facts = compute_facts(chunk, calendars)
                if not facts:
                    break
                last = max(fact.ticket_id for fact in facts)
                TicketFact.objects.bulk_create(facts, batch_size=batch)
                for fact in facts:
                    _add(sums, fact)
                count += len(facts)
            rows = [_row(key, totals) for key, totals in sums.items()]
            DailyAggregate.objects.bulk_create(rows, batch_size=batch)
            AggregateBuild.objects.update_or_create(
                organisation=organisation, defaults={"rebuilt_at": timezone.now(), "tickets": count}
            )
            report.tickets += count
            report.aggregates += len(rows)
    if connection.vendor == "postgresql":
        # Statistics of the tables just rewritten, which the dashboard's plans
        # need, and (outside a transaction) their visibility map, which its
        # index-only scans need: autovacuum would take its time.
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            for model in (TicketFact, DailyAggregate):
                cursor.execute(f"{command} {model._meta.db_table}")
    report.seconds = time.perf_counter() - started
    return report


def _apply(deltas):
    """Add each key's deltas to its row (created when missing), keys in a
    fixed order so that concurrent writers cannot deadlock."""
    for key in sorted(deltas, key=lambda k: tuple("" if v is None else str(v) for v in k)):
        changes = {name: amount for name, amount in deltas[key].items() if amount}
        if not changes:
            continue
        where = dict(zip(KEY_FIELDS, key, strict=True))
        DailyAggregate.objects.bulk_create([DailyAggregate(**where)], ignore_conflicts=True)
        DailyAggregate.objects.filter(**where).update(**{name: F(name) + amount for name, amount in changes.items()})


def refresh_tickets(ticket_ids, calendars=None):
    """Bring the facts of these tickets, and their days' aggregates, up to
    date. Call it with the RefreshState row locked (``refresh`` does)."""
    calendars = calendars or Calendars()
    ticket_ids = list(ticket_ids)
    old = {fact.ticket_id: fact for fact in TicketFact.objects.filter(ticket_id__in=ticket_ids)}
    new = {fact.ticket_id: fact for fact in compute_facts(Ticket.objects.filter(pk__in=ticket_ids), calendars)}
    deltas = defaultdict(Counter)
    changed = []
    for ticket_id, fact in new.items():
        before = old.get(ticket_id)
        if before is not None and same_fact(before, fact):
            continue
        if before is not None:
            _add(deltas, before, -1)
        _add(deltas, fact)
        changed.append(fact)
    _apply(deltas)
    TicketFact.objects.bulk_create(
        changed, update_conflicts=True, unique_fields=["ticket"], update_fields=FACT_FIELDS, batch_size=BATCH
    )
    return len(changed)


def refresh(now=None, batch=BATCH):
    """Take into account the events recorded since the last run (and those
    of the last OVERLAP before it): refresh their tickets' facts and
    aggregates, then move the watermark. Returns the number of facts changed."""
    now = now or timezone.now()
    changed = 0
    calendars = Calendars()
    with transaction.atomic():
        state = _lock_state()
        events = TicketEvent.objects.filter(pk__gt=state.last_event_id)
        if state.last_run_at is not None:
            events = TicketEvent.objects.filter(pk__gt=state.last_event_id) | TicketEvent.objects.filter(
                created_at__gte=state.last_run_at - OVERLAP
            )
        last_event_id = events.order_by("-pk").values_list("pk", flat=True).first() or state.last_event_id
        ticket_ids = sorted(set(events.filter(pk__lte=last_event_id).order_by().values_list("ticket_id", flat=True)))
        for start in range(0, len(ticket_ids), batch):
            changed += refresh_tickets(ticket_ids[start : start + batch], calendars)
        state.last_event_id = max(last_event_id, state.last_event_id)
        state.last_run_at = now
        state.save(update_fields=["last_event_id", "last_run_at"])
    return changed
