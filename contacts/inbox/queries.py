"""What the inbox lists: its views, filters, search, counts and keyset
pagination. Every queryset starts from ``Ticket.objects.visible_to(user)``."""

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Count, Exists, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from contacts.models import Message, Ticket, normalise_email, normalise_phone

# The PostgreSQL text search configuration made by migration 0006: French
# stemming over unaccented words ("épinglé" and "epingle" meet).
SEARCH_CONFIG = "aiguillage_fr"
PAGE_SIZE = 50

ACTIVE = [Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING]
DONE = [Ticket.Status.RESOLVED, Ticket.Status.CLOSED]
NEWEST_FIRST = ("created_at", True)
DUE_FIRST = ("due_at", False)


@dataclass(frozen=True)
class InboxView:
    slug: str
    label: str
    order: tuple  # (field, descending); the primary key breaks ties the same way

    def condition(self, user, services, now):
        return VIEW_CONDITIONS[self.slug](user, services, now)


def due_soon_window():
    """A ticket's answer is "due soon" (the at-risk view) when it is due
    within this time, or overdue (setting ``INBOX_DUE_SOON_HOURS``)."""
    return timedelta(hours=settings.INBOX_DUE_SOON_HOURS)


VIEW_CONDITIONS = {
    "mine": lambda user, services, now: Q(assignee=user, status__in=ACTIVE),
    "unassigned": lambda user, services, now: Q(
        service__in=services, assignee__isnull=True, status__in=[Ticket.Status.NEW, Ticket.Status.OPEN]
    ),
    "urgent": lambda user, services, now: Q(priority=Ticket.Priority.URGENT, status__in=ACTIVE),
    "at-risk": lambda user, services, now: Q(
        status__in=[Ticket.Status.NEW, Ticket.Status.OPEN],
        first_response_at__isnull=True,
        due_at__isnull=False,
        due_at__lte=now + due_soon_window(),
    ),
    "waiting": lambda user, services, now: Q(status=Ticket.Status.PENDING),
    "all": lambda user, services, now: Q(),
    "closed": lambda user, services, now: Q(status__in=DONE),
}

VIEWS = {
    view.slug: view
    for view in [
        InboxView("mine", pgettext_lazy("inbox view", "Mine"), NEWEST_FIRST),
        InboxView("unassigned", pgettext_lazy("inbox view", "My services, unassigned"), NEWEST_FIRST),
        InboxView("urgent", pgettext_lazy("inbox view", "Urgent"), NEWEST_FIRST),
        InboxView("at-risk", pgettext_lazy("inbox view", "Answer due soon"), DUE_FIRST),
        InboxView("waiting", pgettext_lazy("inbox view", "Waiting for the citizen"), NEWEST_FIRST),
        InboxView("all", pgettext_lazy("inbox view", "All visible"), NEWEST_FIRST),
        InboxView("closed", pgettext_lazy("inbox view", "Closed"), NEWEST_FIRST),
    ]
}
DEFAULT_VIEW = "mine"


class InvalidCursor(ValueError):
    """A page cursor that this server did not make."""


def scoped(user, profile):
    """The tickets this agent may reach (the one door), with their services."""
    return Ticket.objects.visible_to(user), profile.services.values("pk")


# The views counted: those of the work at hand. "All" and "closed" hold the
# whole history (a million tickets in a few years): they are not counted.
COUNTED = ("mine", "unassigned", "urgent", "at-risk", "waiting")


def view_counts(user, profile, now=None):
    """How many tickets each view of the work at hand holds (None for the
    history's views), in one query over the tickets still being handled."""
    now = now or timezone.now()
    tickets, services = scoped(user, profile)
    aggregates = {
        slug.replace("-", "_"): Count("pk", filter=VIEWS[slug].condition(user, services, now)) for slug in COUNTED
    }
    counts = tickets.filter(status__in=ACTIVE).aggregate(**aggregates)
    return {slug: counts[slug.replace("-", "_")] if slug in COUNTED else None for slug in VIEWS}


TOKEN = re.compile(r'-?"[^"]*"|\S+')
REFERENCE = re.compile(r"[A-Z0-9]{1,12}-\d{4}-\d{6}")
PHONE = re.compile(r"\+?[\d .-]{6,20}")
# Up to this many tickets matching the words, they are taken from the index.
SEARCH_FEW = 2000


def _tokens(text):
    """Words and quoted phrases, each with whether it is excluded (-word)."""
    for token in TOKEN.findall(text):
        excluded = token.startswith("-") and len(token) > 1
        token = token[1:] if excluded else token
        if token.strip('"'):
            yield token, excluded


def search(tickets, text):
    """Tickets whose reference, contact email or phone is ``text``, or whose
    subject, contact name and messages hold its words: each word (or
    "quoted phrase") found, no -word. On PostgreSQL the ticket's search
    document (migration 0012: French stems, accents ignored, one GIN index);
    words contained on other databases."""
    text = " ".join((text or "").split())[:200]
    if not text:
        return tickets
    if connection.vendor != "postgresql":
        exact = Q(reference__iexact=text) | Q(contact__email__iexact=text) | Q(contact__phone=text.replace(" ", ""))
        condition = Q()
        for token, excluded in list(_tokens(text))[:12]:
            match = _contains_match(token)
            condition &= ~match if excluded else match
        return tickets.filter(exact | condition)
    # Words found in few tickets are listed from the index; words found in
    # many are left as a condition, which the date order meets at once.
    found = list(matching_words(tickets, text).values_list("pk", flat=True)[: SEARCH_FEW + 1])
    words = Q(pk__in=found) if len(found) <= SEARCH_FEW else Q(_words_condition(text))
    exact = _exact(text)
    return tickets.filter(words if exact is None else words | exact)


_WORDS = (
    "EXISTS (SELECT 1 FROM contacts_ticket_search s WHERE s.ticket_id = {ticket}.id"
    " AND s.document @@ websearch_to_tsquery(%s::regconfig, %s))"
)


def _words_condition(text):
    """Whether the ticket's search document (contacts_ticket_search, made by
    migration 0012) holds the words: looked up per ticket, which the date
    order meets at once when the words are frequent."""
    return RawSQL(  # noqa: S611 (the text is a bound parameter)
        _WORDS.format(ticket=Ticket._meta.db_table), [SEARCH_CONFIG, text], output_field=BooleanField()
    )


def matching_words(tickets, text):
    """The tickets whose search document holds ``text``'s words (PostgreSQL),
    taken from the documents' GIN index, in no order."""
    documents = RawSQL(  # noqa: S611 (the text is a bound parameter)
        "SELECT s.ticket_id FROM contacts_ticket_search s WHERE s.document @@ websearch_to_tsquery(%s::regconfig, %s)",
        [SEARCH_CONFIG, text],
    )
    return tickets.filter(pk__in=documents).order_by()


def _exact(text):
    """The reference, email or phone number ``text`` is, as an indexed
    condition (stored forms: references upper-case, emails lower-case,
    phones E.164), or None when it is none of them."""
    if REFERENCE.fullmatch(text.upper()):
        return Q(reference=text.upper())
    if "@" in text:
        return Q(contact__email=normalise_email(text))
    if PHONE.fullmatch(text):
        try:
            return Q(contact__phone=normalise_phone(text))
        except ValueError:
            return None
    return None


def _contains_match(token):
    word = token.strip('"')
    return (
        Q(reference__icontains=word)
        | Q(subject__icontains=word)
        | Q(contact__name__icontains=word)
        | Q(contact__email__icontains=word)
        | Exists(Message.objects.filter(ticket=OuterRef("pk"), body_text__icontains=word))
    )


def apply_filters(tickets, data, user):
    """The filter form's cleaned data as conditions."""
    simple = {"channel": "channel", "topic": "topic", "service": "service", "status": "status", "priority": "priority"}
    for key, field in simple.items():
        if data.get(key):
            tickets = tickets.filter(**{field: data[key]})
    assignee = data.get("assignee")
    if assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    elif assignee == "me":
        tickets = tickets.filter(assignee=user)
    elif assignee:
        tickets = tickets.filter(assignee_id=int(assignee))
    if data.get("tag"):
        if connection.vendor == "postgresql":
            tickets = tickets.filter(tags__contains=[data["tag"]])
        else:
            tickets = tickets.filter(tags__icontains=json.dumps(data["tag"]))
    if data.get("created_from"):
        tickets = tickets.filter(created_at__date__gte=data["created_from"])
    if data.get("created_to"):
        tickets = tickets.filter(created_at__date__lte=data["created_to"])
    if data.get("q"):
        tickets = search(tickets, data["q"])
    return tickets


def encode_cursor(ticket, field):
    value = getattr(ticket, field)
    raw = json.dumps([value.isoformat() if value else None, ticket.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        return datetime.fromisoformat(value), int(pk)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidCursor(cursor) from exc


def page(tickets, view, cursor=None, size=None):
    """One page of ``tickets`` in the view's order after ``cursor`` (keyset
    pagination: no OFFSET, as fast on page 1,000 as on page 1), and the
    cursor of the next page or None."""
    size = size or PAGE_SIZE
    field, descending = view.order
    if cursor:
        value, pk = decode_cursor(cursor)
        if descending:
            tickets = tickets.filter(Q(**{f"{field}__lt": value}) | Q(**{field: value, "pk__lt": pk}))
        else:
            tickets = tickets.filter(Q(**{f"{field}__gt": value}) | Q(**{field: value, "pk__gt": pk}))
    prefix = "-" if descending else ""
    rows = list(
        tickets.select_related("contact", "service", "topic", "assignee").order_by(f"{prefix}{field}", f"{prefix}pk")[
            : size + 1
        ]
    )
    next_cursor = encode_cursor(rows[size - 1], field) if len(rows) > size else None
    return rows[:size], next_cursor
