"""Signs that a citizen is in danger or about to lose their home, heating,
food or resources. Missing one is the worst error the product can make, so
the lexicon errs on the side of recall; an agent lowers a wrong priority."""

import re
from dataclasses import dataclass, field
from functools import lru_cache

from routing.text import words

# Each pattern runs on the folded text with SMS spellings expanded (no
# accents, lower case, single spaces). Written from the situations
# themselves, with direct and indirect phrasings.
LEXICON = {
    "violence": [
        r"violen(?:t|te|ce|ces)\b",
        r"\b(?:me|nous|la|les|l) (?:frappe|frapp\w*|bat|battu\w*|tabasse\w*|etrangl\w*|menace\w*)",
        r"(?<!du )\bcoups?\b(?! de (?:main|fil|telephone|pouce|coeur))",
        r"entend\w* des cris",
        r"ne me laisse (?:pas|plus) tranquille",
        r"\bme touche\b",
        r"peur (?:de lui|de elle|de mon (?:mari|conjoint|compagnon|ex|pere|fils)|pour (?:ma|sa|leur|nos|mes) (?:vie|enfants?))",
        r"\bemprise\b",
        r"(?:mari|conjoint|compagnon|concubin|ex|copain|pere|beau pere)\b.{0,40}\bharcel\w*",
        r"harcel\w* (?:sexuel|moral)\w*|harcel\w* par (?:mon|son) (?:mari|conjoint|compagnon|ex)",
        r"\bviol(?:e|ee|er)?\b",
        r"n ose (?:plus )?(?:pas )?(?:rentrer|partir|sortir)",
        r"(?<!pas de )(?<!aucun )\bbless(?:e|ee|ure)s?\b",
        r"femme battue",
        r"\bcogne\w*",
        r"(?:suis|sommes|m a|nous a|l a) enferm\w*",
        r"m a (?:deja )?(?:pousse\w*|gifle\w*|frappe\w*|etrangle\w*|cogne\w*|menace\w*)",
        r"(?:controle|surveille) (?:tout|mon argent|mes sorties|mon (?:portable|telephone))",
        r"regarde mon (?:portable|telephone)",
        r"n ose pas (?:telephoner|appeler|porter plainte)",
        r"victime (?:de son|de mon|d un) (?:conjoint|mari|compagnon|ex)",
        r"\bhematomes?\b",
    ],
    "child": [
        r"enfants? (?:en danger|maltrait\w*|battu\w*|frappe\w*|seuls?|abandonn\w*)",
        r"maltrait\w*",
        r"(?:fille|fils|enfant|gamin|petit|petite|ado|adolescente?) (?:a )?(?:fugue|disparu|ne (?:rentre|revient) plus)",
        r"\bfugue\w*",
        r"(?:fille|fils|enfant|ado) .{0,40}(?:ne mange plus|se scarifie|se fait frapper|a des bleus)",
        r"\bbleus? sur\b",
        r"\battouchement\w*",
        r"(?:toute? seule?|seuls?) (?:dans|a) (?:l appart\w*|la maison|le logement)",
        r"\binceste\b",
        r"reclam\w* (?:a manger|de la nourriture)",
        r"(?:petits|enfants|gamins|bebes?) .{0,40}\b(?:dehors|seuls?) .{0,30}\b(?:soir|nuit|pyjama)",
        r"(?:mere|pere|parents?) .{0,30}\b(?:ivres?|saoule?s?|alcoolise\w*|drogue\w*)",
    ],
    "eviction": [
        r"expuls\w*",
        r"\bhuissier\w*",
        r"(?:met|mettre|mettent|jete|jetee|jeter) (?:a la porte|dehors)",
        r"\bnous met dehors\b|\bon (?:va )?(?:se )?retrouve(?:r)? (?:a la rue|dehors)",
        r"commandement de quitter",
        r"change\w* (?:la|les) serrures?",
        r"concours de la force publique",
        r"force publique",
        r"commissaire de justice",
        r"mise? (?:a la porte|dehors)",
        r"(?:fin de la )?treve hivernale.{0,40}(?:expuls|quitter)",
    ],
    "energy": [
        r"coup\w* (?:d |de |du |l |le |la )?(?:electricite|courant|gaz|eau|chauffage|compteur|lumiere)",
        r"(?:electricite|courant|gaz|eau|chauffage|compteur) (?:a ete |ont ete |est |sont )?coup\w*",
        r"(?:plus|pas) (?:de |d )?(?:electricite|courant|lumiere|chauffage|gaz|eau chaude)",
        r"\bplus (?:une goutte d eau|d eau)\b",
        r"\bont coupe\b",
        r"\bcompteur\b.{0,30}\b(?:coupe|bloque|suspendu|limite)",
        r"\bfroid\b.{0,40}\b(?:bebe|enfants?|petits?|nuit)",
        r"brid\w* (?:mon |le |notre )?compteur|compteur (?:a ete |est )?brid\w*",
        r"(?:fermer|couper|coupure|suspendre) (?:le |l |du |de l )?(?:gaz|electricite|eau|courant)",
        r"(?:coupure|fermeture|suspension) .{0,30}pour impaye",
        r"plus de feu\b",
    ],
    "elderly": [
        r"(?:personne agee|grand (?:mere|pere)|vieille dame|vieux monsieur|voisine? (?:agee|de \d{2} ans)|mere de \d{2} ans|pere de \d{2} ans|\b[7-9]\d ans\b).{0,120}(?:isole\w*|ne repond plus|tombe\w*|chute|ne mange plus|plus rien|abandonn\w*|maltrait\w*|confus\w*|perdu\w*)",
        r"ne repond plus (?:au telephone|a la porte|depuis)",
        r"\bisole\w* (?:et|depuis)\b",
        r"(?:ne )?tient plus debout",
        r"(?:ne )?(?:m )?ouvre (?:pas|plus)\b.{0,40}\b(?:personne|cle|porte)",
        r"appel\w* (?:faiblement|a l aide)",
        r"(?:ne )?veut pas .{0,30}\b(?:docteur|medecin|pompiers)",
        r"(?:tombe\w*|chute) .{0,40}(?:ne peut pas se relever|par terre|au sol)",
        r"(?:prend|vide|gere) (?:ses|son) (?:comptes?|argent|carte).{0,60}(?:plus rien|rien a manger)",
    ],
    "suicide": [
        r"suicid\w*",
        r"en finir",
        r"me tuer|me foutre en l air|mettre fin a (?:mes|ma) (?:jours|vie)",
        r"(?:plus|pas) envie de vivre",
        r"sauter (?:du|d un) (?:pont|balcon|fenetre)",
    ],
    "homeless": [
        r"(?:a|dans) la rue\b",
        r"\bsans (?:abri|domicile|logement|toit)\b(?! ni)",
        r"dor(?:s|t|mir|mons|ment)\b.{0,40}?\b(?:dans (?:ma|la|une|sa) voiture|dehors|a la rue|dans la rue|dans un parc|sous (?:un|une|le|la|les|des) )",
        r"nulle part (?:ou )?(?:dormir|aller)",
        r"(?:ou|pas ou) (?:aller|dormir) ce soir",
        r"(?:hebergement|logement) d urgence",
        r"\b115\b",
        r"(?:je suis|on est|nous sommes|suis) dehors\b",
    ],
    "food": [
        r"(?:plus|pas|rien) (?:rien )?(?:a manger|dans (?:le|mon) (?:frigo|refrigerateur))",
        r"(?:plus|pas) (?:de quoi )?(?:manger|nourrir)",
        r"(?:frigo|refrigerateur|placard)s? (?:est |sont )?vides?",
        r"\bfaim\b",
        r"(?:plus|pas) (?:un )?(?:centime|sou|euro)\b",
    ],
    "health": [
        r"\bmalaise\b|\binconscient\w*\b|\bne respire plus\b|\bsaigne\w*",
        r"\bsamu\b|\bpompiers\b|\burgence vitale\b",
        r"(?:vient de s|s est) effondr\w*|(?:ne )?(?:repond|bouge|respire) plus\b",
    ],
}
# What each category is about, in the plain words a knowledge base uses to
# name such a problem: the matcher adds them to the message's own words, so
# that an indirect phrasing ("on nous met dehors jeudi") reaches the topic
# that names the situation ("expulsion").
CONCEPTS = {
    "violence": "violence violences conjugales conjoint violent agression victime",
    "child": "enfant en danger maltraitance information preoccupante",
    "eviction": "expulsion du logement",
    "energy": "coupure d energie electricite gaz impaye energie",
    "elderly": "personne agee en danger vulnerable isolee signalement",
    "suicide": "detresse psychologique suicide",
    "homeless": "hebergement d urgence sans abri mise a l abri",
    "food": "aide alimentaire aide financiere d urgence",
    "health": "urgence vitale secours",
}
_COMPILED = {category: [re.compile(p) for p in patterns] for category, patterns in LEXICON.items()}
MAX_TEXT = 50_000


@dataclass
class UrgencyResult:
    urgent: bool
    reasons: list = field(default_factory=list)
    categories: list = field(default_factory=list)


# A loss of heating, power or water in a public building (a school, a
# gymnasium, the town hall) is a maintenance request, not a household in
# danger: the building named just before the sign says so.
PUBLIC_BUILDING = re.compile(
    r"\b(?:college|lycee|ecole|gymnase|mairie|batiment|classe|salle|piscine|bureau|eglise|mediatheque|internat)s?\b"
)
# "pas de blessé", "aucune violence", "sans danger": a sign named to say it is absent.
NEGATION_BEFORE = re.compile(r"\b(?:pas de|pas d|aucun|aucune|sans)\s*$")
CONTEXT_CHARS = 60


def _accept(category, normalised, match):
    before = normalised[max(0, match.start() - CONTEXT_CHARS) : match.start()]
    if NEGATION_BEFORE.search(before[-12:]):
        return False
    return not (category == "energy" and PUBLIC_BUILDING.search(before))


def detect_urgency(text):
    """The urgency signs found in the text, by category (each category once,
    with the words that fired it as the reason)."""
    found = _detect((text or "")[:MAX_TEXT].strip())
    return UrgencyResult(found.urgent, list(found.reasons), list(found.categories))


@lru_cache(maxsize=64)  # the matcher and the router read the same message
def _detect(text):
    normalised = " ".join(words(text))
    reasons, categories = [], []
    for category, patterns in _COMPILED.items():
        for pattern in patterns:
            match = next((m for m in pattern.finditer(normalised) if _accept(category, normalised, m)), None)
            if match:
                reasons.append(f"{category}: « {match.group(0).strip()} »")
                categories.append(category)
                break
    return UrgencyResult(bool(categories), reasons, categories)
