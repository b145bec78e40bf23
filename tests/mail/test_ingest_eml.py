import json
import mailbox as mailbox_lib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from contacts.models import Contact, Message, Outbox, Ticket
from contacts.services import reply
from mail.models import Mailbox, RawMessage
from tests.support.emails import citizen_email

CORPUS = Path(settings.BASE_DIR).parent / "shared" / "mail-corpus"


def run(capsys, *args):
    call_command("ingest_eml", *args)
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.django_db
def test_files_directories_and_mbox_in_name_order(tmp_path, capsys, organisation):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "b.eml").write_bytes(citizen_email(2))
    (folder / "a.eml").write_bytes(citizen_email(1))
    box = mailbox_lib.mbox(str(tmp_path / "archive.mbox"))
    box.add(citizen_email(3))
    box.add(citizen_email(4))
    box.flush()

    summary = run(capsys, str(folder), str(tmp_path / "archive.mbox"), "--organisation", "cd99")

    assert summary == {
        "files": 3,
        "tickets_created": 4,
        "messages_threaded": 0,
        "duplicates": 0,
        "auto_replies": 0,
        "bounces": 0,
        "rejected": [],
    }
    first, second = Ticket.objects.order_by("reference")[:2]
    assert (first.subject, second.subject) == ("Demande numéro 1", "Demande numéro 2")
    assert run(capsys, str(folder), "--organisation", "cd99")["duplicates"] == 2


@pytest.mark.django_db
def test_a_message_without_sender_opens_a_ticket_nobody_is_told_of(tmp_path, capsys, organisation):
    (tmp_path / "anonymous.eml").write_bytes(
        b"Subject: Nid de poule rue des Lilas\r\nMessage-ID: <anon-1@example.org>\r\n\r\nIl est profond.\r\n"
    )

    summary = run(capsys, str(tmp_path), "--organisation", "cd99")

    assert summary["tickets_created"] == 1 and summary["rejected"] == []
    ticket = Ticket.objects.get()
    assert ticket.subject == "Nid de poule rue des Lilas"
    assert ticket.messages.get().body_text == "Il est profond."
    assert (ticket.contact.email, ticket.contact.phone) == ("", "")
    assert not Outbox.objects.exists()  # nobody to acknowledge


@pytest.mark.django_db
def test_mailbox_is_created_and_its_own_mail_never_opens_a_ticket(tmp_path, capsys, organisation):
    (tmp_path / "own.eml").write_bytes(citizen_email(1, sender="accueil@cd99.example"))

    summary = run(capsys, str(tmp_path), "--organisation", "cd99", "--mailbox", "Accueil@cd99.example")

    assert Mailbox.objects.get(address="accueil@cd99.example").organisation == organisation
    assert summary["auto_replies"] == 1
    assert Ticket.objects.count() == 0


@pytest.mark.django_db
def test_out_of_office_reply_is_kept_on_its_ticket_and_not_acknowledged(tmp_path, capsys, organisation, admin_user):
    (tmp_path / "1.eml").write_bytes(citizen_email(1))
    run(capsys, str(tmp_path / "1.eml"), "--organisation", "cd99")
    ticket = Ticket.objects.get()
    answer = reply(ticket, admin_user, "Bonjour, pouvez-vous préciser ?")
    outbox_before = Outbox.objects.count()
    (tmp_path / "2.eml").write_bytes(
        citizen_email(
            2,
            sender="citoyen1@citoyen.example",
            subject="Réponse automatique : absence du bureau",
            extra_headers=f"Auto-Submitted: auto-replied\r\nIn-Reply-To: {answer.external_id}\r\n",
        )
    )

    summary = run(capsys, str(tmp_path / "2.eml"), "--organisation", "cd99")

    assert summary["auto_replies"] == 1
    assert Ticket.objects.count() == 1
    assert ticket.messages.filter(direction="in").count() == 2
    assert Outbox.objects.count() == outbox_before


@pytest.mark.django_db
def test_bounce_of_our_reply_is_attached_to_it_and_flags_the_address(tmp_path, capsys, organisation, admin_user):
    (tmp_path / "1.eml").write_bytes(citizen_email(1))
    run(capsys, str(tmp_path / "1.eml"), "--organisation", "cd99")
    ticket = Ticket.objects.get()
    answer = reply(ticket, admin_user, "Bonjour")
    dsn = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.citoyen.example>\r\n"
        "To: contact@cd99.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.citoyen.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.citoyen.example\r\n\r\n"
        "Final-Recipient: rfc822; citoyen1@citoyen.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {answer.external_id}\r\nSubject: Re: Demande\r\n"
        "--B--\r\n"
    ).encode()
    (tmp_path / "dsn.eml").write_bytes(dsn)

    summary = run(capsys, str(tmp_path / "dsn.eml"), "--organisation", "cd99")

    assert summary["bounces"] == 1
    assert Ticket.objects.count() == 1
    assert ticket.events.filter(kind="delivery_failed").exists()
    assert Outbox.objects.get(message=answer).delivery_status == "bounced"
    assert Contact.objects.get().email_bounced_at is not None


@pytest.mark.django_db
def test_unknown_organisation_or_path_is_a_clear_error(tmp_path, organisation):
    with pytest.raises(CommandError, match="unknown organisation 'nope'"):
        call_command("ingest_eml", str(tmp_path), "--organisation", "nope")
    with pytest.raises(CommandError, match="no such file or directory"):
        call_command("ingest_eml", str(tmp_path / "missing.eml"), "--organisation", "cd99")


@pytest.mark.django_db
def test_the_whole_mail_corpus_ingests_without_error(capsys, organisation):
    folders = [str(path) for path in sorted(CORPUS.iterdir()) if path.is_dir() and path.name != "reply-fragments"]
    files = [path for folder in folders for path in Path(folder).rglob("*") if path.is_file()]

    summary = run(capsys, *folders, "--organisation", "cd99")

    assert summary["files"] == len(files)
    stored = RawMessage.objects.count()
    handled = sum(
        summary[key] for key in ("tickets_created", "messages_threaded", "duplicates", "auto_replies", "bounces")
    )
    assert handled + len(summary["rejected"]) >= summary["files"]
    assert all(item["reason"] for item in summary["rejected"])
    assert stored == RawMessage.objects.exclude(status="pending").count()
    for message in Message.objects.select_related("ticket__contact"):
        assert message.ticket.subject or message.body_text or message.ticket.contact.email
