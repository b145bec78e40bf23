import json

import pytest
from django.conf import settings

from routing.urgency import detect_urgency

DATASET = settings.BASE_DIR.parent / "shared" / "datasets" / "cd99-messages.jsonl"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Il me frappe quand il a bu", "violence"),
        ("j'ai peur de lui, il m'a déjà poussée dans l'escalier", "violence"),
        ("Mon mari contrôle tout, mon argent, mes sorties", "violence"),
        ("J'ai peur pour ma vie", "violence"),
        ("le petit voisin a des bleus sur les bras, je pense qu'il est maltraité", "child"),
        ("ma fille de 14 ans a fugué depuis hier soir", "child"),
        ("L'HUISSIER vient jeudi pour l'expulsion", "eviction"),
        ("le proprio a changé les serrures", "eviction"),
        ("EDF a coupé l'électricité ce matin", "energy"),
        ("on a plus de chauffage et le bébé a froid la nuit", "energy"),
        ("ma voisine de 88 ans ne répond plus au téléphone depuis 3 jours", "elderly"),
        ("je veux en finir", "suicide"),
        ("jveux plus vivre, pas envie de vivre", "suicide"),
        ("je dors dans ma voiture depuis une semaine", "homeless"),
        ("on va se retrouver à la rue", "homeless"),
        ("plus rien à manger pour les enfants", "food"),
        ("le frigo est vide", "food"),
        ("mon ex me harcèle tous les soirs devant chez moi", "violence"),
        ("il m'a enfermée dans la chambre", "violence"),
        ("mon fils ne rentre plus à la maison depuis samedi", "child"),
        ("le gaz a été coupé et il fait 5 degrés dans l'appartement", "energy"),
        ("l'huissier passe demain", "eviction"),
        ("ma grand-mère de 91 ans vit seule et ne répond plus depuis hier", "elderly"),
    ],
)
def test_indirect_phrasings_are_urgent(text, category):
    result = detect_urgency(text)
    assert result.urgent
    assert category in result.categories
    assert result.reasons


def test_sms_spelling_and_accents_do_not_hide_urgency():
    assert detect_urgency("IL ME FRAPPE").urgent
    assert "suicide" in detect_urgency("g envie d'en finir").categories


@pytest.mark.parametrize(
    "text",
    [
        "Quels sont les horaires de l'accueil ?",
        "la route est coupée du coup je fais un détour, pas de blessé",
        "l'arrêt de car est au bord de la route, sans abri ni trottoir",
        "le bitume s'effondre sur le bord de la route",
        "ma fille reste enfermée dans sa chambre depuis le divorce",
        "J'ai un coup de fil à passer pour mon dossier RSA",
        "comment inscrire mon fils à la cantine ?",
        "la route est dangereuse pour les vélos",
        "mon propriétaire me harcèle pour que je paie le loyer",
        "le lycée n'a plus de chauffage dans le bâtiment B",
        "accident sur la départementale, pas de blessé",
        "",
        "😀😀😀",
    ],
)
def test_harmless_sentences_are_not_urgent(text):
    assert not detect_urgency(text).urgent


def test_huge_and_foreign_texts_never_crash():
    assert not detect_urgency("x" * 1_000_000).urgent
    assert not detect_urgency("Привет как дела").urgent
    assert not detect_urgency(None).urgent


def test_no_urgent_message_of_the_dataset_escapes_the_lexicon_alone():
    """Recall 1.0 must not depend on the topic matcher: the lexicon alone sees them."""
    missed = []
    for line in DATASET.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item.get("urgent") and not detect_urgency(item["text"]).urgent:
            missed.append(item["text"][:80])
    assert not missed, missed
