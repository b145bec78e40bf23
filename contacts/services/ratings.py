"""The citizen's rating of the answer they received."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from contacts.models import Ticket, TicketEvent
from contacts.services.events import record_event

RATEABLE = (Ticket.Status.RESOLVED, Ticket.Status.CLOSED)
MAX_COMMENT = 2000


def rating_of(ticket):
    """The ``rated`` event of the ticket, or None."""
    return ticket.events.filter(kind=TicketEvent.Kind.RATED).order_by("created_at").first()


def rate(ticket, score, comment=""):
    """Record the citizen's rating (1 to 5, optional comment), once, when the
    request is resolved. Raises ValidationError saying what is wrong."""
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise ValidationError(_("Choose a rating from 1 to 5."), code="score")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationError(
            _("Your comment is too long: %(max)d characters at most."), params={"max": MAX_COMMENT}, code="comment"
        )
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.status not in RATEABLE:
            raise ValidationError(_("You can rate the answer once your request is resolved."), code="status")
        if rating_of(locked) is not None:
            raise ValidationError(_("You have already rated this answer. Thank you!"), code="already")
        return record_event(locked, TicketEvent.Kind.RATED, score=score, comment=comment)
