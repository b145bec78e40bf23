"""The audit log of sensitive requests: every opening of a ticket whose
topic is sensitive, and of its documents, by whom and when."""

from contacts.models import AccessLog


def is_sensitive(ticket):
    return bool(ticket.topic_id and ticket.topic.sensitive)


def record_access(user, ticket, attachment=None, what=""):
    """Record that ``user`` opened the ticket (or one of its documents) when
    its topic is sensitive; other tickets are not logged."""
    if not is_sensitive(ticket):
        return None
    return AccessLog.objects.create(
        user=user,
        ticket=ticket,
        attachment=attachment,
        what=(what or (attachment.filename if attachment else ""))[:200],
    )
