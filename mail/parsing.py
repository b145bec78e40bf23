"""Raw email bytes to a ``ParsedEmail``, and a ``ParsedEmail`` to the
channel-neutral ``InboundMessage`` that ``contacts.services.ingest`` takes.

``parse_email`` never raises for bad input. A message it cannot read, or
that goes past a limit (size, header size, parts, nesting depth, time: see
``mail.limits``), comes back with ``rejection`` set to the reason and with
whatever header fields could be read.

Parsing uses the ``email`` package's compat32 policy (several times faster
than ``policy.default`` on pathological headers) and reads every header
through ``mail.headers``, which decodes RFC 2047 words and raw 8-bit
values itself.

Choices worth knowing:

- Forwarded messages (message/rfc822 parts) are kept as ``.eml``
  attachments, and their readable text is appended to ``full_text`` under a
  "Message transféré" banner with their From/Date/Subject, so agents see it
  without opening the file. When the citizen wrote nothing of their own,
  ``text`` is that forwarded text.
- Inline images (parts with a Content-ID) are kept as attachments; the
  sanitised HTML keeps ``src="cid:<id>"`` and ``inline_images`` maps each
  id to the attachment's file name, so the inbox view can rewrite the
  ``cid:`` URL to the stored file's URL.
- Calendar invitations (text/calendar) become an "invite.ics" attachment.
- TNEF (winmail.dat) is unpacked: its files become attachments, its body
  is used when the message has no other body.
- Signatures (application/pkcs7-signature, pgp-signature) are dropped;
  encrypted content that cannot be read is listed in
  ``rejected_attachments`` with its reason.
"""

import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser, BytesParser
from email.policy import compat32

from django.utils import timezone

from contacts.inbound import InboundAttachment, InboundMessage
from mail import attachments as attachment_rules
from mail.bounces import analyse_report
from mail.charsets import decode_bytes
from mail.headers import addresses, decode_header_value, message_id, message_ids, parse_date, raw_header
from mail.html import html_to_text, sanitise_html
from mail.limits import Budget, LimitExceeded, limit
from mail.quotes import split_reply
from mail.robots import detect_robot

logger = logging.getLogger(__name__)

SIGNATURE_TYPES = {
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "application/pgp-signature",
}
ENCRYPTED_TYPES = {"application/pkcs7-mime", "application/x-pkcs7-mime", "application/pgp-encrypted"}
REPORT_PART_TYPES = {
    "message/delivery-status",
    "message/feedback-report",
    "message/disposition-notification",
    "text/rfc822-headers",
    "text/rfc822-header",
}
# Text types kept as files, never read as the message's text.
NOT_PLAIN_TEXT_TYPES = {
    "text/calendar",
    "text/vcard",
    "text/x-vcard",
    "text/directory",
    "text/rfc822-headers",
    "text/rfc822-header",
    "text/csv",
    "text/tab-separated-values",
    "text/xml",
    "text/x-patch",
    "text/x-diff",
}
TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef"}
FORWARD_BANNER = "---------- Message transféré ----------"
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n{4,}")


@dataclass
class ParsedEmail:
    message_id: str = ""  # with <>; "" when the message has none
    subject: str = ""
    from_name: str = ""
    from_email: str = ""  # lower-case
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    date: dt.datetime | None = None  # aware
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    text: str = ""  # the new content: quoted history and signature stripped
    full_text: str = ""  # the whole readable text (forwarded messages included)
    html: str = ""  # sanitised HTML
    attachments: list[InboundAttachment] = field(default_factory=list)
    rejected_attachments: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)
    inline_images: dict[str, str] = field(default_factory=dict)  # Content-ID (no <>) -> file name
    auto_submitted: bool = False
    auto_reason: str = ""
    is_bounce: bool = False
    bounced_message_ids: list[str] = field(default_factory=list)
    bounce_recipient: str = ""
    bounce_status: str = ""  # "5.1.1": 5 is permanent (hard), 4 transient
    is_complaint: bool = False
    rejection: str = ""
    raw_sha256: str = ""
    size: int = 0
    notes: list[str] = field(default_factory=list)  # what was skipped, for the record

    @property
    def hard_bounce(self):
        return self.is_complaint or self.bounce_status.startswith("5")


@dataclass
class _Body:
    """What the walk over the MIME tree collects."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)
    tnef_plain: list[str] = field(default_factory=list)
    tnef_html: list[str] = field(default_factory=list)
    parts: int = 0


def parse_email(raw, *, own_addresses=()):
    """Parse raw message bytes; never raises for bad input (see module doc)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    raw = bytes(raw or b"")
    parsed = ParsedEmail(raw_sha256=hashlib.sha256(raw).hexdigest(), size=len(raw))
    budget = Budget()
    try:
        _parse(raw, parsed, budget, own_addresses)
    except LimitExceeded as exc:
        parsed.rejection = str(exc)
    except RecursionError:
        parsed.rejection = "MIME structure too deeply nested to read"
    except Exception as exc:  # noqa: BLE001 - a bad message must never break ingestion
        logger.exception("unreadable email %s", parsed.raw_sha256)
        parsed.rejection = f"unreadable message ({type(exc).__name__}: {str(exc)[:200]})"
    return parsed


def _parse(raw, parsed, budget, own_addresses):
    if not raw.strip():
        parsed.rejection = "empty message"
        return
    header_size = _header_size(raw)
    max_header = limit("MAIL_MAX_HEADER_BYTES")
    max_size = limit("MAIL_MAX_MESSAGE_BYTES")
    if header_size > max_header or len(raw) > max_size:
        _read_headers(BytesHeaderParser(policy=compat32).parsebytes(raw[: min(header_size, max_header)]), parsed)
        if header_size > max_header:
            parsed.rejection = f"header section too large ({header_size} bytes, at most {max_header})"
        else:
            parsed.rejection = f"message too large ({len(raw)} bytes, at most {max_size})"
        return

    max_parts = limit("MAIL_MAX_PARTS")
    if raw.lower().count(b"\ncontent-type:") > 2 * max_parts:
        # Far more parts declared than allowed (e.g. thousands of nested
        # messages): rejected before the full MIME parse, which would be the
        # costly part of the work.
        _read_headers(BytesHeaderParser(policy=compat32).parsebytes(raw[:header_size]), parsed)
        parsed.rejection = f"too many MIME parts (more than {max_parts})"
        return

    msg = BytesParser(policy=compat32).parsebytes(raw)
    _read_headers(msg, parsed)
    budget.check("parsing the MIME structure")
    if msg.defects and not (parsed.from_email or parsed.subject or msg.get_payload()):
        parsed.rejection = f"not an email message ({type(msg.defects[0]).__name__})"
        return
    parts = _flatten(msg, budget)

    parsed.auto_reason = detect_robot(msg, own_addresses)
    report = analyse_report(msg, parts)
    parsed.is_bounce = report.is_bounce
    parsed.is_complaint = report.is_complaint
    parsed.bounced_message_ids = report.message_ids
    parsed.bounce_recipient = report.recipient
    parsed.bounce_status = report.status
    if report.is_bounce or report.is_complaint or report.is_disposition:
        parsed.auto_reason = parsed.auto_reason or report.reason
    parsed.auto_submitted = bool(parsed.auto_reason)

    body = _Body()
    _visit(msg, parsed, body, budget, depth=0, in_report=False)
    _assemble_text(parsed, body, budget)

    if not parsed.from_email and not (parsed.is_bounce or parsed.is_complaint):
        if not (parsed.subject or parsed.text.strip()):
            parsed.rejection = "no sender address, no subject and no text: nothing to read"
            return
        # Kept all the same: a ticket an agent can read, from a contact without
        # an address (nobody to acknowledge or answer by email).
        parsed.notes.append("no sender address (From header missing or unreadable)")


def _header_size(raw):
    ends = [index for index in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if index >= 0]
    return min(ends) if ends else len(raw)


def _read_headers(msg, parsed):
    parsed.message_id = message_id(raw_header(msg, "Message-ID"))
    parsed.subject = " ".join(decode_header_value(raw_header(msg, "Subject")).split())
    senders = addresses(msg, "From") or addresses(msg, "Sender")
    if senders:
        parsed.from_name, parsed.from_email = senders[0]
    parsed.to = [address for _, address in addresses(msg, "To")]
    parsed.cc = [address for _, address in addresses(msg, "Cc")]
    parsed.reply_to = [address for _, address in addresses(msg, "Reply-To")]
    if not parsed.from_email:
        fallback = parsed.reply_to or [address for _, address in addresses(msg, "Return-Path")]
        parsed.from_email = fallback[0] if fallback else ""
    parsed.date = parse_date(raw_header(msg, "Date"))
    parsed.in_reply_to = message_ids(raw_header(msg, "In-Reply-To"), limit_count=10)
    parsed.references = message_ids(raw_header(msg, "References"), limit_count=100)


def _flatten(msg, budget):
    """Every part of the tree, checking part count, depth and time."""
    max_parts, max_depth = limit("MAIL_MAX_PARTS"), limit("MAIL_MAX_DEPTH")
    parts = []
    stack = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        if depth > max_depth:
            raise LimitExceeded(f"MIME structure nested deeper than {max_depth} levels")
        parts.append(part)
        if len(parts) > max_parts:
            raise LimitExceeded(f"too many MIME parts (more than {max_parts})")
        budget.check("walking the MIME structure")
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in reversed(payload) if hasattr(child, "get_content_type"))
    return parts


def _visit(part, parsed, body, budget, depth, in_report):
    budget.check("reading the parts")
    content_type = part.get_content_type()
    payload = part.get_payload()
    if isinstance(payload, list) and content_type.startswith("multipart/"):
        if content_type == "multipart/signed":
            payload = payload[:1]
        elif content_type == "multipart/encrypted":
            parsed.rejected_attachments.append(("encrypted.asc", "encrypted content cannot be read"))
            return
        in_report = in_report or content_type == "multipart/report"
        for child in payload:
            if hasattr(child, "get_content_type"):
                _visit(child, parsed, body, budget, depth + 1, in_report)
        return
    if content_type in {"message/rfc822", "message/global"} or (
        isinstance(payload, list) and content_type.startswith("message/")
    ):
        if in_report:
            return  # the bounced original: read by mail.bounces, not a citizen's document
        _forwarded(part, parsed, body, budget, depth)
        return
    if content_type in REPORT_PART_TYPES:
        return
    if content_type.startswith("multipart/"):
        # A multipart whose boundary is missing: its text is all we have.
        body.plain.append(_part_text(part))
        parsed.notes.append(f"{content_type} without readable boundary read as text")
        return
    if content_type in SIGNATURE_TYPES:
        parsed.notes.append(f"signature part {content_type} dropped")
        return
    if content_type in ENCRYPTED_TYPES:
        name = attachment_rules.part_filename(part) or "smime.p7m"
        parsed.rejected_attachments.append((name, "encrypted content cannot be read"))
        return
    if content_type == "message/external-body":
        parsed.notes.append("message/external-body not fetched")
        return

    filename = attachment_rules.part_filename(part)
    disposition = (_safe(part.get_content_disposition) or "").lower()
    inline_text = content_type in {"text/plain", "text/html", "text/enriched"} or (
        # RFC 2046 4.1.4: an unknown text subtype is read as text/plain.
        content_type.startswith("text/") and content_type not in NOT_PLAIN_TEXT_TYPES and not in_report
    )
    if inline_text and disposition != "attachment" and not filename:
        text = _part_text(part)
        if content_type == "text/html":
            body.html.append(text)
        elif content_type == "text/enriched":
            body.plain.append(re.sub(r"<[^>]{1,40}>", "", text))
        else:
            body.plain.append(text)
        return
    if content_type in TNEF_TYPES or filename.lower() == "winmail.dat":
        _tnef(part, parsed, body)
        return
    if content_type == "text/calendar" and not filename:
        filename = "invite.ics"
    _add_attachment(part, parsed, filename)


def _safe(method):
    try:
        return method()
    except Exception:  # noqa: BLE001 - malformed parameters
        return None


def _part_text(part):
    data = part.get_payload(decode=True)
    if data is None:
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    charset = _safe(part.get_content_charset) or ""
    if not charset and part.get_content_type() == "text/html":
        match = _META_CHARSET.search(data[:4096])
        charset = match.group(1).decode("ascii", "replace") if match else ""
    return decode_bytes(data, charset).replace("\x00", "")


class _Scratch(ParsedEmail):
    """Where the walk over a forwarded message goes: only its text is used
    (the forwarded message is attached whole, once, by its parent)."""


def _add_attachment(part, parsed, filename, data=None):
    if isinstance(parsed, _Scratch):
        return
    if data is None:
        encoded = part.get_payload()
        encoded_size = len(encoded) if isinstance(encoded, str) else 0
        max_bytes = limit("MAIL_MAX_ATTACHMENT_BYTES")
        if encoded_size * 3 // 4 > max_bytes * 1.05 + 1024:
            name = attachment_rules.clean_filename(filename, part.get_content_type(), len(parsed.attachments) + 1)
            parsed.rejected_attachments.append((name, f"too large (about {encoded_size * 3 // 4} bytes)"))
            return
        data = part.get_payload(decode=True) or b""
    declared = part.get_content_type()
    content_type = attachment_rules.sniff_content_type(data, filename, declared)
    name = attachment_rules.clean_filename(filename, content_type, len(parsed.attachments) + 1)
    reason = attachment_rules.refusal(data, name, content_type, len(parsed.attachments))
    if reason:
        parsed.rejected_attachments.append((name, reason))
        return
    parsed.attachments.append(InboundAttachment(filename=name, content_type=content_type, content=data))
    content_id = message_id(raw_header(part, "Content-ID"))
    if content_id and content_type.startswith("image/"):
        parsed.inline_images[content_id[1:-1]] = name


def _tnef(part, parsed, body):
    data = part.get_payload(decode=True) or b""
    try:
        text, html, files = attachment_rules.unpack_tnef(data)
    except ValueError as exc:
        name = attachment_rules.part_filename(part) or "winmail.dat"
        parsed.rejected_attachments.append((name, f"unreadable TNEF (winmail.dat): {str(exc)[:100]}"))
        return
    if text:
        body.tnef_plain.append(text)
    if html:
        body.tnef_html.append(html)
    for item in files:
        reason = attachment_rules.refusal(item.content, item.filename, item.content_type, len(parsed.attachments))
        if reason:
            parsed.rejected_attachments.append((item.filename, reason))
        else:
            parsed.attachments.append(item)


def _forwarded(part, parsed, body, budget, depth):
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if inner is None or not hasattr(inner, "get_content_type"):
        data = part.get_payload(decode=True) or b""
        _add_attachment(part, parsed, attachment_rules.part_filename(part) or "message.eml", data)
        return
    subject = " ".join(decode_header_value(raw_header(inner, "Subject")).split())
    if not isinstance(parsed, _Scratch):
        try:
            data = inner.as_bytes()
        except Exception:  # noqa: BLE001 - the generator fails on some broken parts
            data = str(inner).encode("utf-8", "surrogateescape")
        filename = attachment_rules.part_filename(part) or f"{(subject or 'message')[:80]}.eml"
        if not filename.lower().endswith(".eml"):
            filename += ".eml"
        _add_attachment(part, parsed, filename, data)

    inner_body = _Body()
    _visit(inner, _Scratch(), inner_body, budget, depth + 1, in_report=False)
    text = _body_text(inner_body)
    senders = addresses(inner, "From")
    lines = [FORWARD_BANNER]
    if senders:
        name, address = senders[0]
        lines.append(f"De : {name} <{address}>" if name else f"De : {address}")
    date = raw_header(inner, "Date")
    if date:
        lines.append(f"Date : {decode_header_value(date, max_chars=200)}")
    if subject:
        lines.append(f"Objet : {subject}")
    body.forwarded.append("\n".join(lines) + "\n\n" + text)


def _body_text(body):
    plain = _normalise("\n\n".join(item for item in body.plain if item.strip()))
    if not plain and body.html:
        plain = _normalise(html_to_text("\n".join(body.html)))
    if not plain and body.tnef_plain:
        plain = _normalise("\n\n".join(body.tnef_plain))
    if not plain and body.tnef_html:
        plain = _normalise(html_to_text("\n".join(body.tnef_html)))
    return plain


def _normalise(text):
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n\n", text).strip("\n")


def _assemble_text(parsed, body, budget):
    max_chars = limit("MAIL_MAX_TEXT_CHARS")
    own_text = _body_text(body)[:max_chars]
    budget.check("converting the body")
    new_text, _history = split_reply(own_text)
    forwarded = "\n\n".join(body.forwarded)
    parsed.full_text = "\n\n".join(item for item in (own_text, forwarded) if item)[:max_chars]
    parsed.text = new_text or forwarded[:max_chars]
    html = "\n".join(body.html) or "\n".join(body.tnef_html)
    if html:
        budget.check("sanitising the HTML")
        parsed.html = sanitise_html(html[: max_chars * 2])


def to_inbound(parsed, *, organisation, mailbox_address="", raw_ref=""):
    """The ``InboundMessage`` for a parsed email (channel "email")."""
    external_id = parsed.message_id if parsed.message_id and len(parsed.message_id) <= 300 else ""
    external_id = external_id or f"sha256:{parsed.raw_sha256}"
    thread_ids = []
    for mid in [*parsed.in_reply_to, *parsed.references]:
        if mid not in thread_ids:
            thread_ids.append(mid)
    own = (mailbox_address or "").strip().lower()
    auto = parsed.auto_submitted or parsed.is_bounce or parsed.is_complaint or bool(own and parsed.from_email == own)
    return InboundMessage(
        channel="email",
        external_id=external_id,
        organisation=organisation,
        sender_email=parsed.from_email,
        sender_name=parsed.from_name[:200],
        subject=parsed.subject[:300],
        text=parsed.text,
        full_text=parsed.full_text if parsed.full_text.strip() != parsed.text.strip() else "",
        html=parsed.html,
        attachments=list(parsed.attachments),
        ticket_reference="",
        in_reply_to=thread_ids,
        auto_submitted=auto,
        received_at=parsed.date if _sane_date(parsed.date) else None,
        raw_ref=raw_ref,
    )


def _sane_date(date):
    if date is None:
        return False
    now = timezone.now()
    return dt.datetime(1990, 1, 1, tzinfo=dt.UTC) <= date <= now + dt.timedelta(days=1)
