"""Delivery reports (RFC 3464 DSN), spam complaints (RFC 5965 ARF) and read
receipts (RFC 8098 MDN): what they say about a message we sent."""

import re
from dataclasses import dataclass, field
from email.parser import HeaderParser
from email.policy import compat32

from mail.headers import addresses, decode_header_value, message_id, raw_header, to_unicode
from mail.robots import DELIVERY_FAILURE_SUBJECT, ROBOT_LOCALPARTS

STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
SMTP_CODE = re.compile(r"\b([245])\d\d[ -]")
MESSAGE_ID_LINE = re.compile(r"^\s*Message-ID\s*:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
MAX_SCAN_CHARS = 200_000


@dataclass
class Report:
    is_bounce: bool = False
    is_complaint: bool = False
    is_disposition: bool = False  # a read receipt
    message_ids: list[str] = field(default_factory=list)
    recipient: str = ""
    status: str = ""  # "5.1.1"; 5.x.x is permanent (hard), 4.x.x transient
    reason: str = ""

    @property
    def hard(self):
        return self.status.startswith("5")


def analyse_report(msg, parts):
    """A ``Report`` for ``msg``; ``parts`` is its list of MIME parts (already
    walked under the parse limits)."""
    report = Report()
    top_type = msg.get_content_type()
    report_type = (msg.get_param("report-type") or "").lower() if top_type == "multipart/report" else ""
    types = {part.get_content_type() for part in parts}
    if report_type == "feedback-report" or "message/feedback-report" in types:
        report.is_complaint = True
        report.reason = "spam complaint (feedback report)"
    elif report_type == "disposition-notification" or "message/disposition-notification" in types:
        report.is_disposition = True
        report.reason = "read receipt (disposition notification)"
    elif report_type == "delivery-status" or "message/delivery-status" in types:
        report.is_bounce = True
        report.reason = "delivery status notification"
    elif _looks_like_plain_bounce(msg):
        report.is_bounce = True
        report.reason = "delivery failure notice"
    if not (report.is_bounce or report.is_complaint or report.is_disposition):
        return report

    for part in parts:
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            _read_delivery_status(part, report)
        elif content_type == "message/feedback-report":
            _read_feedback(part, report)
        elif content_type in {"message/rfc822", "message/global"}:
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if hasattr(inner, "raw_items"):
                _add_id(report, message_id(raw_header(inner, "Message-ID")))
            elif isinstance(inner, str):
                _add_ids_from_text(report, inner)
        elif content_type in {"text/rfc822-headers", "text/rfc822-header"}:
            _add_ids_from_headers(report, _payload_text(part))
    if not report.message_ids or not report.status or not report.recipient:
        for part in parts:
            if part.get_content_maintype() == "text":
                text = _payload_text(part)
                if not report.message_ids:
                    _add_ids_from_text(report, text)
                if not report.status:
                    match = STATUS.search(text)
                    if match:
                        report.status = match.group(0)
                    elif SMTP_CODE.search(text):
                        code = SMTP_CODE.search(text).group(1)
                        report.status = f"{code}.0.0"
    return report


def _looks_like_plain_bounce(msg):
    subject = decode_header_value(raw_header(msg, "Subject"), max_chars=500)
    senders = [address for _, address in addresses(msg, "From")]
    from_robot = any(address.split("@", 1)[0] in ROBOT_LOCALPARTS for address in senders)
    null_path = bool(re.fullmatch(r"\s*<\s*>\s*", raw_header(msg, "Return-Path")))
    return bool(DELIVERY_FAILURE_SUBJECT.match(subject)) and (from_robot or null_path or not senders)


def _payload_text(part):
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = part.get_payload()
        if isinstance(payload, list):
            return "\n".join(str(item) for item in payload)[:MAX_SCAN_CHARS]
        return str(payload or "")[:MAX_SCAN_CHARS]
    return payload[:MAX_SCAN_CHARS].decode("utf-8", "replace")


def _add_id(report, mid):
    if mid and mid not in report.message_ids:
        report.message_ids.append(mid)


def _add_ids_from_headers(report, text):
    try:
        headers = HeaderParser(policy=compat32).parsestr(text.lstrip())
    except Exception:  # noqa: BLE001 - a broken excerpt only means no id
        headers = None
    if headers is not None and raw_header(headers, "Message-ID"):
        _add_id(report, message_id(raw_header(headers, "Message-ID")))
    else:
        _add_ids_from_text(report, text)


def _add_ids_from_text(report, text):
    for mid in MESSAGE_ID_LINE.findall(text or "")[:5]:
        _add_id(report, mid)


def _field_blocks(part):
    """The field blocks of a message/delivery-status (or feedback) part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [{key.lower(): to_unicode(value) for key, value in block.items()} for block in payload]
    text = _payload_text(part)
    blocks = []
    for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        fields = {}
        for line in re.sub(r"\n[ \t]+", " ", chunk).split("\n"):
            if ":" in line:
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.strip()
        if fields:
            blocks.append(fields)
    return blocks


def _address_of(value):
    value = (value or "").strip()
    if ";" in value:
        value = value.split(";", 1)[1]
    return value.strip().strip("<>").lower()


def _read_delivery_status(part, report):
    recipients = [block for block in _field_blocks(part) if "final-recipient" in block or "status" in block]
    chosen = next((block for block in recipients if block.get("action", "").lower().startswith("failed")), None)
    chosen = chosen or (recipients[0] if recipients else None)
    if chosen is None:
        return
    if not report.recipient:
        report.recipient = _address_of(chosen.get("final-recipient") or chosen.get("original-recipient"))
    if not report.status:
        match = STATUS.search(chosen.get("status", ""))
        if match:
            report.status = match.group(0)


def _read_feedback(part, report):
    for block in _field_blocks(part):
        if not report.recipient and block.get("original-rcpt-to"):
            report.recipient = _address_of(block["original-rcpt-to"])
    report.status = report.status or ""
