import json

import pytest
from django.conf import settings

from mail.quotes import split_reply

FRAGMENTS = settings.BASE_DIR.parent / "shared" / "mail-corpus" / "reply-fragments"
EXPECTED = json.loads((FRAGMENTS / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", EXPECTED, ids=[case["file"].rsplit("/", 1)[-1] for case in EXPECTED])
def test_reply_fragments_yield_their_new_text(case):
    body = (FRAGMENTS.parent / case["file"]).read_text(encoding="utf-8")
    new_text, history = split_reply(body)
    assert new_text.strip() == case["new_text"].strip()
    assert history


FRENCH_AND_ENGLISH = {
    "gmail_fr": "Le mar. 3 mars 2026 à 10:00, Jean Dupont <jean@exemple.fr> a écrit :\n> Bonjour",
    "gmail_fr_wrapped": "Le mar. 3 mars 2026 à 10:00, Service Accueil <\naccueil@cd99.example> a écrit :\n> Bonjour",
    "apple_fr": "Le 3 mars 2026 à 10:00, Jean Dupont a écrit :\n\n> Bonjour",
    "thunderbird_fr": "Le 03/03/2026 à 10:00, Jean Dupont a écrit :\n> Bonjour",
    "outlook_fr": (
        "De : Accueil <accueil@cd99.example>\nEnvoyé : mardi 3 mars 2026 10:00\nÀ : Jean\nObjet : RE: ma demande"
    ),
    "outlook_fr_no_address": "De : Accueil\nEnvoyé : mardi 3 mars 2026 10:00\nÀ : Jean Dupont\nObjet : RE: x",
    "outlook_underscores": "_" * 32 + "\nDe : Accueil\nEnvoyé : mardi 3 mars 2026\nÀ : Jean\nObjet : demande",
    "message_origine": "-----Message d'origine-----\nDe : Accueil\nObjet : demande\n\nvieux",
    "original_message": "-----Original Message-----\nFrom: Desk\nSent: Tuesday\nTo: John\nSubject: request",
    "outlook_en": "From: Desk <desk@cd99.example>\nSent: Tuesday, March 3, 2026 10:00 AM\nTo: John\nSubject: RE: x",
    "gmail_en": "On Tue, Mar 3, 2026 at 10:00 AM Desk <desk@cd99.example> wrote:\n> Hello",
    "iphone_fr": "Envoyé de mon iPhone\n\n> Le 3 mars 2026 à 10:00, Accueil a écrit :",
    "iphone_en": "Sent from my iPhone",
    "sig_dash": "-- \nJean Dupont\n06 12 34 56 78",
    "outlook_mobile": "Télécharger Outlook pour Android",
}


@pytest.mark.parametrize("tail", FRENCH_AND_ENGLISH.values(), ids=FRENCH_AND_ENGLISH.keys())
def test_french_and_english_clients(tail):
    body = f"Merci, voici la pièce demandée.\nCordialement,\nMarie Martin\n\n{tail}\n\nAncien texte."
    new_text, history = split_reply(body)
    assert new_text == "Merci, voici la pièce demandée.\nCordialement,\nMarie Martin"
    assert history


@pytest.mark.parametrize(
    "body",
    [
        "Le 3 mars, je vous ai écrit : sans réponse depuis.",
        "On the other hand, we should be careful.\nOn average, this works.",
        "Sent from my desk, is much easier than my phone.",
        "De : mon point de vue, c'est urgent.",
        "Ligne 1\n----\nLigne 2",
    ],
)
def test_ordinary_text_is_kept(body):
    assert split_reply(body) == (body, "")


def test_a_trailing_block_of_quoted_lines_is_history():
    body = "Merci pour votre retour.\n\n> Bonjour,\n> votre dossier est complet.\n>"
    assert split_reply(body) == ("Merci pour votre retour.", "> Bonjour,\n> votre dossier est complet.\n>")


def test_an_inline_reply_is_kept_whole():
    body = "Voici mes réponses :\n> Question 1 ?\nOui.\n> Question 2 ?\nNon."
    assert split_reply(body)[0] == body


def test_a_message_made_only_of_quotes_keeps_its_text():
    body = "> Bonjour\n> ceci est cité"
    assert split_reply(body)[0] == body


def test_bottom_posted_reply_keeps_the_unquoted_answer():
    body = "Le 3 mars 2026 à 10:00, Accueil <a@cd99.example> a écrit :\n> Question ?\n\nMa réponse."
    assert split_reply(body)[0] == "Ma réponse."


def test_empty_text():
    assert split_reply("") == ("", "")
