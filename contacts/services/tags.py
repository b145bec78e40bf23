"""Free tags agents put on a request (normalised by ``normalise_tag``)."""

from django.db import transaction
from django.utils.translation import gettext as _

from contacts.models import TAGS_MAX, Ticket, TicketEvent, normalise_tag
from contacts.services.events import record_event
from contacts.services.tickets import TicketActionError


@transaction.atomic
def add_tag(ticket, actor, value):
    """Put a tag on the ticket; returns the tag as stored."""
    tag = normalise_tag(value)
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if tag in ticket.tags:
        raise TicketActionError(_("The request already has the tag “%(tag)s”.") % {"tag": tag})
    if len(ticket.tags) >= TAGS_MAX:
        raise TicketActionError(_("A request has at most %(limit)d tags: remove one first.") % {"limit": TAGS_MAX})
    ticket.tags = [*ticket.tags, tag]
    ticket.save(update_fields=["tags", "updated_at"])
    record_event(ticket, TicketEvent.Kind.TAGS_CHANGED, actor=actor, added=tag)
    return tag


@transaction.atomic
def remove_tag(ticket, actor, value):
    """Take a tag off the ticket (as given, or as it would be stored)."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    value = str(value or "").strip()
    tag = value if value in ticket.tags else normalise_tag(value)
    if tag not in ticket.tags:
        raise TicketActionError(_("The request has no tag “%(tag)s”.") % {"tag": tag})
    ticket.tags = [existing for existing in ticket.tags if existing != tag]
    ticket.save(update_fields=["tags", "updated_at"])
    record_event(ticket, TicketEvent.Kind.TAGS_CHANGED, actor=actor, removed=tag)
    return tag
