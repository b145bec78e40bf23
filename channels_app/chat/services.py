"""What happens in a chat conversation. Every entry is stored (numbered, in
the conversation's order) in the same transaction as what caused it and
pushed to the connected clients only after commit."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels_app.chat import assistant
from channels_app.models import ChatEntry, Conversation, Orientation
from contacts.channels import Channel
from contacts.inbound import InboundMessage
from contacts.models import Outbox

logger = logging.getLogger(__name__)

TOKEN_SALT = "chat"  # noqa: S105 (a signing salt, not a secret)
MAX_TEXT = 4000
Author = ChatEntry.Author


class ChatError(Exception):
    """A chat action that cannot be done; the text says why, in French."""


# -- tokens -------------------------------------------------------------------------


def token_for(conversation):
    return signing.dumps(conversation.pk, salt=TOKEN_SALT)


def conversation_from_token(token, organisation):
    """The conversation a client's token names, or None (forged, or another
    organisation's)."""
    try:
        pk = signing.loads(token or "", salt=TOKEN_SALT, max_age=60 * 60 * 24 * 7)
    except signing.BadSignature:
        return None
    return Conversation.objects.filter(pk=pk, organisation=organisation).first()


# -- entries ------------------------------------------------------------------------


def push(conversation, event):
    """Send an event to everyone connected to the conversation, after commit."""
    layer = get_channel_layer()
    if layer is None:
        return

    def send():
        try:
            async_to_sync(layer.group_send)(conversation.group, {"type": "chat.event", "event": event})
        except Exception:  # the entry is stored: a reconnecting client gets it
            logger.exception("chat push failed for conversation %s", conversation.pk)

    transaction.on_commit(send)


def append(conversation, author, text="", data=None, client_id="", message=None):
    """Store one entry at the end of the conversation and push it."""
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        locked.last_seq += 1
        locked.save(update_fields=["last_seq"])
        entry = ChatEntry.objects.create(
            conversation=locked,
            seq=locked.last_seq,
            author=author,
            text=text,
            data=data or {},
            client_id=client_id,
            message=message,
        )
        conversation.last_seq = locked.last_seq
        push(conversation, entry.as_event())
    return entry


def entries_after(conversation, seq):
    return list(conversation.entries.filter(seq__gt=seq).order_by("seq"))


# -- the citizen --------------------------------------------------------------------


def start(organisation, widget=None):
    conversation = Conversation.objects.create(organisation=organisation, widget=widget)
    append(
        conversation,
        Author.ASSISTANT,
        _("Hello! Describe your question in a few words: I will tell you who can help you."),
        {"buttons": [assistant.agent_button()]},
    )
    return conversation


def _clean_text(text):
    text = (text or "").strip()
    if not text:
        raise ChatError(_("The message is empty."))
    if len(text) > MAX_TEXT:
        raise ChatError(_("The message is too long: %(max)d characters at most.") % {"max": MAX_TEXT})
    return text


def citizen_says(conversation, client_id, text):
    """The citizen wrote. A retry of the same ``client_id`` is dropped (the
    stored entry is returned). With the assistant: its answer follows. With
    an agent (or waiting for one): the message joins the ticket."""
    text = _clean_text(text)
    client_id = (client_id or "")[:64]
    if not client_id:
        raise ChatError(_("The message has no client id."))
    existing = conversation.entries.filter(client_id=client_id).first()
    if existing is not None:
        return [existing]
    conversation.refresh_from_db()
    if conversation.status == Conversation.Status.CLOSED:
        raise ChatError(_("This conversation is closed."))
    try:
        with transaction.atomic():
            message = None
            if conversation.ticket_id:
                message = _to_ticket(conversation, client_id, text)
            entry = append(conversation, Author.CITIZEN, text, client_id=client_id, message=message)
            entries = [entry]
            if conversation.status == Conversation.Status.ASSISTANT:
                reply, data, topic = assistant.reply_to(conversation.organisation, text)
                entries.append(append(conversation, Author.ASSISTANT, reply, data))
                _remember_topic(conversation, topic, data)
    except IntegrityError:  # the same client id, from another tab or retry, at the same moment
        return list(conversation.entries.filter(client_id=client_id))
    return entries


def _remember_topic(conversation, topic, data):
    if topic is None:
        return
    conversation.topic = topic
    conversation.oriented = conversation.oriented or "service" in data
    conversation.save(update_fields=["topic", "oriented"])


def choose(conversation, topic_ref):
    """The citizen pressed a topic or an answer to a question."""
    from channels_app.portal.orientation import topic_for

    owner, _sep, slug = (topic_ref or "").partition("/")
    topic = topic_for(conversation.organisation, slug, owner) if slug else None
    if topic is None:
        raise ChatError(_("This subject does not exist."))
    with transaction.atomic():
        entry = append(conversation, Author.CITIZEN, topic.title, {"topic": topic_ref})
        reply, data, _answer = assistant.topic_reply(conversation.organisation, topic)
        answer = append(conversation, Author.ASSISTANT, reply, data)
        _remember_topic(conversation, topic, data)
    return [entry, answer]


def _transcript(conversation):
    labels = {Author.CITIZEN: _("Citizen"), Author.ASSISTANT: _("Assistant")}
    lines = [
        f"{labels.get(entry.author, entry.author)} : {entry.text}"
        for entry in conversation.entries.filter(author__in=[Author.CITIZEN, Author.ASSISTANT]).order_by("seq")
    ]
    return "\n".join(lines)


def _available_agents(service):
    from routing.assignment import available_agents
    from routing.sla import business_hours_between

    now = timezone.now()
    if business_hours_between(now, now + timezone.timedelta(minutes=1), service.organisation) <= 0:
        return []
    return list(available_agents(service, now))


def hand_over(conversation, name, email="", phone=""):
    """The citizen asked for a person: the conversation becomes a ticket in
    the competent service's queue, with the transcript. Agents of that
    service who are available now see it in their inbox; when none is, the
    citizen is told their message is left (acknowledged by email or SMS)."""
    from contacts.models import normalise_email, normalise_phone
    from contacts.services import ingest

    name = (name or "").strip()[:200]
    email = (email or "").strip()
    if not email and not phone:
        raise ChatError(_("Give an email address or a phone number, so that we can answer you."))
    try:
        email = normalise_email(email) if email else ""
        phone = normalise_phone(phone) if phone else ""
    except ValueError:
        raise ChatError(_("Enter a valid phone number, e.g. 06 12 34 56 78.")) from None
    if email and ("@" not in email or "." not in email.split("@")[-1]):
        raise ChatError(_("Enter a valid email address."))
    conversation.refresh_from_db()
    if conversation.ticket_id:
        return conversation
    from channels_app.portal import ratelimit

    if not ratelimit.allow_contact("submit", email or phone):
        raise ChatError(_("You have sent many requests recently; try again later."))
    with transaction.atomic():
        result = ingest(
            InboundMessage(
                channel=Channel.CHAT,
                external_id=f"chat:{conversation.pk}",
                organisation=conversation.organisation,
                sender_name=name,
                sender_email=email,
                sender_phone=phone,
                subject=(conversation.topic.title if conversation.topic else _("Chat conversation"))[:300],
                text=_transcript(conversation) or _("Chat conversation"),
                topic=conversation.topic_id,
            )
        )
        ticket = result.ticket
        conversation.ticket = ticket
        agents = _available_agents(ticket.service) if ticket.service else []
        if agents:
            conversation.status = Conversation.Status.WAITING
            text = _("An agent of %(service)s will answer you here in a moment.") % {"service": ticket.service.name}
        else:
            conversation.status = Conversation.Status.LEFT_MESSAGE
            text = _(
                "No agent is available right now. Your message is passed on (reference %(reference)s): "
                "you will be answered by email or SMS. You can also ask to be called back."
            ) % {"reference": ticket.reference}
        conversation.save(update_fields=["ticket", "status"])
        append(conversation, Author.SYSTEM, text, {"reference": ticket.reference, "status": conversation.status})
    return conversation


def _to_ticket(conversation, client_id, text):
    """A citizen's message after the hand-over: stored on the ticket through
    the one pipeline, once."""
    from contacts.services import ingest

    ticket = conversation.ticket
    contact = ticket.contact
    result = ingest(
        InboundMessage(
            channel=Channel.CHAT,
            external_id=f"chat:{conversation.pk}:{client_id}",
            organisation=conversation.organisation,
            sender_email=contact.email,
            sender_phone=contact.phone,
            sender_name=contact.name,
            subject=ticket.subject,
            text=text,
            ticket_reference=ticket.reference,
        )
    )
    return result.message


def close(conversation):
    """The citizen ended the conversation. Without an agent, an answer shown
    counts as an orientation."""
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if locked.status == Conversation.Status.CLOSED:
            return locked
        if locked.ticket_id is None and locked.oriented and locked.topic_id:
            from channels_app.portal.orientation import answer_for

            answer = answer_for(locked.organisation, locked.topic)
            Orientation.objects.create(
                organisation=locked.organisation,
                topic=locked.topic,
                service=answer.service,
                elsewhere=answer.elsewhere,
                channel=Orientation.Channel.CHAT,
                widget=locked.widget,
            )
        locked.status = Conversation.Status.CLOSED
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at"])
        append(locked, Author.SYSTEM, _("The conversation is closed. Thank you!"), {"status": "closed"})
    conversation.status = locked.status
    return locked


# -- agents ---------------------------------------------------------------------------


def accept(conversation, agent):
    """An agent takes the conversation; the first one gets it."""
    from contacts.services import assign

    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if locked.ticket_id is None or locked.status == Conversation.Status.CLOSED:
            raise ChatError(_("This conversation is not waiting for an agent."))
        if locked.agent_id and locked.agent_id != agent.pk:
            raise ChatError(_("Another agent has already taken this conversation."))
        if locked.agent_id == agent.pk:
            return locked
        locked.agent = agent
        locked.status = Conversation.Status.ACTIVE
        locked.save(update_fields=["agent", "status"])
        assign(locked.ticket, agent, agent)
        name = agent.get_full_name() or agent.get_username()
        append(locked, Author.SYSTEM, _("%(name)s is answering you.") % {"name": name}, {"status": "active"})
    return locked


def agent_says(conversation, agent, text):
    """The agent writes: the ticket's answer on the chat channel, delivered
    through the outbox (stored, then pushed)."""
    from contacts.services import reply

    text = _clean_text(text)
    conversation.refresh_from_db()
    if conversation.agent_id != agent.pk:
        raise ChatError(_("Take the conversation before answering."))
    return reply(conversation.ticket, agent, text, channel=Channel.CHAT)


def deliver(row):
    """The chat sender of the outbox: the agent's message becomes an entry of
    the conversation (once per message) and is pushed."""
    from contacts.senders import PermanentDeliveryError

    conversation = Conversation.objects.filter(ticket_id=row.ticket_id).first()
    if conversation is None:
        raise PermanentDeliveryError("no chat conversation for this ticket")
    existing = ChatEntry.objects.filter(message_id=row.message_id).first()
    if existing is None:
        existing = append(conversation, Author.AGENT, row.payload.get("text", ""), message=row.message)
    return f"chat:{conversation.pk}:{existing.seq}"


# -- the end of the conversation ----------------------------------------------------


def transcript_text(conversation):
    labels = dict(Author.choices)
    return "\n".join(
        f"[{entry.created_at:%d/%m/%Y %H:%M}] {labels.get(entry.author, entry.author)} : {entry.text}"
        for entry in conversation.entries.order_by("seq")
    )


def send_transcript(conversation, email):
    """Email the whole conversation to the citizen (once per address)."""
    from django.core.validators import validate_email

    from contacts.services.outbox import enqueue

    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ChatError(_("Enter a valid email address.")) from None
    if Outbox.objects.filter(idempotency_key=f"transcript:{conversation.pk}").exists():
        # Once per conversation: an anonymous socket must not be a mailer.
        raise ChatError(_("The conversation has already been sent."))
    payload = {
        "subject": _("Your conversation with %(organisation)s") % {"organisation": conversation.organisation.name},
        "text": transcript_text(conversation),
    }
    row = enqueue(
        Channel.EMAIL,
        email,
        payload,
        idempotency_key=f"transcript:{conversation.pk}",
        ticket=conversation.ticket,
    )
    append(conversation, Author.SYSTEM, _("The conversation will be sent to %(email)s.") % {"email": email})
    return row


def rate(conversation, score, comment=""):
    """The citizen rates the conversation (1 to 5), once; on its ticket too."""
    from contacts.models import TicketEvent
    from contacts.services.events import record_event

    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise ChatError(_("Choose a rating from 1 to 5."))
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if locked.rating is not None:
            raise ChatError(_("You have already rated this answer. Thank you!"))
        locked.rating = score
        locked.save(update_fields=["rating"])
        ticket = locked.ticket
        if (
            ticket is not None
            and ticket.status in (ticket.Status.RESOLVED, ticket.Status.CLOSED)
            and not ticket.events.filter(kind=TicketEvent.Kind.RATED).exists()
        ):
            # The ticket's rating follows its own rule (once, when resolved);
            # otherwise the citizen rates it later on the follow-up page.
            record_event(ticket, TicketEvent.Kind.RATED, score=score, comment=(comment or "")[:2000], via="chat")
        append(locked, Author.SYSTEM, _("Thank you for your rating."), {"rating": score})
    return locked
