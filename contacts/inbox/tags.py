"""The tags an organisation already uses, offered as suggestions (cached:
the ticket page must not scan every ticket of the organisation)."""

from django.core.cache import cache
from django.db import connection
from django.db.models import CharField, F, Func

from contacts.models import Ticket

SUGGESTIONS_MAX = 200
CACHE_SECONDS = 600


def _key(organisation_id):
    return f"inbox-tags:{organisation_id}"


def suggestions(organisation_id):
    """The organisation's tags, sorted (at most SUGGESTIONS_MAX), but those
    of sensitive tickets."""
    found = cache.get(_key(organisation_id))
    if found is None:
        found = _organisation_tags(organisation_id)
        cache.set(_key(organisation_id), found, CACHE_SECONDS)
    return found


def forget(organisation_id):
    """A tag was added: the next page reads them again."""
    cache.delete(_key(organisation_id))


def _organisation_tags(organisation_id):
    # Shared by every agent of the organisation: never the tags of a ticket
    # on a sensitive topic (only its service may read them), nor of a purged one.
    tickets = (
        Ticket.objects.filter(organisation_id=organisation_id, purged_at__isnull=True)
        .exclude(tags=[])
        .exclude(topic__sensitive=True)
    )
    if connection.vendor == "postgresql":
        tags = (
            tickets.annotate(tag=Func(F("tags"), function="jsonb_array_elements_text", output_field=CharField()))
            .values_list("tag", flat=True)
            .distinct()
            .order_by("tag")[:SUGGESTIONS_MAX]
        )
        return list(tags)
    seen = set()  # the embedded default (SQLite): the most recent tickets' tags
    for ticket_tags in tickets.order_by("-created_at").values_list("tags", flat=True)[:5000]:
        seen.update(tag for tag in ticket_tags if isinstance(tag, str))
    return sorted(seen)[:SUGGESTIONS_MAX]
