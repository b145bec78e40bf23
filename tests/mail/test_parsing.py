import datetime as dt
from email.message import EmailMessage

import pytest
from django.conf import settings

from contacts.inbound import InboundMessage
from mail.parsing import parse_email, to_inbound

CORPUS = settings.BASE_DIR.parent / "shared" / "mail-corpus"


def raw_message(body=b"Bonjour,\r\nje demande une aide.\r\n", headers=b"", charset=b"utf-8", cte=b"8bit"):
    return (
        b"From: =?utf-8?Q?Jos=C3=A9_Dupr=C3=A9?= <Jose.Dupre@Citoyen.example>\r\n"
        b"To: Accueil <contact@cd99.example>, autre@cd99.example\r\n"
        b"Cc: copie@cd99.example\r\n"
        b"Reply-To: reponse@citoyen.example\r\n"
        b"Subject: =?iso-8859-1?Q?Demande_d'aide_=E0_domicile?= [CD99-2026-000123]\r\n"
        b"Message-ID: <abc123@citoyen.example>\r\n"
        b"In-Reply-To: <out1@cd99.example>\r\n"
        b"References: <first@cd99.example>\r\n <out1@cd99.example>\r\n"
        b"Date: Tue, 3 Mar 2026 10:00:00 +0100\r\n" + headers + b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=" + charset + b"\r\n"
        b"Content-Transfer-Encoding: " + cte + b"\r\n\r\n" + body
    )


def test_headers_are_decoded():
    parsed = parse_email(raw_message())
    assert parsed.rejection == ""
    assert parsed.message_id == "<abc123@citoyen.example>"
    assert parsed.subject == "Demande d'aide à domicile [CD99-2026-000123]"
    assert (parsed.from_name, parsed.from_email) == ("José Dupré", "jose.dupre@citoyen.example")
    assert parsed.to == ["contact@cd99.example", "autre@cd99.example"]
    assert parsed.cc == ["copie@cd99.example"]
    assert parsed.reply_to == ["reponse@citoyen.example"]
    assert parsed.date == dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)
    assert parsed.in_reply_to == ["<out1@cd99.example>"]
    assert parsed.references == ["<first@cd99.example>", "<out1@cd99.example>"]
    assert parsed.text == "Bonjour,\nje demande une aide."
    assert parsed.auto_submitted is False
    assert len(parsed.raw_sha256) == 64


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        (b"=?UTF-8?B?UsOpcG9uc2Ugw6Agdm90cmUgZGVtYW5kZQ==?=", "Réponse à votre demande"),
        (b"=?utf-8?q?Aide_=C3=A0?= =?utf-8?q?_domicile?=", "Aide à domicile"),
        (b"=?utf-8?b?w6k=?= =?utf-8?b?w6k=?=", "éé"),
        (b"=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=", "café"),  # a character split over two words
        (b"=?windows-1252?Q?=93guillemets=94?=", "\u201cguillemets\u201d"),
        (b"Re: =?iso-8859-15?q?5_=A4?=", "Re: 5 €"),
        (b"=?NONE?B?VEVTVA=?=", "TEST"),
        ("Déjà en UTF-8 brut".encode(), "Déjà en UTF-8 brut"),  # RFC 6532
        ("Latin-1 brut à".encode("latin-1"), "Latin-1 brut à"),
    ],
)
def test_rfc2047_subjects(encoded, decoded):
    raw = b"From: a@b.example\r\nSubject: " + encoded + b"\r\n\r\nx\r\n"
    assert parse_email(raw).subject == decoded


def test_latin1_body_declared_as_utf8():
    body = "Bonjour, j'ai reçu la lettre à côté de l'été.\r\n".encode("latin-1")
    parsed = parse_email(raw_message(body=body, charset=b"utf-8"))
    assert parsed.text == "Bonjour, j'ai reçu la lettre à côté de l'été."
    assert "\ufffd" not in parsed.full_text


def test_cp1252_quotes_declared_as_latin1():
    body = "\u2019apostrophe \u201cguillemets\u201d \u2013 tiret \u20ac".encode("cp1252") + b"\r\n"
    parsed = parse_email(raw_message(body=body, charset=b"iso-8859-1"))
    assert parsed.text == "\u2019apostrophe \u201cguillemets\u201d \u2013 tiret \u20ac"


def test_utf8_body_declared_as_latin1():
    parsed = parse_email(raw_message(body="Réponse déjà envoyée\r\n".encode(), charset=b"iso-8859-1"))
    assert parsed.text == "Réponse déjà envoyée"


def test_unknown_charset_and_quoted_printable():
    parsed = parse_email(raw_message(body=b"caf=E9 cr=E8me\r\n", charset=b"x-unknown", cte=b"quoted-printable"))
    assert parsed.text == "café crème"


def test_bytes_invalid_in_every_charset_never_become_replacement_characters():
    text = "Été, déjà, où, ça, œuvre, « guillemets », 5 €, naïf, Noël, côte, dû, Œdipe"
    for charset in (b"utf-8", b"us-ascii", b"x-unknown", b"iso-2022-jp"):
        parsed = parse_email(raw_message(body=text.encode("cp1252") + b"\r\n", charset=charset))
        assert parsed.text == text


def test_iso_2022_jp_from_the_corpus():
    parsed = parse_email((CORPUS / "mikel-mail/multi_charset/japanese_iso_2022.eml").read_bytes())
    assert parsed.rejection == ""
    assert parsed.subject and "\ufffd" not in parsed.subject
    assert any("\u3040" <= char <= "\u30ff" or "\u4e00" <= char <= "\u9fff" for char in parsed.subject + parsed.text)
    assert "\ufffd" not in parsed.text


def test_shift_jis_from_the_corpus():
    parsed = parse_email((CORPUS / "mikel-mail/multi_charset/japanese_shift_jis.eml").read_bytes())
    assert parsed.text and "\ufffd" not in parsed.text


def test_reply_keeps_new_text_and_full_text():
    body = (
        "Merci, voici mon attestation.\r\n\r\n"
        "Le mar. 3 mars 2026 à 09:00, Accueil <contact@cd99.example> a écrit :\r\n"
        "> Bonjour, il manque une pièce.\r\n"
    ).encode()
    parsed = parse_email(raw_message(body=body))
    assert parsed.text == "Merci, voici mon attestation."
    assert "il manque une pièce" in parsed.full_text


def test_html_only_message():
    msg = EmailMessage()
    msg["From"] = "jean@citoyen.example"
    msg["Subject"] = "HTML"
    msg.set_content(
        '<p>Bonjour<script>alert(1)</script></p><img src="https://t.example/p.gif">'
        "<blockquote>Le 3 mars 2026 à 10:00, Accueil a écrit :<br>ancien</blockquote>",
        subtype="html",
    )
    parsed = parse_email(bytes(msg))
    assert parsed.text == "Bonjour"
    assert "ancien" in parsed.full_text
    assert "<script" not in parsed.html
    assert 'data-remote-src="https://t.example/p.gif"' in parsed.html


def test_alternative_prefers_the_plain_text_and_keeps_sanitised_html():
    msg = EmailMessage()
    msg["From"] = "jean@citoyen.example"
    msg.set_content("Texte brut")
    msg.add_alternative('<p onclick="x()">Texte <b>riche</b></p>', subtype="html")
    parsed = parse_email(bytes(msg))
    assert parsed.text == "Texte brut"
    assert parsed.html == "<p>Texte <b>riche</b></p>"


def test_forwarded_message_is_an_eml_attachment_and_text():
    inner = EmailMessage()
    inner["From"] = "Mairie <mairie@ville.example>"
    inner["Subject"] = "Votre dossier"
    inner["Date"] = "Mon, 2 Mar 2026 08:00:00 +0100"
    inner.set_content("Votre dossier est incomplet.")
    outer = EmailMessage()
    outer["From"] = "jean@citoyen.example"
    outer["Subject"] = "Fwd: Votre dossier"
    outer.set_content("Voir ci-dessous.")
    outer.add_attachment(inner)
    parsed = parse_email(bytes(outer))
    assert parsed.text == "Voir ci-dessous."
    assert "Votre dossier est incomplet." in parsed.full_text
    assert "De : Mairie <mairie@ville.example>" in parsed.full_text
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [("Votre dossier.eml", "message/rfc822")]


def test_forward_without_comment_uses_the_forwarded_text():
    inner = EmailMessage()
    inner["From"] = "mairie@ville.example"
    inner["Subject"] = "Avis"
    inner.set_content("Avis de passage.")
    outer = EmailMessage()
    outer["From"] = "jean@citoyen.example"
    outer.make_mixed()
    outer.attach(EmailMessage())
    outer.get_payload()[0].set_content(inner)
    parsed = parse_email(bytes(outer))
    assert "Avis de passage." in parsed.text


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty message"),
        (b"   \r\n", "empty message"),
    ],
)
def test_rejections(raw, reason):
    parsed = parse_email(raw)
    assert parsed.rejection.startswith(reason)


def test_a_message_without_sender_is_kept_with_a_note():
    parsed = parse_email(b"Subject: sans expediteur\r\n\r\nTexte\r\n")
    assert parsed.rejection == ""
    assert parsed.from_email == ""
    assert parsed.text == "Texte"
    assert parsed.notes == ["no sender address (From header missing or unreadable)"]


def test_garbage_never_raises():
    for raw in (b"\x00\xff" * 100, b"From:\r\n\r\n", b"Content-Type: multipart/mixed\r\n\r\n--\r\n", b":" * 1000):
        parsed = parse_email(raw)
        assert isinstance(parsed.rejection, str)


def test_size_limit(settings):
    settings.MAIL_MAX_MESSAGE_BYTES = 100
    parsed = parse_email(raw_message(body=b"x" * 200))
    assert parsed.rejection.startswith("message too large")
    assert parsed.subject == "Demande d'aide à domicile [CD99-2026-000123]"
    assert parsed.from_email == "jose.dupre@citoyen.example"


def test_header_limit(settings):
    settings.MAIL_MAX_HEADER_BYTES = 200
    parsed = parse_email(raw_message(headers=b"X-Long: " + b"a" * 500 + b"\r\n"))
    assert parsed.rejection.startswith("header section too large")


def test_time_limit(settings):
    settings.MAIL_MAX_PARSE_SECONDS = 0
    parsed = parse_email(raw_message())
    assert parsed.rejection.startswith("parse time limit of 0 s exceeded")
    assert parsed.message_id == "<abc123@citoyen.example>"


def test_parts_and_depth_limits(settings):
    settings.MAIL_MAX_PARTS = 3
    msg = EmailMessage()
    msg["From"] = "jean@citoyen.example"
    msg.set_content("x")
    for index in range(3):
        msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename=f"{index}.pdf")
    assert parse_email(bytes(msg)).rejection == "too many MIME parts (more than 3)"

    settings.MAIL_MAX_PARTS = 200
    settings.MAIL_MAX_DEPTH = 2
    nested = EmailMessage()
    nested.set_content("fond")
    for _ in range(4):
        outer = EmailMessage()
        outer["From"] = "jean@citoyen.example"
        outer.set_content("niveau")
        outer.add_attachment(nested)
        nested = outer
    assert parse_email(bytes(nested)).rejection == "MIME structure nested deeper than 2 levels"


def test_pathological_corpus_messages_are_bounded():
    endless = parse_email((CORPUS / "flanker/enclosed-endless.eml").read_bytes())
    assert endless.rejection == "too many MIME parts (more than 200)"
    assert endless.subject == "Wow"
    long_header = parse_email((CORPUS / "flanker/long-header.eml").read_bytes())
    assert long_header.rejection == ""
    assert long_header.subject.startswith("Die heiße Zypernsonne quälte Max und Victoria ja böse")
    assert long_header.text == "test"


def test_to_inbound():
    parsed = parse_email(raw_message())
    inbound = to_inbound(parsed, organisation="cd99", mailbox_address="contact@cd99.example", raw_ref="raw:7")
    assert isinstance(inbound, InboundMessage)
    assert inbound.channel == "email"
    assert inbound.external_id == "<abc123@citoyen.example>"
    assert inbound.organisation == "cd99"
    assert (inbound.sender_email, inbound.sender_name) == ("jose.dupre@citoyen.example", "José Dupré")
    assert inbound.subject == parsed.subject
    assert inbound.text == "Bonjour,\nje demande une aide."
    assert inbound.full_text == ""
    assert inbound.in_reply_to == ["<out1@cd99.example>", "<first@cd99.example>"]
    assert inbound.ticket_reference == ""
    assert inbound.auto_submitted is False
    assert inbound.received_at == parsed.date
    assert inbound.raw_ref == "raw:7"


def test_to_inbound_without_message_id_and_with_a_strange_date():
    raw = b"From: a@b.example\r\nDate: Mon, 1 Jan 1900 00:00:00 +0000\r\nSubject: x\r\n\r\ny\r\n"
    parsed = parse_email(raw)
    inbound = to_inbound(parsed, organisation="cd99")
    assert inbound.external_id == f"sha256:{parsed.raw_sha256}"
    assert inbound.received_at is None


def test_to_inbound_marks_mail_from_the_mailbox_itself():
    raw = b"From: contact@cd99.example\r\nSubject: x\r\n\r\ny\r\n"
    inbound = to_inbound(parse_email(raw), organisation="cd99", mailbox_address="Contact@cd99.example")
    assert inbound.auto_submitted is True
