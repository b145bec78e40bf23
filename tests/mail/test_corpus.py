"""Every raw message of the shared corpus parses without raising and gives a
sender and something readable, or a recorded reason why not."""

import pytest
from django.conf import settings

from contacts.inbound import InboundMessage
from mail.parsing import parse_email, to_inbound

CORPUS = settings.BASE_DIR.parent / "shared" / "mail-corpus"
FILES = sorted(
    path
    for path in CORPUS.rglob("*")
    if path.is_file() and "reply-fragments" not in path.relative_to(CORPUS).parts and path.name != "SOURCES.md"
)


def test_the_corpus_is_there():
    assert len(FILES) > 200


@pytest.mark.parametrize("path", FILES, ids=[str(path.relative_to(CORPUS)) for path in FILES])
def test_corpus_message(path):
    parsed = parse_email(path.read_bytes())
    assert isinstance(parsed.subject, str)
    assert "\x00" not in parsed.text
    if parsed.rejection:
        return  # a recorded, readable reason
    if parsed.is_bounce or parsed.is_complaint:
        assert parsed.auto_submitted
        return
    if parsed.from_email:
        assert "@" in parsed.from_email
    else:  # kept without a sender address (as django-helpdesk keeps it), and said so
        assert "no sender address (From header missing or unreadable)" in parsed.notes
        assert parsed.subject or parsed.text.strip()
    assert parsed.text or parsed.attachments or parsed.rejected_attachments or parsed.subject or parsed.size < 2000
    inbound = to_inbound(parsed, organisation="cd99", raw_ref="raw:1")
    assert isinstance(inbound, InboundMessage)
    assert inbound.external_id and len(inbound.external_id) <= 300
    assert len(inbound.subject) <= 300
    for attachment in inbound.attachments:
        assert attachment.filename and len(attachment.filename) <= 255
        assert attachment.content_type and attachment.content


BOUNCES = {
    "mikel-mail/multipart_report_emails/multi_address_bounce1.eml": (
        "<118707422.15521266992174819.JavaMail.root@lvmail01>",
        "5.1.1",
    ),
    "mikel-mail/multipart_report_emails/multi_address_bounce2.eml": (
        "<118707422.15521266992174819.JavaMail.root@lvmail01>",
        "5.1.1",
    ),
    "mikel-mail/multipart_report_emails/multipart_report_multiple_status.eml": (
        "<4c2a146147ac8_61ff157c4ec1652df@s.h.c.mail>",
        "5.3.0",
    ),
    "mikel-mail/multipart_report_emails/report_422.eml": (
        "<15655788.13.1200472642578.JavaMail.Administrator@mail.ttttt.com.au>",
        "4.2.2",
    ),
    "mikel-mail/multipart_report_emails/report_530.eml": ("<200712232303.lBNN3jDq002941@mail12.rrrr.com.au>", "5.3.0"),
    "flanker/bounce/mailbox-full.eml": ("<4E326A95.3010907@example.com>", "5.2.2"),
    "flanker/bounce/no-mx.eml": ("<19E44CA63F984902B7D654F8FF40F89D@bo>", "4.4.4"),
    "flanker/bounce/office365.eml": ("<20171013111011.20866.254C2F3A4D7AA526@ninomail.com>", "5.1.10"),
    "flanker/bounce/zed.eml": ("<20090708054735.GC7578@example.com>", "5.1.1"),
    "flanker/bounce/gmail-invalid-address.eml": (
        "<CAKsfaBUUGqVZiaMrmH3TRPfq1odQPtM7Ey5YW1SgyJJRHtAjgw@mail.gmail.com>",
        "5.1.0",
    ),
    "flanker/bounce/delayed.eml": (None, "4.0.0"),
    "flanker/bounce/delayed-broken.eml": (None, "4.2.2"),
    "flanker/bounce/broken-mime.eml": (None, ""),
    "flanker/bounce/gmail-no-dns.eml": (None, ""),
}


@pytest.mark.parametrize(("name", "expected"), BOUNCES.items(), ids=BOUNCES.keys())
def test_bounces_give_the_original_message_id(name, expected):
    message_id, status = expected
    parsed = parse_email((CORPUS / name).read_bytes())
    assert parsed.is_bounce
    assert parsed.auto_submitted
    assert parsed.rejection == ""
    if message_id:
        assert parsed.bounced_message_ids[0] == message_id
    assert parsed.bounce_status == status
    assert parsed.hard_bounce == status.startswith("5")


def test_bounce_recipient():
    parsed = parse_email((CORPUS / "flanker/bounce/zed.eml").read_bytes())
    assert parsed.bounce_recipient == "asdfasdfasdfasdfasdfasdfewrqertrtyrthsfgdfgadfqeadvxzvz@gmail.com"


@pytest.mark.parametrize(
    ("name", "message_id"),
    [
        ("flanker/complaints/aol.eml", "<20101117174130.28884.55421@luna>"),
        ("flanker/complaints/yahoo.eml", "<20120711015015.4A8BE2E088E@www.example.com>"),
    ],
)
def test_complaints(name, message_id):
    parsed = parse_email((CORPUS / name).read_bytes())
    assert parsed.is_complaint and not parsed.is_bounce
    assert parsed.bounced_message_ids == [message_id]
    assert parsed.hard_bounce


def test_read_receipt_is_automatic_but_not_a_bounce():
    parsed = parse_email((CORPUS / "flanker/disposition-notification.eml").read_bytes())
    assert parsed.auto_submitted and not parsed.is_bounce and not parsed.is_complaint


def test_a_citizen_message_from_the_corpus():
    parsed = parse_email((CORPUS / "django-helpdesk/quoted_printable.eml").read_bytes())
    assert parsed.subject == "Český test"
    assert parsed.text == "Tohle je test českých písmen odeslaných z gmailu."
    assert not parsed.auto_submitted
