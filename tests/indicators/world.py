"""A week of requests with hand-computed timings (Europe/Paris, default
opening hours Mon-Fri 9:00-12:00 and 13:30-17:00, French public holidays):
the week of Monday 30 March 2026, Easter Monday 6 April being a holiday.

T1 email, Mon 30/03 10:00; answered 11:00 (1 h); waits for the citizen from
   Mon 11:00 to Wed 01/04 10:00 (12 opening hours); resolved Wed 15:00
   (16.5 h - 12 h = 4.5 h); rated 4.
T2 form, Fri 03/04 18:00 (closed; Easter Monday next); answered Tue 07/04
   10:00 (1 h); resolved Tue 11:00, reopened, resolved again Thu 09/04 10:00
   (14 h).
T3 email, Tue 31/03 9:30; transferred twice (accueil, insertion,
   autonomie); answered Thu 02/04 9:30 (13 h), after its due time (Wed 17:00).
T4 letter, Wed 01/04 14:00, contact anonymised since; never answered.
T5 chat, urgent, Thu 02/04 20:00; answered 20:30 (30 min; 0 opening hours);
   resolved Fri 03/04 10:00 (1 h).
T6 email, Mon 30/03 14:00, topic corrected by an agent; answered Tue 31/03
   16:00 (8.5 h), after its due time (Tue 14:00) but on the announced day;
   resolved 16:30 (9 h); rated 2; acknowledged two hours late.
P1 email, the week before (Tue 24/03 10:00), answered 12:00 (2 h).
X1 another organisation's request in the same week: never counted.
"""

import datetime
import zoneinfo
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model

from channels_app.models import Orientation
from contacts.models import AgentProfile, Contact, Outbox, Ticket, TicketEvent
from contacts.services import ingest
from contacts.services.ratings import rate
from contacts.services.tickets import change_status, change_topic, reply, transfer
from kb.importer import import_files
from kb.models import Organisation, Service, Topic
from tests.inbox.world import DEMO_KB, PASSWORD, inbound, make_agent

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def paris(day, hour, minute=0, month=None):
    month = month or (3 if day >= 20 else 4)
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=PARIS)


@dataclass
class IndicatorWorld:
    organisation: Organisation
    other: Organisation
    users: dict = field(default_factory=dict)
    tickets: dict = field(default_factory=dict)


def _set_event_time(ticket, kind, when, **data):
    """Move the last event of this kind (and data) to ``when``."""
    event = TicketEvent.objects.filter(ticket=ticket, kind=kind, **data).order_by("-pk").first()
    TicketEvent.objects.filter(pk=event.pk).update(created_at=when)


def _act(ticket, when, action, *args, kind, fields=(), **data):
    """Do ``action`` now, then date it ``when``: its event and the ticket's
    timestamps it set."""
    result = action(ticket, *args)
    _set_event_time(ticket, kind, when, **data)
    if fields:
        Ticket.objects.filter(pk=ticket.pk).update(**dict.fromkeys(fields, when))
    return result


def _reply(ticket, agent, when):
    _act(ticket, when, reply, agent, "Voici notre réponse.", kind=TicketEvent.Kind.REPLIED)
    if Ticket.objects.get(pk=ticket.pk).first_response_at is not None:
        first = TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.REPLIED).order_by("created_at").first()
        Ticket.objects.filter(pk=ticket.pk).update(first_response_at=first.created_at)


def _status(ticket, status, when, agent=None):
    fields = ["resolved_at"] if status == Ticket.Status.RESOLVED else []
    _act(
        ticket,
        when,
        lambda t, s: change_status(t, s, agent),
        status,
        kind=TicketEvent.Kind.STATUS_CHANGED,
        fields=fields,
        data__status=status,
    )


def _create(n, when, organisation="demo", topic="rsa", service="insertion", due=None, **values):
    ticket = ingest(inbound(n, organisation=organisation, received_at=when, **values)).ticket
    org = Organisation.objects.get(slug=organisation)
    Ticket.objects.filter(pk=ticket.pk).update(
        topic=Topic.objects.get(organisation=org, slug=topic) if topic else None,
        service=Service.objects.get(organisation=org, slug=service),
        priority=Ticket.Priority.NORMAL,
        status=Ticket.Status.NEW,
        first_response_at=None,
        assignee=None,
        due_at=due,
    )
    # The acknowledgement left as the request arrived.
    Outbox.objects.filter(ticket=ticket, idempotency_key=f"ack:{ticket.pk}").update(
        created_at=when + datetime.timedelta(minutes=1)
    )
    return Ticket.objects.get(pk=ticket.pk)


def build_indicator_world():
    import_files([DEMO_KB])
    organisation = Organisation.objects.get(slug="demo")
    other = Organisation.objects.create(slug="autre", name="Commune voisine", kind="commune")
    Service.objects.create(organisation=other, slug="mairie", name="Mairie", is_triage=True)
    w = IndicatorWorld(organisation, other)
    w.users = {
        "mona": make_agent("mona", organisation, role=AgentProfile.Role.MANAGER, first_name="Mona"),
        "alice": make_agent("alice", organisation, ["insertion", "accueil", "autonomie"], first_name="Alice"),
        "olga": make_agent("olga", other, ["mairie"], role=AgentProfile.Role.MANAGER, first_name="Olga"),
        "root": get_user_model().objects.create_superuser("root", "root@example.org", PASSWORD),
    }
    alice = w.users["alice"]
    services = {s.slug: s for s in Service.objects.filter(organisation=organisation)}

    t1 = _create(1, paris(30, 10), subject="RSA", text="Question sur mon RSA.", due=paris(31, 10))
    _reply(t1, alice, paris(30, 11))
    _status(t1, Ticket.Status.PENDING, paris(30, 11), alice)
    _status(t1, Ticket.Status.OPEN, paris(1, 10), alice)
    _status(t1, Ticket.Status.RESOLVED, paris(1, 15), alice)
    rate(t1, 4, "Bien.")

    t2 = _create(
        2, paris(3, 18), channel="form", external_id="form-2", topic="apa", service="autonomie", due=paris(8, 12)
    )
    _reply(t2, alice, paris(7, 10))
    _status(t2, Ticket.Status.RESOLVED, paris(7, 11), alice)
    _status(t2, Ticket.Status.OPEN, paris(8, 9), alice)
    _status(t2, Ticket.Status.RESOLVED, paris(9, 10), alice)

    t3 = _create(3, paris(31, 9, 30), service="accueil", due=paris(1, 17))
    _act(t3, paris(31, 10), transfer, alice, services["insertion"], "Dossier RSA", kind=TicketEvent.Kind.TRANSFERRED)
    _act(t3, paris(1, 9), transfer, alice, services["autonomie"], "Personne âgée", kind=TicketEvent.Kind.TRANSFERRED)
    _reply(t3, alice, paris(2, 9, 30))

    t4 = _create(4, paris(1, 14), channel="letter", external_id="letter-4", topic="horaires", due=paris(2, 14))
    Contact.objects.filter(pk=t4.contact_id).update(name="", email="", phone="", postcode="")

    t5 = _create(5, paris(2, 20), channel="chat", external_id="chat-5", topic="route-obstacle", service="routes")
    Ticket.objects.filter(pk=t5.pk).update(priority=Ticket.Priority.URGENT, due_at=paris(3, 13))
    _reply(t5, alice, paris(2, 20, 30))
    _status(t5, Ticket.Status.RESOLVED, paris(3, 10), alice)

    t6 = _create(6, paris(30, 14), topic="apa", service="autonomie", due=paris(31, 14))
    Outbox.objects.filter(ticket=t6, idempotency_key=f"ack:{t6.pk}").update(created_at=paris(30, 16))
    _act(
        t6,
        paris(30, 15),
        change_topic,
        alice,
        Topic.objects.get(organisation=organisation, slug="rsa"),
        kind=TicketEvent.Kind.CORRECTED,
    )
    _reply(t6, alice, paris(31, 16))
    _status(t6, Ticket.Status.RESOLVED, paris(31, 16, 30), alice)
    rate(t6, 2)

    p1 = _create(7, paris(24, 10), due=paris(26, 10))
    _reply(p1, alice, paris(24, 12))
    _status(p1, Ticket.Status.RESOLVED, paris(24, 12), alice)

    x1 = _create(8, paris(31, 10), organisation="autre", topic=None, service="mairie")
    olga = w.users["olga"]
    _act(x1, paris(31, 11), lambda t: transfer(t, olga, services["insertion"], "x"), kind="transferred")

    for name, ticket in {"t1": t1, "t2": t2, "t3": t3, "t4": t4, "t5": t5, "t6": t6, "p1": p1, "x1": x1}.items():
        w.tickets[name] = Ticket.objects.get(pk=ticket.pk)

    topic = Topic.objects.get(organisation=organisation, slug="apa")
    Orientation.objects.create(organisation=organisation, topic=topic, channel="form", created_at=paris(30, 9))
    Orientation.objects.create(organisation=organisation, topic=topic, channel="chat", created_at=paris(1, 9))
    Orientation.objects.create(
        organisation=organisation, topic=topic, channel="form", ticket=t2, created_at=paris(3, 17, 50)
    )
    other_topic = Topic.objects.create(organisation=other, slug="dechets", title="Déchets")
    Orientation.objects.create(organisation=other, topic=other_topic, channel="form", created_at=paris(1, 9))
    return w
