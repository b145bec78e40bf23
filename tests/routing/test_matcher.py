from routing.matcher import Matcher, TopicDoc
from routing.text import analyse, fold, words
from routing.urgency import detect_urgency

DOCS = [
    TopicDoc(
        1,
        "rsa-versement",
        "cd99",
        "Mon RSA n'a pas été versé",
        ["rsa", "versement", "revenu de solidarité active"],
        ["Je n'ai pas touché mon RSA ce mois-ci"],
    ),
    TopicDoc(
        2,
        "routes",
        "cd99",
        "Routes départementales",
        ["route", "chaussée", "nid de poule"],
        ["Un arbre est tombé sur la route"],
    ),
    TopicDoc(
        3,
        "apa",
        "cd99",
        "Allocation personnalisée d'autonomie",
        ["apa", "aide à domicile", "personne âgée"],
        ["Ma mère a besoin d'une aide à domicile"],
    ),
]


def test_folding_and_sms_spelling():
    assert fold("Élève À L'ÉCOLE œuvre") == "eleve a l'ecole oeuvre"
    assert words("bjr jai pa recu") == ["bonjour", "j", "ai", "pas", "recu"]
    assert analyse("Les versements du RSA") == analyse("le versement rsa")


def test_misspellings_and_sms_still_match():
    matcher = Matcher.build(DOCS)
    result = matcher.match("", "bjr jai pa touché mon rsa ce mois ci")
    assert result.best.doc.slug == "rsa-versement"
    assert matcher.match("", "un arbre est tombé sur la chausée de la rout").best.doc.slug == "routes"


def test_a_phrase_weighs_more_than_its_words_apart():
    matcher = Matcher.build(DOCS)
    together = matcher.match("", "aide à domicile").candidates[0].score
    apart = matcher.match("", "domicile et aide").candidates[0].score
    assert together > apart


def test_abstains_rather_than_guess():
    matcher = Matcher.build(DOCS)
    for text in ["", "😀😀", "Привет как дела", "Félicitations vous avez gagné un smartphone", "x" * 1_000_000]:
        assert matcher.match("", text).abstained


def test_urgency_lexicon_catches_indirect_phrasings_and_spares_harmless_ones():
    assert detect_urgency("il me frappe quand il boit").categories == ["violence"]
    assert "eviction" in detect_urgency("l'huissier passe demain pour nous mettre dehors").categories
    assert "energy" in detect_urgency("ils ont coupé le compteur, plus de chauffage").categories
    assert "suicide" in detect_urgency("je veux en finir").categories
    assert not detect_urgency("la route est coupée du coup je fais un détour, pas de blessé").urgent
    assert not detect_urgency("Quels sont les horaires de l'accueil ?").urgent


def test_matcher_is_built_once_per_knowledge_base_revision(db):
    from kb import revision
    from kb.models import Organisation, Topic
    from routing.matcher import get_matcher

    org = Organisation.objects.create(slug="x", name="X", kind="commune")
    Topic.objects.create(organisation=org, slug="a", title="Déchets verts")
    first = get_matcher()
    assert get_matcher() is first
    revision.bump()
    assert get_matcher() is not first


def test_a_field_without_weight_never_divides_by_zero(monkeypatch):
    from routing import matcher as module

    monkeypatch.setitem(module.FIELD_WEIGHTS, "article", 0.0)
    docs = [TopicDoc(1, "a", "x", "Titre", article="seulement dans l'article")]
    result = Matcher.build(docs).match("", "seulement article")
    assert result.abstained


def test_elisions_typed_without_apostrophe():
    docs = [*DOCS, TopicDoc(4, "horaires", "cd99", "Adresse et horaires de l'accueil", ["adresse", "horaires"])]
    assert Matcher.build(docs).match("", "c quoi ladresse de laccueil svp").best.doc.slug == "horaires"
