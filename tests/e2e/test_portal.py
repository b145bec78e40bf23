"""The citizen's path in a real browser: search, question, orientation, form
with a document, reference, follow-up page and reply; the form embedded in
another site; keyboard only; axe-core on every page."""

import re
from pathlib import Path

import pytest
from django.core.cache import cache

from channels_app.models import Widget
from contacts.models import Ticket
from kb.importer import import_files
from kb.models import Organisation

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def kb(transactional_db):
    cache.clear()
    from channels_app.portal import search

    search.reset_cache()
    import_files([DATASETS / "cd99.yaml", DATASETS / "partners.yaml"])
    return Organisation.objects.get(slug="cd99")


def test_search_answer_orientation_form_reference_followup_reply(live_server, page, axe_check, kb, tmp_path):
    page.goto(f"{live_server.url}/")  # the site's front page: whom to contact
    axe_check(page)
    page.get_by_role("link", name=kb.name).click()
    assert page.url == f"{live_server.url}/contact/cd99/"
    axe_check(page)
    page.get_by_label("Décrivez votre problème en quelques mots").fill("rsa")
    page.wait_for_selector("#results .hits a")  # typed, not submitted: search as you type
    first = page.locator("#results .hits a").first
    assert first.inner_text() == "RSA (revenu de solidarité active)"  # the exact keyword first
    first.click()
    assert page.locator("h1").inner_text().startswith("RSA")
    axe_check(page)

    page.get_by_role("link", name="Mon RSA n'est pas arrivé ou a été suspendu").click()
    assert page.locator("h1").inner_text() == "RSA non versé, en retard ou suspendu"
    assert page.get_by_role("heading", name="Votre interlocuteur").is_visible()
    axe_check(page)

    page.get_by_role("link", name="Écrire au service").click()
    axe_check(page)
    page.get_by_label("Votre nom").fill("Léa Martin")
    page.get_by_label("Adresse e-mail").fill("lea.martin@example.org")
    page.get_by_label("Votre message").fill("Bonjour, mon RSA n'a pas été versé ce mois-ci.")
    document = tmp_path / "avis-caf.pdf"
    document.write_bytes(PDF)
    page.get_by_label("Documents (facultatif)").set_input_files(str(document))
    page.get_by_role("button", name="Envoyer ma demande").click()

    reference = page.locator("#reference").inner_text()
    assert re.fullmatch(r"CD99-\d{4}-\d{6}", reference)
    axe_check(page)
    ticket = Ticket.objects.get(reference=reference)
    assert ticket.topic.slug == "rsa-versement"
    assert ticket.messages.get().attachments.get().filename == "avis-caf.pdf"

    page.get_by_role("link", name="Suivre ma demande").click()
    assert page.locator("#status").inner_text() == "Nouveau" or page.locator("#status").is_visible()
    axe_check(page)
    page.get_by_label("Votre message").fill("J'ajoute mon attestation.")
    page.get_by_role("button", name="Envoyer", exact=True).click()
    assert page.get_by_text("Votre message a été ajouté à votre demande.").is_visible()
    assert page.get_by_text("J'ajoute mon attestation.").is_visible()
    assert ticket.messages.count() == 2


def test_errors_are_announced_next_to_the_fields(live_server, page, axe_check, kb):
    page.goto(f"{live_server.url}/contact/cd99/ecrire/")
    page.get_by_label("Votre nom").fill("Léa")
    page.get_by_label("Adresse e-mail").fill("lea@")
    page.get_by_role("button", name="Envoyer ma demande").click()
    summary = page.locator("#erreurs")
    assert summary.is_visible()
    assert page.evaluate("document.activeElement.id") == "erreurs"  # focus moved to the summary
    email = page.get_by_label("Adresse e-mail")
    assert email.get_attribute("aria-invalid") == "true"
    assert "valide" in page.locator("#id_email_error").inner_text()
    axe_check(page)
    assert Ticket.objects.count() == 0


def test_keyboard_only(live_server, page, kb):
    page.goto(f"{live_server.url}/contact/cd99/ecrire/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Aller au contenu"
    page.keyboard.press("Enter")

    def tab_to(element_id):
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == element_id:
                return
        raise AssertionError(f"{element_id} is not reachable with the keyboard")

    tab_to("id_name")
    page.keyboard.type("Paul Durand")
    tab_to("id_email")
    page.keyboard.type("paul@example.org")
    tab_to("id_message")
    page.keyboard.type("Ma carte de transport scolaire n'est pas arrivée.")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent").strip() == "Envoyer ma demande":
            break
    page.keyboard.press("Enter")
    assert re.fullmatch(r"CD99-\d{4}-\d{6}", page.locator("#reference").inner_text())
    assert Ticket.objects.count() == 1


def test_form_embedded_in_another_site(live_server, page, axe_check, kb, other_origin):
    widget = Widget.objects.create(organisation=kb, name="Site", key="site-test", allowed_origins=[other_origin.url])
    (other_origin.folder / "index.html").write_text(
        '<!DOCTYPE html><html lang="fr"><head><title>Site de la commune</title></head><body><main>'
        "<h1>Nous contacter</h1>"
        f'<div data-aiguillage-widget="{widget.key}"></div>'
        f'<script src="{live_server.url}/static/portal/embed.js"></script>'
        "</main></body></html>",
        encoding="utf-8",
    )
    page.goto(f"{other_origin.url}/index.html")
    frame = page.frame_locator("iframe")
    frame.get_by_label("Décrivez votre problème en quelques mots").wait_for()
    page.wait_for_function("document.querySelector('iframe').getBoundingClientRect().height > 420")
    frame.get_by_role("link", name="Nous écrire").click()
    frame.get_by_label("Votre nom").fill("Léa")
    frame.get_by_label("Adresse e-mail").fill("lea@example.org")
    frame.get_by_label("Votre message").fill("Question sur la cantine.")
    frame.get_by_role("button", name="Envoyer ma demande").click()
    assert re.fullmatch(r"CD99-\d{4}-\d{6}", frame.locator("#reference").inner_text())
    axe_check(page)


def test_widget_refuses_to_be_framed_by_another_origin(live_server, page, kb, other_origin):
    widget = Widget.objects.create(
        organisation=kb, name="Autre", key="autre", allowed_origins=["https://www.cd99.example"]
    )
    (other_origin.folder / "index.html").write_text(
        f'<!DOCTYPE html><html lang="fr"><head><title>x</title></head><body>'
        f'<iframe title="form" src="{live_server.url}/w/{widget.key}/"></iframe></body></html>',
        encoding="utf-8",
    )
    page.goto(f"{other_origin.url}/index.html")
    page.wait_for_timeout(1000)
    frame = page.frames[1]
    assert frame.url in ("", "about:blank", "chrome-error://chromewebdata/") or frame.locator("#q").count() == 0
