"""Every indicator on the hand-computed week of tests/indicators/world.py."""

import datetime

import pytest

from contacts.indicators.clock import Calendars, pauses, percentile, working_days_deadline
from contacts.indicators.compute import Scope, compute, response_hours, unanswered_ids
from contacts.indicators.drilldown import tickets_behind
from contacts.indicators.filters import parse_filters
from contacts.models import Outbox, Ticket
from tests.indicators.world import PARIS, paris

WEEK = {"du": "2026-03-30", "au": "2026-04-05"}


def scope_for(world, user="mona", **params):
    user = world.users[user]
    return Scope(user, parse_filters({**WEEK, **params}, user))


def figures(scope, key):
    indicator = compute(scope, key)
    return {f.key: f.value for f in indicator.figures}, {f.key: f.previous for f in indicator.figures}, indicator


def names(world, queryset):
    by_pk = {t.pk: name for name, t in world.tickets.items()}
    return sorted(by_pk[pk] for pk in queryset.values_list("pk", flat=True))


def test_hours_per_ticket_pause_holiday_and_reopening(world):
    hours = response_hours(scope_for(world))
    by_name = {name: hours[t.pk][:2] for name, t in world.tickets.items() if t.pk in hours}
    assert by_name == {
        "t1": (1.0, 4.5),  # 16.5 opening hours, 12 of them waiting for the citizen
        "t2": (1.0, 14.0),  # Friday evening, Easter Monday: 1 h on Tuesday; resolved again on Thursday
        "t3": (13.0, None),
        "t4": (None, None),
        "t5": (0.0, 1.0),  # answered at night: no opening hour elapsed
        "t6": (8.5, 9.0),
    }


def test_pauses_are_read_from_status_events(world):
    t1 = world.tickets["t1"]
    assert pauses([t1.pk]) == {t1.pk: [(paris(30, 11).timestamp(), paris(1, 10).timestamp())]}


def test_volumes_and_peaks(world):
    values, previous, indicator = figures(scope_for(world), "volumes")
    assert values == {"total": 6, "peak_day": "lundi 30 mars", "peak_day_count": 2, "peak_hour": "14 h"}
    assert previous["total"] == 1
    assert indicator.table("channel").rows == [
        ["Courriel", 3],
        ["Messagerie instantanée", 1],
        ["Formulaire de contact", 1],
        ["Courrier", 1],
    ]
    assert [row[1] for row in indicator.table("day").rows] == [2, 1, 1, 1, 1, 0, 0]
    hours = dict(indicator.table("hour").rows)
    assert {hour: n for hour, n in hours.items() if n} == {"9 h": 1, "10 h": 1, "14 h": 2, "18 h": 1, "20 h": 1}
    services = {row[0]: row[1] for row in indicator.table("service").rows}
    assert services == {
        "Direction de l'autonomie": 3,
        "Direction de l'insertion et de l'emploi": 2,
        "Direction des routes": 1,
    }


def test_response_and_resolution_times(world):
    values, previous, _indicator = figures(scope_for(world), "times")
    # First answers 0, 1, 1, 8.5, 13; resolutions 1, 4.5, 9, 14 (opening hours).
    assert values == {
        "answered": 5,
        "first_median": 1.0,
        "first_p90": 11.2,
        "resolved": 4,
        "resolution_median": 6.8,
        "resolution_p90": 12.5,
    }
    assert previous["first_median"] == 2.0


def test_percentile_interpolates_like_percentile_cont():
    assert percentile([], 0.5) is None
    assert percentile([3], 0.9) == 3
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile([0, 1, 1, 8.5, 13], 0.9) == pytest.approx(11.2)


def test_sla_and_services_publics(world):
    values, previous, indicator = figures(scope_for(world), "sla")
    # On time: t1, t2, t5; late: t3 (answered late), t4 (overdue), t6 (2 h late).
    assert values == {"compliance": 50.0, "on_time": 3, "late": 3}
    assert previous == {"compliance": 100.0, "on_time": 1, "late": 0}
    assert indicator.table("priority").rows == [["Normale", 2, 3, 40.0], ["Urgente", 1, 0, 100.0]]
    values, _previous, _indicator = figures(scope_for(world), "services_publics")
    # t6 was answered on the day announced: kept by Services Publics+.
    assert values == {"compliance": 66.7, "on_time": 4, "late": 2}
    scope = scope_for(world)
    assert names(world, tickets_behind(scope, "sla_late", {})[1]) == ["t3", "t4", "t6"]
    assert names(world, tickets_behind(scope, "announced_late", {})[1]) == ["t3", "t4"]


def test_marianne(world):
    values, _previous, _indicator = figures(scope_for(world), "marianne")
    # Written: t1, t2, t3, t6 (email, form) and t4 (letter); t6 acknowledged two
    # hours late; t4 never answered (its 5 working days ended on 9 April).
    assert values == {"written": 5, "acknowledged": 80.0, "not_acknowledged": 1, "within": 80.0, "late": 1}
    scope = scope_for(world)
    assert names(world, tickets_behind(scope, "not_acknowledged", {})[1]) == ["t6"]
    assert names(world, tickets_behind(scope, "marianne_late", {})[1]) == ["t4"]


def test_working_days_skip_weekend_and_easter_monday(world):
    calendar = Calendars()[world.organisation.pk]
    # Received Friday 3 April: Tue 7, Wed 8, Thu 9, Fri 10, Mon 13.
    assert working_days_deadline(paris(3, 18), 5, calendar) == datetime.datetime(2026, 4, 14, tzinfo=PARIS).timestamp()
    assert working_days_deadline(paris(3, 18), 1, calendar) == datetime.datetime(2026, 4, 8, tzinfo=PARIS).timestamp()


def test_backlog_now(world):
    values, previous, indicator = figures(scope_for(world), "backlog")
    assert values["open"] == 2 and values["waiting"] == 0
    assert previous == {"open": None, "waiting": None, "oldest_days": None}  # a state, not compared
    assert indicator.table("age").rows[-1][1] == 2
    assert names(world, tickets_behind(scope_for(world), "backlog", {"statut": "new"})[1]) == ["t4"]


def test_unanswered_after_working_days(world):
    values, _previous, _indicator = figures(scope_for(world), "unanswered")
    assert values == {"unanswered": 1, "share": 16.7}
    # On 8 April at noon, t4 (Wed 1 April) is not yet 5 working days old; on 10 April it is.
    early = scope_for(world)
    early.now = paris(8, 12)
    assert unanswered_ids(early) == []
    early.now = paris(10, 0)
    assert unanswered_ids(early) == [world.tickets["t4"].pk]


def test_transfers_routing_reopening(world):
    values, _previous, indicator = figures(scope_for(world), "transfers")
    assert values == {"once": 16.7, "twice": 16.7, "transferred": 1}
    assert indicator.table("pairs").rows == [
        ["Accueil général", "Direction de l'insertion et de l'emploi", 1],
        ["Direction de l'insertion et de l'emploi", "Direction de l'autonomie", 1],
    ]
    values, _previous, indicator = figures(scope_for(world), "routing")
    assert values == {"accuracy": 66.7, "corrected": 2}  # t3 (service) and t6 (topic)
    assert indicator.table("topics").rows == [["apa", "rsa", 1]]
    values, _previous, _indicator = figures(scope_for(world), "reopening")
    assert values == {"rate": 25.0, "reopened": 1, "resolved": 4}
    scope = scope_for(world)
    assert names(world, tickets_behind(scope, "transferred_twice", {})[1]) == ["t3"]
    assert names(world, tickets_behind(scope, "corrected", {})[1]) == ["t3", "t6"]
    assert names(world, tickets_behind(scope, "reopened", {})[1]) == ["t2"]


def test_satisfaction(world):
    values, _previous, indicator = figures(scope_for(world), "satisfaction")
    assert values == {"average": 3.0, "rated": 2, "response_rate": 50.0}
    assert [row[1] for row in indicator.table("distribution").rows] == [0, 1, 0, 1, 0]
    assert names(world, tickets_behind(scope_for(world), "rated", {"note": "2"})[1]) == ["t6"]


def test_orientation_without_a_ticket(world):
    values, _previous, _indicator = figures(scope_for(world), "orientation")
    assert values == {"shown": 3, "without": 2, "share": 66.7}  # the other organisation's is not counted
    values, _previous, _indicator = figures(scope_for(world, canal="chat"), "orientation")
    assert values == {"shown": 1, "without": 1, "share": 100.0}


def test_urgent(world):
    values, previous, _indicator = figures(scope_for(world), "urgent")
    assert values == {"urgent": 1, "median": 30.0, "p90": 30.0, "waiting": 0}
    assert previous["urgent"] == 0


def test_sms_and_emails(world):
    t5 = world.tickets["t5"]
    Outbox.objects.filter(ticket__in=[t.pk for t in world.tickets.values()]).delete()
    sms = {"text": "x", "segments": 2, "cost_eur": 0.09}
    Outbox.objects.create(
        channel="sms",
        recipient="+33600000001",
        payload=sms,
        idempotency_key="s1",
        ticket=t5,
        status="sent",
        delivery_status="delivered",
        created_at=paris(2, 20, 31),
    )
    Outbox.objects.create(
        channel="sms",
        recipient="+33600000001",
        payload={**sms, "segments": 1, "cost_eur": 0.045},
        idempotency_key="s2",
        ticket=t5,
        status="sent",
        created_at=paris(2, 21),
    )
    Outbox.objects.create(
        channel="sms",
        recipient="+33600000001",
        payload=sms,
        idempotency_key="s3",
        ticket=t5,
        status="failed",
        created_at=paris(2, 22),
    )
    Outbox.objects.create(
        channel="email",
        recipient="a@example.org",
        payload={},
        idempotency_key="e1",
        ticket=t5,
        status="sent",
        delivery_status="delivered",
        created_at=paris(2, 21),
    )
    Outbox.objects.create(
        channel="email",
        recipient="a@example.org",
        payload={},
        idempotency_key="e2",
        ticket=t5,
        status="sent",
        delivery_status="bounced",
        created_at=paris(2, 21),
    )
    Outbox.objects.create(  # another organisation's: never counted
        channel="sms",
        recipient="+33600000002",
        payload=sms,
        idempotency_key="x1",
        ticket=world.tickets["x1"],
        status="sent",
        created_at=paris(2, 21),
    )
    values, _previous, indicator = figures(scope_for(world), "messages")
    assert values == {
        "sms_sent": 2,
        "sms_delivered": 1,
        "sms_failed": 1,
        "sms_cost": 0.14,
        "email_sent": 2,
        "email_delivered": 1,
        "email_failed": 1,
    }
    assert indicator.table("channel").rows[0] == ["SMS", 0, 2, 1, 1, 3, 0.14]


def test_filters_service_channel_topic(world):
    values, _p, _i = figures(scope_for(world, service="autonomie"), "volumes")
    assert values["total"] == 3  # t2, t3 (transferred there), t6
    values, _p, _i = figures(scope_for(world, canal="email"), "volumes")
    assert values["total"] == 3
    values, _p, _i = figures(scope_for(world, sujet="rsa"), "volumes")
    assert values["total"] == 3  # t1, t3, t6 (corrected to rsa)
    values, _p, _i = figures(scope_for(world, du="2026-04-03", au="2026-04-03"), "volumes")
    assert values["total"] == 1


def test_another_organisation_is_never_counted(world):
    values, _p, _i = figures(scope_for(world, user="olga"), "volumes")
    assert values["total"] == 1
    scope = scope_for(world, user="olga")
    assert names(world, tickets_behind(scope, "created", {})[1]) == ["x1"]
    assert names(world, tickets_behind(scope, "transferred", {})[1]) == ["x1"]
    values, _p, _i = figures(scope_for(world, user="olga"), "orientation")
    assert values["shown"] == 1
    # The superuser sees both, or one organisation when asked.
    assert figures(scope_for(world, user="root"), "volumes")[0]["total"] == 7
    assert figures(scope_for(world, user="root", organisation="autre"), "volumes")[0]["total"] == 1


def test_sensitive_tickets_stay_out_of_a_managers_figures(world):
    from kb.models import Topic

    Topic.objects.filter(organisation=world.organisation, slug="apa").update(sensitive=True)
    values, _p, _i = figures(scope_for(world), "volumes")
    assert values["total"] == 5  # t2 (APA) is sensitive and mona has no service


def test_anonymised_contact_still_counted(world):
    t4 = Ticket.objects.select_related("contact").get(pk=world.tickets["t4"].pk)
    assert t4.contact.email == "" and t4.contact.name == ""
    assert names(world, tickets_behind(scope_for(world), "unanswered", {})[1]) == ["t4"]


def test_clock_counts_like_business_hours_between(world):
    import random

    from routing.sla import business_hours_between

    clock = Calendars()[world.organisation.pk]
    rng = random.Random(3)
    base = datetime.datetime(2026, 3, 20, tzinfo=PARIS)  # across the change to summer time and Easter
    for _ in range(300):
        start = base + datetime.timedelta(minutes=rng.randrange(0, 40 * 24 * 60))
        end = start + datetime.timedelta(minutes=rng.randrange(-600, 20 * 24 * 60))
        expected = business_hours_between(start, end, world.organisation)
        assert clock.hours_between(start, end) == pytest.approx(expected, abs=1e-9), (start, end)
