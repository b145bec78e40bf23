"""Hostile markup from citizens stays inert in a real browser.

Payloads come in through the real ingestion paths (raw MIME bytes through
mail.services.receive, as the IMAP listener and the webhook hand them; the
chat service a citizen's websocket calls; the public contact form typed in
the browser), then every page a person reads them on is opened: the agents'
inbox list, the ticket page (timeline, sanitised HTML, contact card, live
chat card), the citizen's follow-up page, the admin page of the message.

Every payload calls ``alert(N)`` with its own number. An init script, run in
every frame before the page's own scripts, replaces ``alert`` by a recorder
(``window.__xss``) and records CSP violations (on the public pages, a payload
that got through as markup shows up there even though the CSP blocks it);
real dialogs, page errors and "Refused to execute" console messages are
recorded too. A page passes when nothing ran and the payload reads as text.
"""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from playwright.sync_api import expect

from channels_app.chat import services as chat
from channels_app.links import followup_token
from contacts.models import AgentProfile, Contact, Message, Ticket
from kb.importer import import_files
from kb.models import Organisation, Service
from mail.services import receive

pytestmark = [pytest.mark.slow]

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
PASSWORD = "mot-de-passe-xss"

HOOK = """
(() => {
  window.__xss = [];
  const record = (what) => {
    window.__xss.push(String(what));
    try { if (window.top !== window && window.top.__xss) { window.top.__xss.push(String(what)); } } catch (e) {}
  };
  window.alert = window.confirm = window.prompt = (value) => record("alert:" + value);
  document.addEventListener("securitypolicyviolation", (e) =>
    record("csp:" + e.violatedDirective + " " + e.blockedURI + " " + (e.sample || "")));
})();
"""

# -- the payloads ---------------------------------------------------------------------------

SUBJECT = "<img src=x onerror=alert(40)> Mon RSA"
SENDER_NAME = "<svg onload=alert(41)>"
PLAIN = "Bonjour <script>alert(30)</script> texte brut piégé <img src=x onerror=alert(31)>"
HTML = """<html><head>
<meta http-equiv="refresh" content="0;url=javascript:alert(1)">
<base href="javascript:alert(2)//">
<style>body { background: url("javascript:alert(3)") }</style>
<script>alert(4)</script>
</head><body onload="alert(5)">
<p>Bonjour, voici ma demande de RSA.</p>
<img src=x onerror="alert(6)">
<svg onload="alert(7)"><circle r="1"/></svg>
<a href="javascript:alert(8)">Lien piégé</a>
<a href="jav&#x09;ascript:alert(9)">Lien tabulé</a>
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxMCk8L3NjcmlwdD4=">Lien data</a>
<iframe src="javascript:alert(11)"></iframe>
<iframe srcdoc="&lt;script&gt;alert(12)&lt;/script&gt;"></iframe>
<div style="width: expression(alert(13)); background-image: url(javascript:alert(14))">Texte stylé</div>
<details open ontoggle="alert(15)"><summary>Détails</summary>contenu</details>
<math><mtext><table><mglyph><style><img src=x onerror=alert(16)></style></mglyph></table></mtext></math>
<form action="javascript:alert(17)"><button formaction="javascript:alert(17)">Bouton piégé</button></form>
<object data="javascript:alert(18)"></object><embed src="javascript:alert(19)">
<input autofocus onfocus="alert(20)">
<noscript><p title="</noscript><img src=x onerror=alert(21)>"></noscript>
<p>Fin du message piégé.</p>
</body></html>"""

CHAT_FIRST = "<script>alert(50)</script>Mon RSA n'est pas versé"
CHAT_NAME = "<img src=x onerror=alert(51)>"
CHAT_LATER = '<img src=x onerror=alert(52)> <a href="javascript:alert(53)">lien</a> encore moi'

FORM_NAME = "<img src=x onerror=alert(60)>"
FORM_MESSAGE = "<script>alert(61)</script> <svg onload=alert(62)> mon RSA n'est pas arrivé"


def raw_email():
    return (
        (
            'From: "{name}" <pirate@example.org>\r\n'
            "To: contact@cd99.example\r\n"
            "Subject: {subject}\r\n"
            "Message-ID: <xss-1@example.org>\r\n"
            "Date: Tue, 01 Dec 2026 09:00:00 +0000\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: multipart/alternative; boundary="b"\r\n'
            "\r\n"
            "--b\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            "\r\n"
            "{plain}\r\n"
            "--b\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            "\r\n"
            "{html}\r\n"
            "--b--\r\n"
        )
        .format(name=SENDER_NAME, subject=SUBJECT, plain=PLAIN, html=HTML.replace("\n", "\r\n"))
        .encode()
    )


# -- the watch ------------------------------------------------------------------------------


class Watch:
    """What ran in a page: the recorder's entries of every frame, dialogs,
    uncaught errors and the browser's "Refused to ..." CSP messages."""

    def __init__(self, page):
        self.page = page
        self.events = []
        page.add_init_script(HOOK)
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.events.append(f"pageerror: {error}"))
        page.on("console", self._console)

    def _dialog(self, dialog):
        self.events.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def _console(self, message):
        if "Refused to" in message.text or "alert" in message.text:
            self.events.append(f"console: {message.text}")

    def ran(self):
        self.page.wait_for_timeout(300)  # onerror of a broken image, ontoggle, autofocus
        ran = list(self.events)
        for frame in self.page.frames:
            try:
                ran += frame.evaluate("window.__xss || []")
            except Exception as error:  # noqa: BLE001 (a detached or foreign frame)
                ran.append(f"frame {frame.url}: {error}")
        return ran

    def assert_inert(self, where):
        ran = self.ran()
        assert ran == [], f"script ran on {where} ({self.page.url}): {ran}"


@pytest.fixture
def watch(page):
    return Watch(page)


@pytest.fixture
def kb(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    from channels_app.portal import search

    search.reset_cache()
    import_files([DATASETS / "cd99.yaml", DATASETS / "partners.yaml"])
    organisation = Organisation.objects.get(slug="cd99")
    user = get_user_model().objects.create_superuser("chef-xss", email="chef@cd99.example", password=PASSWORD)
    AgentProfile.objects.create(
        user=user, organisation=organisation, role=AgentProfile.Role.ADMINISTRATOR
    ).services.set(Service.objects.filter(organisation=organisation))
    return organisation


def log_in(page, live_server):
    page.goto(f"{live_server.url}/agents/connexion/")
    page.get_by_label("Nom d’utilisateur").fill("chef-xss")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Mes demandes")).to_be_visible()


def body_text(page):
    return page.locator("body").inner_text()


def agent_pages(page, live_server, watch, ticket, texts):
    """The inbox list and the ticket page: nothing runs, ``texts`` read as text."""
    page.goto(f"{live_server.url}/agents/?view=all")
    expect(page.get_by_role("link", name=ticket.reference)).to_be_visible()
    watch.assert_inert("the inbox list")
    row = page.locator("tr", has=page.get_by_role("link", name=ticket.reference))
    assert ticket.contact.name and ticket.contact.name in row.inner_text()

    page.get_by_role("link", name=ticket.reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(ticket.reference)
    watch.assert_inert("the ticket page")
    shown = body_text(page)
    for text in texts:
        assert text in shown, f"{text!r} is not shown as text on the ticket page"


# -- the tests ------------------------------------------------------------------------------


def test_the_watch_sees_a_script_that_runs(page, watch):
    """The detection itself: unsanitised markup in a page is caught."""
    page.goto(
        "data:text/html,<p>x</p><img src=x onerror=alert(99)><iframe srcdoc='<script>alert(98)</script>'></iframe>"
    )
    ran = watch.ran()
    assert "alert:99" in ran and "alert:98" in ran, ran


def test_a_hostile_email_is_inert_on_every_page(kb, live_server, page, watch, axe_check):
    received = receive(raw_email(), organisation=kb)
    assert received.outcome == "created", received.reason
    ticket = Ticket.objects.get(pk=received.ticket.pk)
    message = ticket.messages.get()
    assert Contact.objects.get(pk=ticket.contact_id).name == SENDER_NAME
    assert message.subject == SUBJECT
    stored = message.body_html
    for dangerous in ("<script", "onerror", "onload", "ontoggle", "javascript:", "<iframe", "srcdoc", "<style"):
        assert dangerous not in stored.lower(), f"{dangerous} stored in the sanitised HTML: {stored}"
    # A style attribute may keep "width:expression(...)" (nh3 filters style
    # properties, not their values): inert in every browser since IE 8, and
    # the ticket page drops style attributes altogether (checked below).

    log_in(page, live_server)
    agent_pages(
        page,
        live_server,
        watch,
        ticket,
        [SUBJECT, SENDER_NAME, "Bonjour, voici ma demande de RSA.", "Fin du message piégé.", "Texte stylé"],
    )
    # The neutralised links are still there as text; following them does nothing.
    timeline = page.locator(".timeline")
    for name in ("Lien piégé", "Lien tabulé", "Lien data"):
        link = timeline.get_by_text(name, exact=True)
        expect(link).to_be_visible()
        href = link.get_attribute("href") or ""
        assert not re.match(r"\s*(javascript|data|vbscript):", href, re.I), href
        link.click()
    timeline.get_by_text("Détails", exact=True).click()
    assert page.url.endswith(f"/agents/demandes/{ticket.reference}/")
    watch.assert_inert("the ticket page, after clicking the links")
    live_markup = page.evaluate(
        """() => Array.from(document.querySelectorAll('.timeline *')).flatMap((node) =>
            Array.from(node.attributes)
              .filter((a) => /^on/i.test(a.name) || a.name === 'style' || a.name === 'srcdoc'
                || /^\\s*(javascript|data|vbscript):/i.test(a.value))
              .map((a) => node.tagName + ' ' + a.name + '=' + a.value))"""
    )
    assert live_markup == [], live_markup
    assert (
        page.locator(".timeline script, .timeline iframe, .timeline object, .timeline embed, .timeline svg").count()
        == 0
    )
    axe_check(page)

    # The citizen's follow-up page shows their text as text.
    page.goto(f"{live_server.url}/suivi/{followup_token(ticket)}/")
    shown = body_text(page)
    assert SUBJECT in shown
    assert message.body_text.strip() and message.body_text.strip().splitlines()[0] in shown
    watch.assert_inert("the follow-up page")

    # The administration's page of the message.
    page.goto(f"{live_server.url}/admin/contacts/message/{message.pk}/change/")
    expect(page.locator("#id_subject")).to_have_value(SUBJECT)
    assert "<script" not in page.locator("#id_body_html").input_value().lower()
    watch.assert_inert("the admin page of the message")
    page.goto(f"{live_server.url}/admin/contacts/contact/{ticket.contact_id}/change/")
    expect(page.locator("#id_name")).to_have_value(SENDER_NAME)
    page.goto(f"{live_server.url}/admin/contacts/ticket/{ticket.pk}/change/")
    assert SUBJECT in page.locator("#id_subject").input_value()
    watch.assert_inert("the admin pages of the contact and the ticket")


def test_a_hostile_chat_is_inert_for_the_agent_and_the_citizen(kb, live_server, page, watch):
    conversation = chat.start(kb)
    chat.citizen_says(conversation, "c-1", CHAT_FIRST)
    chat.hand_over(conversation, name=CHAT_NAME, email="chat@example.org")
    conversation.refresh_from_db()
    chat.citizen_says(conversation, "c-2", CHAT_LATER)
    ticket = Ticket.objects.get(pk=conversation.ticket_id)
    assert ticket.messages.count() == 2

    log_in(page, live_server)
    agent_pages(page, live_server, watch, ticket, [CHAT_NAME, "Mon RSA n'est pas versé", CHAT_LATER])
    # The live chat card: the agent takes the conversation.
    page.get_by_role("button", name="Répondre dans la discussion").click()
    expect(page.locator("#chat-status")).to_contain_text("chef-xss")
    assert CHAT_LATER in body_text(page)
    watch.assert_inert("the ticket page with the live chat")

    page.goto(f"{live_server.url}/suivi/{followup_token(ticket)}/")
    shown = body_text(page)
    assert CHAT_LATER in shown and "<script>alert(50)</script>" in shown
    watch.assert_inert("the follow-up page")

    message = ticket.messages.order_by("created_at").last()
    page.goto(f"{live_server.url}/admin/contacts/message/{message.pk}/change/")
    assert CHAT_LATER in page.locator("#id_body_text").input_value()
    watch.assert_inert("the admin page of the chat message")


def test_a_hostile_contact_form_is_inert_on_every_page(kb, live_server, page, watch):
    page.goto(f"{live_server.url}/contact/cd99/ecrire/")
    page.get_by_label("Votre nom").fill(FORM_NAME)
    page.get_by_label("Adresse e-mail").fill("pirate@example.org")
    page.get_by_label("Votre message").fill(FORM_MESSAGE)
    page.get_by_role("button", name="Envoyer ma demande").click()
    reference = page.locator("#reference").inner_text()
    watch.assert_inert("the thank-you page")
    ticket = Ticket.objects.get(reference=reference)
    assert ticket.contact.name == FORM_NAME

    page.get_by_role("link", name="Suivre ma demande").click()
    assert FORM_MESSAGE in body_text(page)
    watch.assert_inert("the follow-up page")

    log_in(page, live_server)
    agent_pages(page, live_server, watch, ticket, [FORM_NAME, FORM_MESSAGE])

    message = Message.objects.get(ticket=ticket)
    page.goto(f"{live_server.url}/admin/contacts/message/{message.pk}/change/")
    assert FORM_MESSAGE in page.locator("#id_body_text").input_value()
    watch.assert_inert("the admin page of the form message")
