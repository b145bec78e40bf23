"""The guided path: search, topic tree, questions, orientation."""

from urllib.parse import quote as urlquote

from channels_app.models import Orientation
from channels_app.portal.orientation import orientation_token


def test_home_lists_the_topic_tree_and_searches(client, kb):
    page = client.get("/contact/cd99/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Comment pouvons-nous vous aider" in html
    assert "/contact/cd99/sujet/cd99/rsa/" in html  # a root topic of the tree

    results = client.get("/contact/cd99/", {"q": "mon rsa n'est pas arrivé"}).content.decode()
    assert "/sujet/cd99/rsa-versement/" in results


def test_search_tolerates_misspellings_and_prefixes(client, kb):
    misspelt = client.get("/contact/cd99/recherche/", {"q": "alocation personalisée autonomie"}).content.decode()
    assert "/sujet/cd99/apa" in misspelt
    prefix = client.get("/contact/cd99/recherche/", {"q": "carte gri"}).content.decode()
    assert "/sujet/partenaires/carte-grise/" in prefix


def test_search_of_nothing_known_says_so(client, kb):
    html = client.get("/contact/cd99/recherche/", {"q": "zzqx wvvk"}).content.decode()
    assert "0 sujet trouvé" in html


def test_topic_questions_lead_to_the_narrower_topic(client, kb):
    html = client.get("/contact/cd99/sujet/cd99/rsa/").content.decode()
    assert "Quelle est votre question sur le RSA" in html
    assert "/contact/cd99/sujet/cd99/rsa-versement/" in html
    assert Orientation.objects.count() == 0  # a question is not yet an answer


def test_orientation_names_the_competent_service_and_is_recorded_once(client, kb):
    first = client.get("/contact/cd99/sujet/cd99/rsa-versement/", {"cp": "99100"})
    html = first.content.decode()
    assert "Votre interlocuteur" in html
    client.get("/contact/cd99/sujet/cd99/rsa-versement/", {"cp": "99100"})  # reload
    assert Orientation.objects.count() == 1
    orientation = Orientation.objects.get()
    assert orientation.topic.slug == "rsa-versement"
    assert orientation.ticket is None and not orientation.elsewhere
    assert f"orientation={urlquote(orientation_token(orientation.pk))}" in html  # carried to the form, signed


def test_another_administration_is_named_when_competent(client, kb):
    html = client.get("/contact/cd99/sujet/partenaires/carte-grise/").content.decode()
    assert "Préfecture" in html or "préfecture" in html
    assert "Vous pouvez quand même nous écrire" in html
    assert Orientation.objects.get().elsewhere is True


def _territorial_topic():
    from kb.models import Topic

    return (
        Topic.objects.filter(organisation__slug="cd99", service_links__service__group__gt="", questions__isnull=True)
        .distinct()
        .first()
    )


def test_territory_picks_the_service_of_the_postcode(client, kb):
    topic = _territorial_topic()
    services = [s for s in topic.candidate_services() if s.postcodes]
    last = services[-1]
    html = client.get(f"/contact/cd99/sujet/cd99/{topic.slug}/", {"cp": last.postcodes[0]}).content.decode()
    assert last.name in html


def test_bad_postcode_is_explained(client, kb):
    topic = _territorial_topic()
    html = client.get(f"/contact/cd99/sujet/cd99/{topic.slug}/", {"cp": "99"}).content.decode()
    assert "5 chiffres" in html


def test_unknown_topic_and_organisation_are_404(client, kb):
    assert client.get("/contact/cd99/sujet/cd99/nope/").status_code == 404
    assert client.get("/contact/nowhere/").status_code == 404


def test_search_is_rate_limited_per_ip(client, kb, settings):
    settings.PUBLIC_RATE_LIMITS = {**settings.PUBLIC_RATE_LIMITS, "search": (3, 60)}
    codes = [client.get("/contact/cd99/recherche/", {"q": "rsa"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
