"""Merging a duplicate request into another request of the same citizen."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import TAGS_MAX, Message, Ticket, TicketEvent
from contacts.services.events import record_event
from contacts.services.tickets import TicketActionError


def merge(source, target, actor):
    """Merge ``source`` into ``target``, in one transaction: the source's
    messages (with their documents) move to the target, the source is closed
    and points at the target (a citizen quoting its reference later writes
    to the target), both record the merge. Its outbox rows stay as they are,
    still delivered. Returns the target."""
    if source.pk == target.pk:
        raise TicketActionError(_("A request cannot be merged into itself."))
    with transaction.atomic():
        source, target = _locked(source, target)
        check_mergeable(source, target)
        now = timezone.now()
        moved = list(Message.objects.filter(ticket=source).order_by("created_at", "pk").values_list("pk", flat=True))
        Message.objects.filter(pk__in=moved).update(ticket=target)
        previous_status = source.status
        source.status = Ticket.Status.CLOSED
        source.closed_at = now
        source.resolved_at = source.resolved_at or now
        source.merged_into = target
        source.save(update_fields=["status", "closed_at", "resolved_at", "merged_into", "updated_at"])
        added_tags = [tag for tag in source.tags if tag not in target.tags][: max(TAGS_MAX - len(target.tags), 0)]
        target.tags = target.tags + added_tags
        target.save(update_fields=["tags", "updated_at"])
        record_event(
            source,
            TicketEvent.Kind.MERGED_INTO,
            actor=actor,
            into=target.reference,
            previous=previous_status,
            messages=len(moved),
        )
        record_event(target, TicketEvent.Kind.MERGED_FROM, actor=actor, source=source.reference, messages=moved)
    return target


def _locked(source, target):
    """Both rows, locked in the order of their ids: two agents merging the
    same pair either way round wait for each other instead of deadlocking."""
    rows = {
        ticket.pk: ticket
        for ticket in Ticket.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk")
    }
    if len(rows) != 2:
        raise TicketActionError(_("One of the two requests no longer exists."))
    return rows[source.pk], rows[target.pk]


def check_mergeable(source, target):
    """Raise TicketActionError, saying why, when ``source`` cannot be merged
    into ``target``."""
    if source.pk == target.pk:
        raise TicketActionError(_("A request cannot be merged into itself."))
    if source.organisation_id != target.organisation_id:
        raise TicketActionError(_("Only requests of the same organisation can be merged."))
    if source.contact_id != target.contact_id:
        raise TicketActionError(
            _("Request %(reference)s is from another citizen: only one citizen's requests can be merged.")
            % {"reference": target.reference}
        )
    if source.merged_into_id is not None:
        raise TicketActionError(
            _("Request %(reference)s has already been merged into another request.") % {"reference": source.reference}
        )
    if source.status == Ticket.Status.CLOSED:
        raise TicketActionError(
            _("Request %(reference)s is closed: it cannot be merged.") % {"reference": source.reference}
        )
    if target.merged_into_id is not None:
        raise TicketActionError(
            _("Request %(reference)s has been merged into another request: merge into that one.")
            % {"reference": target.reference}
        )
    if target.status == Ticket.Status.CLOSED:
        raise TicketActionError(
            _("Request %(reference)s is closed: nothing can be merged into it.") % {"reference": target.reference}
        )
    if _sensitive(source) and not (_sensitive(target) and target.service_id == source.service_id):
        # Its messages would become readable by everyone who may read the target.
        raise TicketActionError(
            _(
                "Request %(reference)s is on a sensitive topic: it can only be merged into a request on a "
                "sensitive topic of the same service."
            )
            % {"reference": source.reference}
        )


def _sensitive(ticket):
    return ticket.topic_id is not None and ticket.topic.sensitive
