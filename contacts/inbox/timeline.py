"""The ticket page's timeline: messages in and out, internal notes and the
events that messages do not already tell, in the order they happened."""

from dataclasses import dataclass, field
from datetime import datetime

import nh3
from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contacts.inbox.mentions import note_html
from contacts.models import Attachment, Message, Ticket, TicketEvent

# Events the timeline shows through the message they are about.
SHOWN_AS_MESSAGES = {
    TicketEvent.Kind.CREATED,
    TicketEvent.Kind.MESSAGE_RECEIVED,
    TicketEvent.Kind.REPLIED,
    TicketEvent.Kind.NOTE_ADDED,
}


SAFE_TAGS = set(nh3.ALLOWED_TAGS) - {"img"}


@dataclass
class Entry:
    at: datetime
    pk: int
    message: Message | None = None
    event: TicketEvent | None = None
    details: list = field(default_factory=list)

    @property
    def sort_key(self):
        return (self.at, 0 if self.message else 1, self.pk)


def safe_html(html):
    """Message HTML is sanitised when stored; clean it again on the way out
    (defence in depth): no script, no style, no remote resource."""
    return nh3.clean(html or "", tags=SAFE_TAGS, link_rel="noopener noreferrer nofollow")


def _status_label(value):
    try:
        return Ticket.Status(value).label
    except ValueError:
        return value or ""


def _priority_label(value):
    try:
        return Ticket.Priority(value).label
    except ValueError:
        return value or ""


class Names:
    """Readable names for the ids and slugs events store (agents, topics,
    services), looked up in at most three queries."""

    def __init__(self, ticket, events, user=None):
        from kb.models import Service, Topic

        assignees = {e.data.get("assignee") for e in events if e.kind == TicketEvent.Kind.ASSIGNED} - {None}
        self.users = (
            {
                user.pk: user.get_full_name() or user.username
                for user in get_user_model().objects.filter(pk__in=assignees)
            }
            if assignees
            else {}
        )
        slugs = set()
        for event in events:
            slugs.update(event.data.get(key) for key in ("topic", "from_topic", "to_topic"))
        slugs.discard(None)
        self.topics = (
            dict(
                Topic.objects.filter(organisation_id=ticket.organisation_id, slug__in=slugs).values_list(
                    "slug", "title"
                )
            )
            if slugs
            else {}
        )
        services = set()
        for event in events:
            services.update(event.data.get(key) for key in ("service", "from_service", "to_service"))
        services.discard(None)
        self.services = {}
        if services:
            for found in Service.objects.select_related("organisation").filter(
                slug__in={name.split("/", 1)[-1] for name in services}
            ):
                self.services[str(found)] = found.name
        # The other requests merge events name, for who may open them only:
        # a duplicate merged into a sensitive request must not tell an agent
        # of another service that the citizen has one.
        references = set()
        for event in events:
            if event.kind in (TicketEvent.Kind.MERGED_INTO, TicketEvent.Kind.MERGED_FROM):
                references.update((event.data.get("into"), event.data.get("source")))
        references.discard(None)
        self.visible_references = (
            set(Ticket.objects.visible_to(user).filter(reference__in=references).values_list("reference", flat=True))
            if references and user is not None
            else set()
        )

    def reference(self, reference):
        """The reference if the reader may open that request, else ""."""
        return reference if reference in self.visible_references else ""

    def topic(self, slug):
        return self.topics.get(slug, slug) if slug else ""

    def service(self, name):
        return self.services.get(name, name) if name else ""


def describe(event, names):
    """What an event says beyond its kind, as short French lines."""
    data = event.data or {}
    kind = event.kind
    topic = names.topic
    service = names.service
    if kind == TicketEvent.Kind.TRANSFERRED:
        target = service(data.get("to_service")) or data.get("to_agent") or ""
        source = service(data.get("from_service")) or data.get("from_agent") or "—"
        return [
            _("From %(source)s to %(target)s") % {"source": source, "target": target},
            _("Reason: %(reason)s") % {"reason": data.get("reason", "")},
        ]
    if kind == TicketEvent.Kind.ASSIGNED:
        assignee = data.get("assignee")
        return [_("To %(name)s") % {"name": names.users.get(assignee, "—")} if assignee else _("Nobody")]
    if kind == TicketEvent.Kind.STATUS_CHANGED:
        return [f"{_status_label(data.get('previous'))} → {_status_label(data.get('status'))}"]
    if kind == TicketEvent.Kind.PRIORITY_CHANGED:
        return [f"{_priority_label(data.get('previous'))} → {_priority_label(data.get('priority'))}"]
    if kind == TicketEvent.Kind.CORRECTED:
        return [f"{topic(data.get('from_topic')) or '—'} → {topic(data.get('to_topic')) or '—'}"]
    if kind == TicketEvent.Kind.ROUTED:
        lines = []
        if data.get("topic"):
            lines.append(_("Topic: %(topic)s") % {"topic": topic(data["topic"])})
        if data.get("service"):
            lines.append(_("Service: %(service)s") % {"service": service(data["service"])})
        if data.get("not_understood"):
            lines.append(_("The router could not tell which topic this is."))
        return lines
    if kind == TicketEvent.Kind.MERGED_INTO:
        reference = names.reference(data.get("into"))
        if not reference:
            return [_("Merged into another request, where its messages are now.")]
        return [_("Merged into %(reference)s, where its messages are now.") % {"reference": reference}]
    if kind == TicketEvent.Kind.MERGED_FROM:
        count = len(data.get("messages") or [])
        reference = names.reference(data.get("source"))
        if not reference:
            return [
                ngettext(
                    "%(count)d message of another request moved here.",
                    "%(count)d messages of another request moved here.",
                    count,
                )
                % {"count": count}
            ]
        return [
            ngettext(
                "%(count)d message of %(reference)s moved here.",
                "%(count)d messages of %(reference)s moved here.",
                count,
            )
            % {"count": count, "reference": reference}
        ]
    if kind == TicketEvent.Kind.TAGS_CHANGED:
        if data.get("added"):
            return [_("Added: %(tag)s") % {"tag": data["added"]}]
        return [_("Removed: %(tag)s") % {"tag": data.get("removed", "")}]
    if kind == TicketEvent.Kind.QUARANTINED:
        lines = [_("Attachment quarantined: virus found (%(virus)s)") % {"virus": data.get("virus", "")}]
        if data.get("name"):
            lines.append(data["name"])
        return lines
    if kind in (TicketEvent.Kind.DELIVERY_FAILED, TicketEvent.Kind.ACK_SKIPPED) and data.get("reason"):
        return [str(data["reason"])]
    return []


def build(ticket, user):
    """The timeline entries, oldest first, as ``user`` may read them."""
    messages = list(
        ticket.messages.select_related("author").prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
        )
    )
    events = list(ticket.events.exclude(kind__in=SHOWN_AS_MESSAGES).select_related("actor"))
    names = Names(ticket, events, user)
    merged_from = {}  # message pk -> the reference of the duplicate it came from
    for event in events:
        if event.kind == TicketEvent.Kind.MERGED_FROM:
            source = names.reference(event.data.get("source"))
            merged_from.update(dict.fromkeys(event.data.get("messages") or [], source))
    entries = [Entry(at=m.created_at, pk=m.pk, message=m) for m in messages]
    entries += [Entry(at=e.created_at, pk=e.pk, event=e, details=describe(e, names)) for e in events]
    for entry in entries:
        if entry.message is not None:
            entry.message.safe_html = safe_html(entry.message.body_html)
            entry.message.merged_from = merged_from.get(entry.message.pk, "")
            if entry.message.is_internal:
                entry.message.note_html = note_html(entry.message.body_text)
    return sorted(entries, key=lambda entry: entry.sort_key)


ARTICLE_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "h2", "h3", "h4", "blockquote", "code"}


def article_html(text):
    """A topic's Markdown article as safe HTML (plain paragraphs when the
    Markdown library is missing)."""
    if not text:
        return ""
    try:
        import markdown
    except ImportError:  # pragma: no cover - Markdown is in requirements.txt
        from django.utils.html import linebreaks

        return linebreaks(text, autoescape=True)
    html = markdown.markdown(text, extensions=["sane_lists"], output_format="html")
    return nh3.clean(html, tags=ARTICLE_TAGS, attributes={"a": {"href", "title"}}, link_rel="noopener noreferrer")
