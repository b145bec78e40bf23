"""The dashboard, the drill-down, exports and the JSON API: who may read
them, what they show, and clear French errors."""

import io

import pytest
from openpyxl import load_workbook

WEEK = {"du": "2026-03-30", "au": "2026-04-05"}


@pytest.fixture
def as_user(client, world):
    def log_in(name):
        client.force_login(world.users[name])
        return client

    return log_in


def test_anonymous_is_sent_to_the_login_page(client, world):
    response = client.get("/indicateurs/")
    assert response.status_code == 302
    assert response["Location"].startswith("/agents/connexion/?next=/indicateurs/")
    assert client.get("/indicateurs/api/volumes/").status_code == 403


def test_an_agent_is_refused_in_french(as_user):
    client = as_user("alice")
    response = client.get("/indicateurs/", WEEK)
    assert response.status_code == 403
    assert "Les indicateurs sont réservés aux responsables" in response.content.decode()
    assert client.get("/indicateurs/demandes/", WEEK).status_code == 403
    assert client.get("/indicateurs/export/volumes/channel.csv", WEEK).status_code == 403
    assert client.get("/indicateurs/api/volumes/", WEEK).status_code == 403


def test_the_manager_reads_the_dashboard(as_user, world):
    response = as_user("mona").get("/indicateurs/", WEEK)
    assert response.status_code == 200
    page = response.content.decode()
    assert response["Content-Security-Policy"].startswith("default-src 'self'")
    assert "Indicateurs de qualité" in page
    assert "Demandes reçues" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"' in page
    assert "Période précédente" in page
    assert "Commune voisine" not in page  # no organisation choice for a manager
    # The figure links to the tickets behind it, with the filters kept.
    assert "/indicateurs/demandes/?du=2026-03-30&amp;au=2026-04-05&amp;organisation=demo&amp;liste=created" in page


def test_drill_down_lists_the_visible_tickets_with_links_to_the_ticket_page(as_user, world):
    client = as_user("mona")
    response = client.get("/indicateurs/demandes/", {**WEEK, "liste": "transferred"})
    page = response.content.decode()
    assert response.status_code == 200
    assert f'href="/agents/demandes/{world.tickets["t3"].reference}/"' in page
    assert world.tickets["x1"].reference not in page
    assert "1 demande, du 30 mars 2026 au 5 avril 2026." in page
    response = client.get("/indicateurs/demandes/", {**WEEK, "liste": "created", "heure": "14"})
    page = response.content.decode()
    assert world.tickets["t4"].reference in page and world.tickets["t6"].reference in page
    assert world.tickets["t1"].reference not in page


def test_the_other_organisations_manager_sees_only_theirs(as_user, world):
    client = as_user("olga")
    page = client.get("/indicateurs/demandes/", {**WEEK, "liste": "created"}).content.decode()
    assert world.tickets["x1"].reference in page
    assert world.tickets["t1"].reference not in page
    response = client.get("/indicateurs/", {**WEEK, "organisation": "demo"})
    assert response.status_code == 400
    assert "Organisation inconnue « demo »." in response.content.decode()


def test_bad_filters_get_clear_french_errors(as_user):
    client = as_user("mona")
    response = client.get("/indicateurs/", {"du": "2026-13-01", "au": "2026-04-05", "canal": "pigeon"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "La date de début « 2026-13-01 » n’est pas une date : écrivez-la sous la forme AAAA-MM-JJ." in page
    assert "Canal inconnu « pigeon »." in page
    response = client.get("/indicateurs/", {"du": "2026-04-05", "au": "2026-03-30"})
    assert "La date de début ne doit pas être après la date de fin." in response.content.decode()
    response = client.get("/indicateurs/", {"du": "2024-01-01", "au": "2026-03-30"})
    assert "La période est trop longue : 366 jours au plus." in response.content.decode()
    response = client.get("/indicateurs/", {**WEEK, "service": "inconnu", "jours": "0"})
    page = response.content.decode()
    assert "Service inconnu « inconnu »." in page
    assert "Le nombre de jours ouvrés doit être un nombre entier de 1 à 60." in page
    response = client.get("/indicateurs/demandes/", {**WEEK, "liste": "rien"})
    assert response.status_code == 400
    assert "Liste inconnue « rien »." in response.content.decode()
    response = client.get("/indicateurs/api/sla/", {"du": "hier"})
    assert response.status_code == 400
    assert response.json() == {
        "errors": ["La date de début « hier » n’est pas une date : écrivez-la sous la forme AAAA-MM-JJ."]
    }


def test_csv_export(as_user):
    response = as_user("mona").get("/indicateurs/export/volumes/channel.csv", WEEK)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="indicateurs-volumes-channel-2026-03-30-2026-04-05.csv"' in response["Content-Disposition"]
    assert response.content.decode("utf-8-sig").splitlines() == [
        "Canal;Demandes",
        "Courriel;3",
        "Messagerie instantanée;1",
        "Formulaire de contact;1",
        "Courrier;1",
    ]
    response = as_user("mona").get("/indicateurs/export/times/chiffres.csv", WEEK)
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "Chiffre;Valeur;Unité;Période précédente"
    assert "Première réponse, médiane;1,0;h;2,0" in lines


def test_xlsx_exports(as_user):
    client = as_user("mona")
    response = client.get("/indicateurs/export/sla/priority.xlsx", WEEK)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["Priorité", "À temps", "En retard ou dépassées", "Part à temps (%)"],
        ["Normale", 2, 3, 40],
        ["Urgente", 1, 0, 100],
    ]
    response = client.get("/indicateurs/export.xlsx", WEEK)
    workbook = load_workbook(io.BytesIO(response.content))
    assert "Volumes" in workbook.sheetnames
    assert len(workbook.sheetnames) > 20
    assert client.get("/indicateurs/export/sla/nothing.xlsx", WEEK).status_code == 404


def test_json_api(as_user):
    response = as_user("mona").get("/indicateurs/api/transfers/", WEEK)
    assert response.status_code == 200
    data = response.json()
    assert data["period"] == {"start": "2026-03-30", "end": "2026-04-05"}
    assert data["previous_period"] == {"start": "2026-03-23", "end": "2026-03-29"}
    figures = {f["key"]: (f["value"], f["previous"]) for f in data["figures"]}
    assert figures == {"once": (16.7, 0.0), "twice": (16.7, 0.0), "transferred": (1, 0)}
    assert data["tables"][0]["rows"] == [
        ["Accueil général", "Direction de l'insertion et de l'emploi", 1],
        ["Direction de l'insertion et de l'emploi", "Direction de l'autonomie", 1],
    ]
    response = as_user("mona").get("/indicateurs/api/nothing/", WEEK)
    assert response.status_code == 404
    assert response.json() == {"errors": ["Indicateur inconnu « nothing »."]}


def test_a_superuser_chooses_the_organisation(as_user, world):
    client = as_user("root")
    page = client.get("/indicateurs/", WEEK).content.decode()
    assert '<option value="autre">Commune voisine</option>' in page
    response = client.get("/indicateurs/api/volumes/", {**WEEK, "organisation": "autre"})
    figures = {f["key"]: f["value"] for f in response.json()["figures"]}
    assert figures["total"] == 1
    response = client.get("/indicateurs/api/volumes/", WEEK)
    assert {f["key"]: f["value"] for f in response.json()["figures"]}["total"] == 7
