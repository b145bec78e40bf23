"""Documents scanned by a real clamd (tests/support/clamd.py): clean ones can
be opened, infected ones are quarantined and the agents told, and while the
scanner is down documents wait, stored and closed, until it is back."""

import re
import shutil
from datetime import timedelta
from email.message import EmailMessage

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from channels_app.links import followup_token
from contacts.inbound import InboundAttachment
from contacts.models import AgentProfile, Attachment, Outbox, Ticket, TicketEvent
from contacts.services import ingest, reply, scanning
from contacts.services.outbox import deliver
from tests.support.clamd import EICAR, REPORTED, Clamd
from tests.support.processes import celery_worker, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CLEAN = b"Attestation de domicile\nMarie Durand, 1 rue des Lilas\n"


@pytest.fixture(scope="module")
def clamd_server():
    if shutil.which("clamd") is None:
        pytest.fail("clamd is missing: install Debian's clamav-daemon (.ci/debian-packages)")
    server = Clamd().start()
    yield server
    server.remove()


@pytest.fixture
def scanner(clamd_server, settings, eager_celery):
    """clamd running, the project pointed at it, scans run after commit."""
    if not clamd_server.ping():
        clamd_server.start()
    settings.CLAMAV_SOCKET = clamd_server.socket
    cache.clear()  # the form's rate limits
    yield clamd_server
    cache.clear()


@pytest.fixture
def agent(organisation):
    user = get_user_model().objects.create_user("agent-av", password="x")
    AgentProfile.objects.create(user=user, organisation=organisation)
    return user


def submit_form(client, filename, content):
    page = client.get("/contact/cd99/ecrire/").content.decode()
    token = re.search(r'name="submission" value="([^"]+)"', page).group(1)
    response = client.post(
        "/contact/cd99/ecrire/",
        {
            "submission": token,
            "name": "Marie Durand",
            "email": "marie.durand@citoyen.example",
            "postcode": "99100",
            "message": "Bonjour, voici mon justificatif pour mon dossier.",
            "preferred_channel": "email",
            "attachments": SimpleUploadedFile(filename, content, content_type="text/plain"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Ticket.objects.get()


def ticket_page(client, agent, ticket):
    client.force_login(agent)
    response = client.get(reverse("inbox:ticket", args=[ticket.reference]))
    assert response.status_code == 200
    return response.content.decode()


def download(client, agent, attachment):
    client.force_login(agent)
    return client.get(reverse("inbox:attachment", args=[attachment.pk]))


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_without_a_scanner_documents_are_not_scanned_and_open(make_inbound, settings, client, agent):
    settings.CLAMAV_SOCKET = settings.CLAMAV_HOST = ""
    ticket = ingest(make_inbound(attachments=[InboundAttachment("a.txt", "text/plain", CLEAN)])).ticket
    attachment = Attachment.objects.get(message__ticket=ticket)
    assert attachment.scan_state == Attachment.Scan.OFF
    assert body(download(client, agent, attachment)) == CLEAN
    assert scanning.sweep() == 0


def test_clean_document_from_the_form_is_scanned_and_opens(scanner, client, agent):
    ticket = submit_form(client, "attestation.txt", CLEAN)
    attachment = Attachment.objects.get(message__ticket=ticket)
    assert attachment.scan_state == Attachment.Scan.CLEAN
    assert attachment.scanned_at is not None
    page = ticket_page(client, agent, ticket)
    assert reverse("inbox:attachment", args=[attachment.pk]) in page
    assert "quarantaine" not in page and "Analyse antivirus" not in page
    assert body(download(client, agent, attachment)) == CLEAN
    citizen = client.get(f"/suivi/{followup_token(ticket)}/piece/{attachment.pk}/")
    assert citizen.status_code == 200 and body(citizen) == CLEAN


def assert_quarantined(client, agent, ticket, filename):
    attachment = Attachment.objects.get(message__ticket=ticket)
    assert attachment.scan_state == Attachment.Scan.INFECTED
    assert attachment.scan_detail == REPORTED
    # The content left the documents' folder for the quarantine, unchanged.
    assert attachment.file.name.startswith(scanning.QUARANTINE_PREFIX)
    assert not default_storage.exists(attachment.file.name[len(scanning.QUARANTINE_PREFIX) :])
    with default_storage.open(attachment.file.name) as handle:
        assert handle.read() == EICAR
    event = ticket.events.get(kind=TicketEvent.Kind.QUARANTINED)
    assert event.data == {"attachment": attachment.pk, "name": filename, "virus": REPORTED}

    page = ticket_page(client, agent, ticket)
    notice = f"Pièce jointe mise en quarantaine : virus détecté ({REPORTED})"
    assert page.count(notice) == 2  # on the document and on the event in the history
    assert reverse("inbox:attachment", args=[attachment.pk]) not in page

    refused = download(client, agent, attachment)
    assert refused.status_code == 403
    assert EICAR not in body(refused)
    assert notice in body(refused).decode()

    url = f"/suivi/{followup_token(ticket)}/"
    followup = client.get(url).content.decode()
    assert "Bloqué par notre antivirus" in followup
    assert f"piece/{attachment.pk}/" not in followup
    citizen = client.get(f"{url}piece/{attachment.pk}/")
    assert citizen.status_code == 403 and EICAR not in body(citizen)
    # Nothing serves the storage by URL, the quarantine least of all.
    assert client.get(f"/media/{attachment.file.name}").status_code == 404
    return attachment


def test_infected_document_from_the_form_is_quarantined(scanner, client, agent):
    ticket = submit_form(client, "eicar.txt", EICAR)
    assert_quarantined(client, agent, ticket, "eicar.txt")
    # The request itself went through: routed, acknowledged.
    assert ticket.events.filter(kind=TicketEvent.Kind.ROUTED).exists()


def test_infected_email_attachment_is_quarantined(scanner, organisation, client, agent):
    from mail.services import receive

    mail = EmailMessage()
    mail["From"] = "Marie Durand <marie.durand@citoyen.example>"
    mail["To"] = "contact@cd99.example"
    mail["Subject"] = "Mon dossier"
    mail["Message-ID"] = "<virus-1@citoyen.example>"
    mail.set_content("Bonjour, voici la pièce demandée.")
    mail.add_attachment(EICAR, maintype="text", subtype="plain", filename="facture.txt")
    received = receive(mail.as_bytes(), organisation=organisation)
    assert received.ticket is not None
    assert_quarantined(client, agent, received.ticket, "facture.txt")


def test_scanner_down_keeps_the_document_pending_then_scans_it_when_back(scanner, client, agent, settings):
    scanner.stop()
    ticket = submit_form(client, "attestation.txt", CLEAN)  # the citizen is not held up
    attachment = Attachment.objects.get(message__ticket=ticket)
    assert attachment.scan_state == Attachment.Scan.PENDING
    assert attachment.scan_attempts == 1
    assert "clamd unreachable" in attachment.scan_detail
    assert attachment.scan_due_at > timezone.now() + timedelta(seconds=settings.CLAMAV_RETRY_BASE_SECONDS * 0.8)
    with default_storage.open(attachment.file.name) as handle:
        assert handle.read() == CLEAN  # stored, whole

    page = ticket_page(client, agent, ticket)
    assert "Analyse antivirus en attente" in page
    assert reverse("inbox:attachment", args=[attachment.pk]) not in page
    assert download(client, agent, attachment).status_code == 403
    assert "Analyse antivirus en cours" in client.get(f"/suivi/{followup_token(ticket)}/").content.decode()

    # Still down at the next sweep: one more attempt, a longer wait.
    assert scanning.sweep(now=timezone.now() + timedelta(hours=1)) == 1
    attachment.refresh_from_db()
    assert (attachment.scan_state, attachment.scan_attempts) == (Attachment.Scan.PENDING, 2)
    assert scanning.sweep() == 0  # not due yet

    scanner.start()
    assert scanning.sweep(now=timezone.now() + timedelta(hours=1)) == 1
    attachment.refresh_from_db()
    assert attachment.scan_state == Attachment.Scan.CLEAN
    assert body(download(client, agent, attachment)) == CLEAN


def test_document_larger_than_the_scanner_takes_is_not_opened(scanner, make_inbound, settings, client, agent):
    settings.CLAMAV_STREAM_MAX_BYTES = len(CLEAN) - 1
    ticket = ingest(make_inbound(attachments=[InboundAttachment("a.txt", "text/plain", CLEAN)])).ticket
    attachment = Attachment.objects.get(message__ticket=ticket)
    assert attachment.scan_state == Attachment.Scan.FAILED
    assert "Analyse antivirus impossible" in ticket_page(client, agent, ticket)
    assert download(client, agent, attachment).status_code == 403


def test_an_agent_cannot_send_an_infected_document(scanner, make_inbound, agent, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ticket = ingest(make_inbound()).ticket
    answer = reply(ticket, agent, "Voici le document.", attachments=[InboundAttachment("x.txt", "text/plain", EICAR)])
    row = Outbox.objects.get(message=answer)
    assert row.status == Outbox.Status.FAILED
    assert f"antivirus infected ({REPORTED})" in row.last_error
    assert ticket.events.filter(kind=TicketEvent.Kind.QUARANTINED).exists()
    assert ticket.events.filter(kind=TicketEvent.Kind.DELIVERY_FAILED).exists()
    assert deliver(row.pk) is None  # never sent later either


def test_a_celery_worker_scans_after_commit(clamd_server, make_inbound, settings, tmp_path):
    from django.db import connection

    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis")
    if not clamd_server.ping():
        clamd_server.start()
    settings.CLAMAV_SOCKET = clamd_server.socket
    with celery_worker(tmp_path / "worker.log", CLAMAV_SOCKET=clamd_server.socket, MEDIA_ROOT=settings.MEDIA_ROOT):
        ticket = ingest(
            make_inbound(
                attachments=[
                    InboundAttachment("propre.txt", "text/plain", CLEAN),
                    InboundAttachment("virus.txt", "text/plain", EICAR),
                ]
            )
        ).ticket
        states = {a.filename: a.scan_state for a in Attachment.objects.filter(message__ticket=ticket)}
        assert set(states.values()) <= {Attachment.Scan.PENDING, Attachment.Scan.CLEAN, Attachment.Scan.INFECTED}

        def scanned():
            found = dict(Attachment.objects.filter(message__ticket=ticket).values_list("filename", "scan_state"))
            return found if Attachment.Scan.PENDING not in found.values() else None

        assert wait_until(scanned, message="both documents scanned by the worker") == {
            "propre.txt": Attachment.Scan.CLEAN,
            "virus.txt": Attachment.Scan.INFECTED,
        }
    assert ticket.events.filter(kind=TicketEvent.Kind.QUARANTINED, data__virus=REPORTED).count() == 1
