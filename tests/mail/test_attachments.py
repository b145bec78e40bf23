import struct
from email.message import EmailMessage

import pytest

from mail.attachments import clean_filename, refusal, sniff_content_type, unpack_tnef
from mail.parsing import parse_email

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64 + b"This program cannot be run"


def with_attachment(content, filename, maintype="application", subtype="pdf", **params):
    msg = EmailMessage()
    msg["From"] = "Jean Dupont <jean@citoyen.example>"
    msg["To"] = "contact@cd99.example"
    msg["Subject"] = "Pièce jointe"
    msg["Message-ID"] = "<att@citoyen.example>"
    msg.set_content("Voici le document.")
    msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename, **params)
    return bytes(msg)


def test_a_pdf_is_kept_with_its_real_type():
    parsed = parse_email(with_attachment(PDF, "attestation.pdf", "application", "octet-stream"))
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [("attestation.pdf", "application/pdf")]
    assert parsed.attachments[0].content == PDF
    assert parsed.rejected_attachments == []


def test_an_executable_renamed_pdf_is_refused():
    parsed = parse_email(with_attachment(EXE, "facture.pdf"))
    assert parsed.attachments == []
    assert parsed.rejected_attachments == [("facture.pdf", "executable content (Windows executable)")]
    assert parsed.text == "Voici le document."
    assert parsed.rejection == ""


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 40, "photo.jpg"),
        (b"#!/bin/sh\nrm -rf /\n", "notes.txt"),
        (b"MsgBox 1", "lettre.vbs"),
        (PDF, "lettre.pdf.exe"),
        (b"<svg onload=alert(1)></svg>", "logo.svg"),
    ],
)
def test_dangerous_files_are_refused(content, filename):
    parsed = parse_email(with_attachment(content, filename))
    assert parsed.attachments == []
    assert parsed.rejected_attachments[0][0] == filename


def test_an_image_declared_as_pdf_gets_its_real_type():
    parsed = parse_email(with_attachment(PNG, "scan.pdf"))
    assert parsed.attachments[0].content_type == "image/png"


def test_size_and_count_limits(settings):
    settings.MAIL_MAX_ATTACHMENT_BYTES = 100
    parsed = parse_email(with_attachment(PDF + b"x" * 200, "gros.pdf"))
    assert parsed.attachments == []
    assert parsed.rejected_attachments[0][0] == "gros.pdf"
    assert parsed.rejected_attachments[0][1].startswith("too large")

    settings.MAIL_MAX_ATTACHMENT_BYTES = 10_000
    settings.MAIL_MAX_ATTACHMENTS = 1
    msg = EmailMessage()
    msg["From"] = "jean@citoyen.example"
    msg.set_content("deux fichiers")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="a.pdf")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="b.pdf")
    parsed = parse_email(bytes(msg))
    assert [a.filename for a in parsed.attachments] == ["a.pdf"]
    assert parsed.rejected_attachments == [("b.pdf", "too many attachments (more than 1)")]


def test_zip_archives_follow_the_setting(settings):
    zipped = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 40
    assert refusal(zipped, "docs.zip", sniff_content_type(zipped, "docs.zip"))
    settings.MAIL_ALLOW_ZIP_ATTACHMENTS = True
    assert refusal(zipped, "docs.zip", sniff_content_type(zipped, "docs.zip")) == ""


def test_rfc2231_filename():
    raw = (
        b"From: jean@citoyen.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour\r\n"
        b"--b\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment;\r\n filename*0*=utf-8''Re%C3%A7u%20de%20d%C3%A9p%C3%B4t;\r\n"
        b" filename*1*=%20%E2%82%AC.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"JVBERi0xLjQKJSVFT0YK\r\n--b--\r\n"
    )
    parsed = parse_email(raw)
    assert [a.filename for a in parsed.attachments] == ["Reçu de dépôt €.pdf"]


def test_rfc2047_filename_in_a_parameter():
    raw = (
        b"From: jean@citoyen.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nBonjour\r\n"
        b'--b\r\nContent-Type: application/pdf; name="=?iso-8859-1?Q?d=E9claration.pdf?="\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJSVFT0YK\r\n--b--\r\n"
    )
    assert parse_email(raw).attachments[0].filename == "déclaration.pdf"


def test_clean_filename():
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("C:\\Users\\x\\scan.pdf") == "scan.pdf"
    assert clean_filename("", "application/pdf", 3) == "attachment-3.pdf"
    assert len(clean_filename("a" * 400 + ".pdf")) == 255
    assert clean_filename("a" * 400 + ".pdf").endswith(".pdf")


def test_sniffing_text_types():
    assert sniff_content_type(b"nom;prenom\nDupont;Jean\n", "liste.csv") == "text/csv"
    assert sniff_content_type(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "invite.ics") == "text/calendar"
    assert sniff_content_type(b"\x00\x01\x02garbage", "x.pdf") == "application/octet-stream"


def test_calendar_invite_is_kept_as_invite_ics():
    ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:RDV\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    msg = EmailMessage()
    msg["From"] = "jean@citoyen.example"
    msg["Subject"] = "Invitation"
    msg.set_content("Invitation au rendez-vous")
    msg.add_alternative(ics, maintype="text", subtype="calendar", params={"method": "REQUEST"})
    parsed = parse_email(bytes(msg))
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [("invite.ics", "text/calendar")]
    assert b"SUMMARY:RDV" in parsed.attachments[0].content


def test_inline_image_is_an_attachment_referenced_by_the_html():
    msg = EmailMessage()
    msg["From"] = "jean@citoyen.example"
    msg["Subject"] = "Photo"
    msg.set_content("Voir la photo")
    msg.add_alternative('<p>Voir</p><img src="cid:photo1@citoyen">', subtype="html")
    msg.get_payload()[1].add_related(PNG, maintype="image", subtype="png", cid="<photo1@citoyen>", filename="p.png")
    parsed = parse_email(bytes(msg))
    assert [a.filename for a in parsed.attachments] == ["p.png"]
    assert parsed.inline_images == {"photo1@citoyen": "p.png"}
    assert 'src="cid:photo1@citoyen"' in parsed.html


# --- TNEF (winmail.dat) ---------------------------------------------------------


def _tnef_attribute(level, attribute_id, attribute_type, data):
    header = struct.pack("<BHHI", level, attribute_id, attribute_type, len(data))
    return header + data + struct.pack("<H", sum(data) & 0xFFFF)


def build_tnef(files, body=b"Bonjour depuis Outlook\x00"):
    """A minimal TNEF stream (MS-OXTNEF): version, body, then one rendering /
    title / data triple per attached file."""
    data = struct.pack("<IH", 0x223E9F78, 0x0001)
    data += _tnef_attribute(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))  # attTnefVersion
    data += _tnef_attribute(1, 0x800C, 0x0002, body)  # attBody
    for name, content in files:
        data += _tnef_attribute(2, 0x9002, 0x0006, b"\x01\x00" + b"\xff" * 12)  # attAttachRendData
        data += _tnef_attribute(2, 0x8010, 0x0001, name.encode() + b"\x00")  # attAttachTitle
        data += _tnef_attribute(2, 0x800F, 0x0006, content)  # attAttachData
    return data


def test_unpack_tnef():
    text, html, files = unpack_tnef(build_tnef([("rapport.pdf", PDF), ("photo.png", PNG)]))
    assert text == "Bonjour depuis Outlook"
    assert html == ""
    assert [(f.filename, f.content_type, f.content) for f in files] == [
        ("rapport.pdf", "application/pdf", PDF),
        ("photo.png", "image/png", PNG),
    ]


def test_winmail_dat_is_unpacked_into_its_attachments():
    tnef = build_tnef([("rapport.pdf", PDF), ("virus.pdf", EXE)])
    parsed = parse_email(with_attachment(tnef, "winmail.dat", "application", "ms-tnef"))
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [("rapport.pdf", "application/pdf")]
    assert parsed.rejected_attachments == [("virus.pdf", "executable content (Windows executable)")]


def test_broken_winmail_dat_is_refused_not_fatal():
    parsed = parse_email(with_attachment(b"not tnef at all", "winmail.dat", "application", "ms-tnef"))
    assert parsed.rejection == ""
    assert parsed.attachments == []
    assert parsed.rejected_attachments[0][0] == "winmail.dat"
