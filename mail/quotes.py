"""Splitting a reply into its new text and the quoted history/signature.

The new text is everything above the first sign of history or signature:

- an attribution line, possibly wrapped over 2-3 lines: Gmail/Apple/
  Thunderbird "Le 3 mars 2026 à 10:00, X <x@y.fr> a écrit :", "On ... wrote:",
  and their German, Spanish, Italian, Portuguese, Dutch, Polish, Nordic,
  Finnish, Russian, CJK forms, plus the generic "<date> ... <address>:";
- an Outlook header block ("De : / Envoyé : / À : / Objet :",
  "From: / Sent: / To: / Subject:" and other languages), or a lone
  "From: Name <address>" line;
- separators: "-----Message d'origine-----", "-----Original Message-----",
  "Ursprüngliche Nachricht", forwarded-message markers, the Outlook line of
  underscores;
- a signature: the "-- " delimiter, "Envoyé de mon iPhone", "Sent from my
  iPhone", "Envoyé depuis ...", "Get Outlook for ..." and the like;
- a block of "> " quoted lines that runs to the end.

Closing formulas ("Cordialement", "Bien à vous") are *not* cut: what
follows them (the citizen's name, phone, address) is useful to the agent.

mail-parser-reply (``mailparser_reply``) is used as a second opinion for
attribution lines in the other languages it knows; its cut is taken only
when it is earlier and falls on a line our own rules did not read as text.
"""

import re

from mailparser_reply import EmailReplyParser

MAX_LINES = 5000
MAX_CHARS = 200_000
LIBRARY_MAX_CHARS = 4_000

ADDRESS = r"(?:[<\[(]\s*(?:mailto:)?[^<>\[\]()\s]+@[^<>\[\]()\s]+\s*[>\])]|\S+@\S+\.\w+)"
TIME_OR_YEAR = re.compile(r"\d{1,2}\s*[:h.]\s*\d{2}|\b(?:19|20)\d{2}\b")
_ADDRESS_RE = re.compile(ADDRESS)

# Attribution lines introduced by a verb ("wrote"); they need an address or
# a time/year to count (so "On the other hand, I wrote:" does not).
VERB_HEADERS = [
    r"On\b.{3,400}?\bwrote\s*:?",
    r"Le\b.{3,400}?\ba\s+écrit\s*:?",
    r"El\b.{3,400}?\bescribió\s*:?",
    r"(?:Il|In\s+data)\b.{3,400}?\b(?:ha\s+)?scritto\s*:?",
    r"Em\b.{3,400}?\bescreveu\s*:?",
    r"Am\b.{3,400}?\bschrieb\b.{0,400}",
    r".{1,400}?\bschrieb\s*:",
    r"Op\b.{3,400}?\bschreef\b.{0,400}",
    r"(?:W\s+dniu|Dnia)\b.{3,400}?\b(?:pisze|napisał(?:\(a\))?)\s*:?",
    r".{3,400}?\bskrev\b.{0,400}:",
    r".{3,400}?\bkirjoitti\s*:?",
    r".{3,400}?\bnapsal(?:\(a\))?\s*:?",
]
# Attribution lines of their own shape.
SHAPE_HEADERS = [
    r".{0,400}写道\s*[：:]",
    r"20\d{2}[./년-].{0,400}작성\s*:",
    r"20\d{2}/.{0,400}のメッセージ\s*:",
]
VERB_RE = re.compile("|".join(f"(?:{p})" for p in VERB_HEADERS), re.IGNORECASE)
SHAPE_RE = re.compile("|".join(f"(?:{p})" for p in SHAPE_HEADERS), re.IGNORECASE)

SEPARATOR_RE = re.compile(
    r"-{2,}\s*(?:Original\s+Message|Message\s+d'origine|Message\s+original|Ursprüngliche\s+Nachricht|"
    r"Oprindelig\s+(?:besked|meddelelse)|Opprinnelig\s+melding|Ursprungligt\s+meddelande|Mensaje\s+original|"
    r"Messaggio\s+originale|Mensagem\s+original|Oorspronkelijk\s+bericht|Alkuperäinen\s+viesti)\s*-*"
    r"|-{2,}\s*(?:Forwarded\s+message|Message\s+transféré|Message\s+transmis|Weitergeleitete\s+Nachricht|"
    r"Mensaje\s+reenviado|Messaggio\s+inoltrato)\s*-*"
    r"|(?:Begin\s+forwarded\s+message|Début\s+du\s+message\s+(?:réexpédié|transféré))\s*:"
    r"|_{20,}",
    re.IGNORECASE,
)
FROM_KEYS = r"From|De|Von|Van|Da|Fra|Från|Od|От|Message\s+du|Mensaje\s+de"
OTHER_KEYS = (
    r"Sent|Envoyé(?:\s+le)?|Date|Datum|Data|Gesendet|Verzonden|Inviato|Enviado|Wysłano|Skickat|Sendt|Отправлено|"
    r"To|À|A|An|Aan|Para|Til|Till|Do|Кому|Cc|Copie\s+à|"
    r"Subject|Objet|Sujet|Betreff|Onderwerp|Oggetto|Asunto|Assunto|Emne|Ämne|Temat|Тема"
)
HEADER_KEY_LINE = re.compile(rf"^\**\s*(?:{FROM_KEYS}|{OTHER_KEYS})\s*:", re.IGNORECASE)
FROM_KEY_LINE = re.compile(rf"^\**\s*(?:{FROM_KEYS}|Sent|Envoyé|Date)\s*:", re.IGNORECASE)
LONE_FROM_LINE = re.compile(rf"^\**\s*(?:{FROM_KEYS})\s*:\**\s*.{{0,200}}{ADDRESS}", re.IGNORECASE)

SIGNATURE_LINE = re.compile(
    r"^(?:--|-- )$"
    r"|^(?:Sent\s+from\s+my|Sent\s+from\s+(?:Mail|Yahoo|Outlook|Samsung)|Sent\s+with\s+\w+|Sent\s+via\s+\w+|"
    r"Envoyé\s+de\s+mon|Envoyé\s+depuis|Envoyé\s+à\s+partir\s+de|Envoyé\s+avec|"
    r"Get\s+Outlook\s+for|Obtenir\s+Outlook\s+pour|Télécharger\s+Outlook\s+pour|"
    r"Gesendet\s+von|Von\s+meinem\s+.{1,40}\s+gesendet|Enviado\s+desde|Inviato\s+da|Verzonden\s+vanaf|"
    r"Verstuurd\s+vanaf|Sendt\s+fra)\b(?:\s*[\w'’&+/-]+){0,6}\s*(?:<[^<>\s]+>)?\s*\.?$",
    re.IGNORECASE,
)
QUOTE_PREFIX = re.compile(r"^(?:\s*>)+\s?")


def _unquote(line):
    return QUOTE_PREFIX.sub("", line).strip()


VERB_WORDS = ("wrote", "écrit", "escribió", "scritto", "escreveu", "schrieb", "schreef", "pisze", "napisał")
VERB_WORDS += ("skrev", "kirjoitti", "napsal")
CJK_WORDS = ("写道", "작성", "のメッセージ")
_BLANK_RUN = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")
_DIGIT = re.compile(r"\d")
_BEFORE_ADDRESS = re.compile(r"[\s<\[(]")


def _is_verb_header(candidate):
    lowered = candidate.lower()
    if not any(word in lowered for word in VERB_WORDS):
        return False
    return bool(VERB_RE.fullmatch(candidate)) and bool(_ADDRESS_RE.search(candidate) or TIME_OR_YEAR.search(candidate))


def _ends_with_address(candidate):
    """ "<date>, Name <address>:" — checked from the end, in linear time."""
    text = candidate.rstrip()
    if not text.endswith(":") or not _DIGIT.search(text):
        return False
    text = text[:-1].rstrip().rstrip(">])").rstrip()
    token = _BEFORE_ADDRESS.split(text[-320:])[-1].removeprefix("mailto:")
    local, at, domain = token.rpartition("@")
    return bool(at and local and "." in domain.strip("."))


def _is_shape_header(candidate):
    if _ends_with_address(candidate):
        return True
    return any(word in candidate for word in CJK_WORDS) and bool(SHAPE_RE.fullmatch(candidate))


def _is_attribution(lines, index):
    """Whether an attribution starts at ``lines[index]`` (joined with up to
    two following lines, since clients wrap long attributions)."""
    first = _unquote(lines[index])
    if not first or len(first) > 400:
        return False
    candidate = first
    for extra in range(3):
        if extra:
            if index + extra >= len(lines):
                break
            following = _unquote(lines[index + extra])
            if not following:
                break
            candidate = f"{candidate} {following}"
        if len(candidate) > 600:
            break
        if _is_verb_header(candidate) or _is_shape_header(candidate):
            return True
    return False


def _is_header_block(lines, index):
    """An Outlook-style header block starting at ``lines[index]``."""
    line = _unquote(lines[index])
    if LONE_FROM_LINE.match(line):
        return True
    if not FROM_KEY_LINE.match(line):
        return False
    keys = 0
    for following in lines[index + 1 : index + 7]:
        text = _unquote(following)
        if HEADER_KEY_LINE.match(text):
            keys += 1
        elif text and keys == 0:
            # Outlook wraps long values: allow one continuation line
            continue
    return keys >= 2


def _first_history_line(lines):
    for index, line in enumerate(lines):
        text = _unquote(line)
        if not text:
            continue
        if SEPARATOR_RE.fullmatch(text) or _is_header_block(lines, index) or _is_attribution(lines, index):
            return index
        if SIGNATURE_LINE.match(line.rstrip("\n")) or SIGNATURE_LINE.match(text):
            return index
    return len(lines)


def _trailing_quote_start(lines):
    """Index of the first line of a block of ">" lines that runs to the end."""
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start and (lines[start - 1].lstrip().startswith(">") or not lines[start - 1].strip()):
        start -= 1
    while start < end and not lines[start].strip():
        start += 1
    return start if start < end else len(lines)


def _library_cut(text, lines):
    """Line index where mail-parser-reply sees the first history header, or
    len(lines). Only its attribution ("wrote") headers are used, and only on
    texts of at most LIBRARY_MAX_CHARS (its signature pattern is quadratic
    on some inputs)."""
    text = _BLANK_RUN.sub("\n\n", text)
    if len(text) > LIBRARY_MAX_CHARS:
        return len(lines)
    try:
        parser = EmailReplyParser(languages=["fr", "en", "de", "es", "it", "nl", "pl", "da", "sv", "cs"])
        message = parser.read(text)
    except Exception:  # noqa: BLE001 - a second opinion must never break parsing
        return len(lines)
    if len(message.replies) < 2:
        return len(lines)
    header = (message.replies[1].headers or "").strip().splitlines()
    if not header:
        return len(lines)
    first = header[0].strip()
    if not first:
        return len(lines)
    for index, line in enumerate(lines):
        if line.strip() == first and _looks_like_library_header(first):
            return index
    return len(lines)


def _looks_like_library_header(line):
    return bool(_ADDRESS_RE.search(line) or TIME_OR_YEAR.search(line)) and line.rstrip().endswith(":")


def split_reply(text):
    """(new_text, history): the new content of a reply and what follows it
    (quoted messages, signature). Both are stripped of surrounding blank lines.
    When nothing new is found (a bare forward, a bottom-posted reply), the new
    text is what is left outside the quotes, or the whole text."""
    if not text:
        return "", ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    head, tail = text[:MAX_CHARS], text[MAX_CHARS:]
    lines = head.split("\n")
    if len(lines) > MAX_LINES:
        tail = "\n".join(lines[MAX_LINES:]) + tail
        lines = lines[:MAX_LINES]

    cut = _first_history_line(lines)
    cut = min(cut, _library_cut("\n".join(lines[:cut]), lines[:cut]) if cut else cut)
    while True:
        quote_start = _trailing_quote_start(lines[:cut])
        if quote_start >= cut:
            break
        cut = quote_start
    # Separators and blank lines just above the history belong to it.
    while cut and (not lines[cut - 1].strip() or re.fullmatch(r"[-_=*~]{2,}", lines[cut - 1].strip())):
        cut -= 1

    new_text = "\n".join(lines[:cut]).strip()
    history = ("\n".join(lines[cut:]) + tail).strip()
    if not new_text:
        new_text = _outside_quotes(lines) or text.strip()
    return new_text, history


def _outside_quotes(lines):
    kept = []
    for index, line in enumerate(lines):
        if line.lstrip().startswith(">"):
            continue
        if _is_attribution(lines, index) or SEPARATOR_RE.fullmatch(line.strip()):
            continue
        kept.append(line)
    return "\n".join(kept).strip()
