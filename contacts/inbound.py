"""What every channel adapter hands to ``contacts.services.ingest``."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class InboundAttachment:
    filename: str
    content_type: str
    content: bytes


@dataclass
class InboundMessage:
    """One message received on any channel, in the channel-neutral form.

    ``external_id`` is the channel's own id (Message-ID, SMS id, chat message
    id); ingestion is idempotent on ``(channel, external_id)``.
    """

    channel: str
    external_id: str
    organisation: str  # the organisation's slug
    sender_email: str = ""
    sender_phone: str = ""
    sender_name: str = ""
    postcode: str = ""
    subject: str = ""
    text: str = ""  # the new content (quoted history and signature stripped)
    full_text: str = ""  # the whole text as received, when it differs from ``text``
    html: str = ""  # sanitised HTML
    attachments: list[InboundAttachment] = field(default_factory=list)
    # Thread hints: a ticket reference (e.g. "[CD99-2026-000123]" in a
    # subject), the ids this message answers (In-Reply-To, References), and
    # whether the contact's latest open ticket may take the message (SMS).
    ticket_reference: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    thread_on_open_ticket: bool = False
    # Robots (out-of-office, bounces...) never open a ticket nor get an answer.
    auto_submitted: bool = False
    sms_consent: bool | None = None
    # How the consent was expressed (a ConsentRecord.Source) and its proof:
    # the wording the citizen agreed to, or the text they sent.
    sms_consent_source: str = ""
    sms_consent_evidence: str = ""
    received_at: datetime | None = None
    raw_ref: str = ""
    # The address of ours the citizen wrote to (answers say Reply-To: it).
    mailbox_address: str = ""
    # The topic the citizen chose on the contact form's guided path (its id):
    # the router takes it instead of guessing from the text.
    topic: int | None = None
