"""A manager in a real browser: opens the indicators, changes the period and
the service, drills down from a figure to the requests behind it and opens
one, downloads the XLSX; axe-core finds no serious or critical violation."""

import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.e2e.conftest import ARTEFACTS
from tests.inbox.world import PASSWORD
from tests.indicators.world import build_indicator_world


@pytest.fixture
def world(live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return build_indicator_world()


def figure(page, label):
    return page.locator(".figure", has=page.get_by_text(label, exact=True)).locator(".value")


@pytest.mark.slow
def test_manager_reads_filters_drills_down_and_downloads(world, live_server, page, axe_check, tmp_path):
    page.goto(f"{live_server.url}/indicateurs/?du=2026-03-30&au=2026-04-05")
    expect(page).to_have_url(re.compile(r"/agents/connexion/\?next="))
    page.get_by_label("Nom d’utilisateur").fill("mona")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    expect(page.get_by_role("heading", name="Indicateurs de qualité", level=1)).to_be_visible()
    expect(figure(page, "Demandes reçues").first).to_have_text(re.compile(r"^6\b"))
    expect(page.get_by_role("img", name=re.compile("Par canal"))).to_have_count(2)  # volumes, orientation
    axe_check(page)
    page.screenshot(path=str(ARTEFACTS / "indicators_dashboard.png"), full_page=True)

    # Another period and one service: the figures follow.
    page.get_by_label("Du", exact=True).fill("2026-03-30")
    page.get_by_label("Au", exact=True).fill("2026-04-03")
    page.get_by_label("Service", exact=True).select_option(label="Direction de l'autonomie")
    page.get_by_role("button", name="Afficher").click()
    expect(page).to_have_url(re.compile(r"au=2026-04-03.*service=autonomie"))
    expect(figure(page, "Demandes reçues").first).to_have_text(re.compile(r"^3\b"))
    expect(page.get_by_text("Du 30 mars 2026 au 3 avril 2026")).to_be_visible()

    # Drill down: the transferred request, then its page in the inbox.
    t3 = world.tickets["t3"]
    figure(page, "Demandes transférées").get_by_role("link").click()
    expect(page.get_by_role("heading", name="Demandes transférées", level=1)).to_be_visible()
    expect(page.get_by_role("link", name=t3.reference)).to_be_visible()
    expect(page.get_by_role("row")).to_have_count(2)  # header and one request
    axe_check(page)
    page.get_by_role("link", name=t3.reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(t3.reference)

    # Every table in one workbook.
    page.go_back()
    page.get_by_role("link", name="Retour aux indicateurs").click()
    with page.expect_download() as info:
        page.get_by_role("link", name="Télécharger tous les tableaux (XLSX)").click()
    download = info.value
    assert download.suggested_filename == "indicateurs-2026-03-30-2026-04-03.xlsx"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    workbook = load_workbook(target)
    rows = list(workbook["Volumes"].iter_rows(values_only=True))
    assert rows[:2] == [("Chiffre", "Valeur", "Unité", "Période précédente"), ("Demandes reçues", 3, None, 0)]
