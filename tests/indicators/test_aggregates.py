"""The daily aggregates kept incrementally from the events equal those
rebuilt from scratch, on a history made through the real services."""

import datetime
import random
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict
from django.utils import translation

from contacts.indicators import clock
from contacts.indicators.aggregates import RebuildError, rebuild, refresh
from contacts.indicators.compute import INDICATORS, Scope, compute
from contacts.indicators.filters import parse_filters
from contacts.indicators.models import SUMMED, AggregateBuild, DailyAggregate, TicketFact
from contacts.models import Ticket, TicketEvent
from contacts.services import ingest
from contacts.services.ratings import rate
from contacts.services.tickets import change_status, change_topic, reply, transfer
from kb.models import Organisation, Service, Topic
from tests.inbox.world import inbound
from tests.indicators.world import PARIS, paris

CHANNELS = [("email", "<agg-{n}@citoyen.example>"), ("form", "form-agg-{n}"), ("chat", "chat-agg-{n}")]


def aggregates():
    """Every non-empty aggregate row, by key (refresh may leave emptied rows)."""
    rows = {}
    for row in DailyAggregate.objects.all():
        values = model_to_dict(row, exclude=["id"])
        if row.tickets == 0:
            assert all(values[name] == 0 for name in SUMMED), values
            continue
        rows[(row.organisation_id, row.day, row.service_id, row.topic_id, row.channel, row.priority)] = values
    return rows


def facts():
    return {fact.ticket_id: model_to_dict(fact) for fact in TicketFact.objects.all()}


def random_history(world, rng, steps):
    """Requests received and handled by agents, in a random order, the
    aggregates refreshed every few steps (as the beat task does)."""
    Service.objects.create(organisation=world.other, slug="urbanisme", name="Urbanisme")
    agents = {world.organisation.pk: world.users["alice"], world.other.pk: world.users["olga"]}
    tickets = []
    for step in range(steps):
        action = rng.choice(["ingest", "ingest", "reply", "transfer", "topic", "status", "status", "rate"])
        if action == "ingest" or not tickets:
            n = 1000 + step
            organisation = rng.choice(["demo", "demo", "demo", "autre"])
            channel, external_id = rng.choice(CHANNELS)
            received = datetime.datetime(2026, 5, 1, 8, tzinfo=PARIS) + datetime.timedelta(hours=rng.randint(0, 400))
            message = inbound(
                n,
                organisation=organisation,
                channel=channel,
                external_id=external_id.format(n=n),
                received_at=received,
                subject=f"Demande {n}",
                text="Bonjour, j'ai une question sur le RSA et l'APA.",
            )
            tickets.append(ingest(message).ticket.pk)
        else:
            ticket = Ticket.objects.get(pk=rng.choice(tickets))
            agent = agents[ticket.organisation_id]
            try:
                if action == "reply":
                    reply(ticket, agent, "Voici notre réponse.")
                elif action == "transfer":
                    services = Service.objects.filter(organisation=ticket.organisation_id).exclude(pk=ticket.service_id)
                    transfer(ticket, agent, rng.choice(list(services)), "Pas notre service")
                elif action == "topic":
                    topics = list(Topic.objects.filter(organisation=ticket.organisation_id))
                    if topics:
                        change_topic(ticket, agent, rng.choice(topics))
                elif action == "status":
                    change_status(ticket, rng.choice(list(Ticket.Status)), agent)
                else:
                    rate(ticket, rng.randint(1, 5))
            except ValidationError:
                pass  # an illegal move or a second rating: refused, nothing changed
        if rng.random() < 0.3:
            refresh()
    refresh()
    return tickets


@pytest.mark.django_db(transaction=False)
def test_incremental_aggregates_equal_the_rebuild(world):
    rng = random.Random(9)
    refresh()  # the hand-computed week: a paused ticket, one received on Friday evening before Easter Monday...
    random_history(world, rng, 160)

    incremental, incremental_facts = aggregates(), facts()
    report = rebuild()
    rebuilt, rebuilt_facts = aggregates(), facts()

    assert incremental_facts == rebuilt_facts
    assert incremental == rebuilt
    assert report.tickets == Ticket.objects.count() == len(rebuilt_facts)
    assert report.aggregates == DailyAggregate.objects.count() == len(rebuilt)
    totals = {name: sum(row[name] for row in rebuilt.values()) for name in SUMMED}
    # The history is varied enough for the comparison to mean something.
    assert totals["tickets"] == Ticket.objects.count()
    assert totals["transferred_twice"] >= 1
    assert totals["corrected"] > totals["transferred_once"]
    assert totals["reopened"] >= 1
    assert totals["rated"] >= 2
    assert sum(row["tickets"] for key, row in rebuilt.items() if key[0] == world.other.pk) >= 2
    # ... the commitments too (the hand-computed week: on time, late, acknowledged late).
    assert totals["sla_on_time"] >= 1 and totals["sla_late"] >= 1
    assert totals["announced_on_time"] >= 1 and totals["announced_late"] >= 1
    assert 1 <= totals["acknowledged"] < totals["written"]
    assert totals["written_within"] >= 1
    assert any(fact["waiting"] for fact in rebuilt_facts.values())
    assert any(fact["priority"] == "urgent" for fact in rebuilt_facts.values())
    assert TicketEvent.objects.filter(kind="status_changed", data__status="pending").exists()


def test_facts_of_the_hand_computed_week(world):
    rebuild("demo")
    t1 = TicketFact.objects.get(ticket=world.tickets["t1"])
    assert (t1.day, t1.hour, t1.first_response_hours, t1.resolution_hours) == (paris(30, 10).date(), 10, 1.0, 4.5)
    assert t1.score_4 == 1 and t1.resolved_once and not t1.reopened
    t2 = TicketFact.objects.get(ticket=world.tickets["t2"])  # Friday 18:00 before Easter Monday
    assert (t2.day, t2.hour, t2.first_response_hours, t2.resolution_hours) == (paris(3, 18).date(), 18, 1.0, 14.0)
    assert t2.reopened and t2.channel == "form"
    t3 = TicketFact.objects.get(ticket=world.tickets["t3"])
    assert t3.transfers == 2 and t3.corrected
    t6 = TicketFact.objects.get(ticket=world.tickets["t6"])
    assert t6.corrected and t6.transfers == 0 and t6.score_2 == 1
    assert not TicketFact.objects.filter(ticket=world.tickets["x1"]).exists()  # another organisation
    day = DailyAggregate.objects.get(
        organisation=world.organisation, day=paris(3, 18).date(), channel="form", service=t2.service_id
    )
    assert (day.tickets, day.h18, day.reopened, day.resolved_once) == (1, 1, 1, 1)


def test_refresh_twice_changes_nothing(world):
    rebuild()
    before = aggregates()
    assert refresh() == 0
    assert aggregates() == before


def test_rebuild_of_an_unknown_organisation_changes_nothing(world):
    rebuild()
    before, before_facts = aggregates(), facts()
    with translation.override("fr"), pytest.raises(RebuildError, match="Organisation inconnue « nulle-part »"):
        rebuild("nulle-part")
    with pytest.raises(CommandError, match="nulle-part"):
        call_command("indicators_rebuild", organisation="nulle-part")
    assert aggregates() == before and facts() == before_facts
    assert set(AggregateBuild.objects.values_list("organisation__slug", flat=True)) == set(
        Organisation.objects.values_list("slug", flat=True)
    )


def test_rebuild_command_reports_rows(world, capsys):
    call_command("indicators_rebuild", organisation="demo")
    out = capsys.readouterr().out
    count = Ticket.objects.filter(organisation__slug="demo").count()
    assert out.startswith(f"{count} ")
    assert "rows/s" in out or "lignes/s" in out
    assert TicketFact.objects.count() == count


@pytest.mark.parametrize(
    "user, params",
    [
        ("mona", {}),
        ("root", {"organisation": "demo"}),
        ("mona", {"canal": "email"}),
        ("mona", {"service": "autonomie"}),
        ("mona", {"sujet": "rsa"}),
        ("alice", {"du": "2026-03-01", "au": "2026-04-30"}),
    ],
)
def test_dashboard_from_aggregates_equals_the_live_computation(world, user, params):
    rebuild()
    refresh()  # what the beat task does between rebuilds: nothing to change here
    user = world.users[user]
    filters = parse_filters({"du": "2026-03-30", "au": "2026-04-05", **params}, user)
    # Read a week later (every deadline over), and on 8 April at noon: the
    # 5 working days of Monday's requests are over, not those of Tuesday's
    # (Easter Monday), some SLA due times are passed and others not.
    for now in (paris(15, 12), paris(8, 12)):
        fast, live = Scope(user, filters, now), Scope(user, filters, now, live=True)
        assert fast.daily is not None and live.daily is None
        for key in INDICATORS:
            assert compute(fast, key).as_dict() == compute(live, key).as_dict(), (key, now)
    if not params:
        assert compute(fast, "volumes").figures[0].value == 6  # T1 to T6 of the hand-computed week


def test_percentiles_in_python_equal_those_of_postgresql(world, monkeypatch):
    """The SQLite demo computes the percentiles in Python: the same numbers."""
    rebuild()
    facts = TicketFact.objects.filter(organisation=world.organisation)
    fields = ["first_response_hours", "resolution_hours"]
    in_sql = clock.percentiles(facts, fields, (0.5, 0.9), group="channel")
    in_sql_overall = clock.percentiles(facts, fields, (0.5, 0.9))
    monkeypatch.setattr(clock, "connection", SimpleNamespace(vendor="sqlite"))
    in_python = clock.percentiles(facts, fields, (0.5, 0.9), group="channel")
    in_python[None] = clock.percentiles(facts, fields, (0.5, 0.9))[None]
    in_sql[None] = in_sql_overall[None]
    assert in_python.keys() == in_sql.keys() and len(in_sql) >= 4
    for channel, values in in_sql.items():
        for field in fields:
            count, points = values[field]
            assert in_python[channel][field][0] == count
            assert in_python[channel][field][1] == pytest.approx(points), (channel, field)
    # No rows at all: counts of zero, no percentile.
    empty = clock.percentiles(facts.none(), fields, (0.5, 0.9))
    assert empty == {None: {field: (0, [None, None]) for field in fields}}


def test_the_day_whose_working_days_are_over(world):
    clock_ = clock.Calendars()[world.organisation.pk]
    first, last = datetime.date(2026, 3, 30), datetime.date(2026, 4, 5)
    # Monday 30 March: Tue 31, Wed 1, Thu 2, Fri 3, Tue 7 (Easter Monday) -> over on Wed 8 at 0:00.
    assert clock_.last_day_over(first, last, 5, paris(7, 23).timestamp()) is None
    assert clock_.last_day_over(first, last, 5, paris(8, 12).timestamp()) == first
    # Friday 3 to Sunday 5 April all end with Monday 13: over on the 14th.
    assert clock_.last_day_over(first, last, 5, paris(14, 0).timestamp()) == last
    assert clock_.last_day_over(first, last, 1, paris(14, 0).timestamp()) == last


def test_dashboard_computes_live_until_the_first_rebuild(world):
    user = world.users["mona"]
    scope = Scope(user, parse_filters({"du": "2026-03-30", "au": "2026-04-05"}, user))
    assert scope.daily is None
    assert compute(scope, "volumes").figures[0].value == 6
