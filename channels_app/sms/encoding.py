"""How an SMS text is encoded and how many segments it costs.

GSM 03.38 (7-bit) carries 160 characters in one SMS, 153 per segment once
the text is split (the user data header takes 7); characters of the
extension table (``^ { } \\ [ ~ ] | €`` and form feed) take two septets and
are never split across segments. Any character outside both tables forces
UCS-2 for the whole message: 70 UTF-16 code units in one SMS, 67 per
segment (a character outside the BMP, an emoji, takes two).

``prepare`` first maps French typography onto GSM-7 (``ê`` to ``e``, ``œ``
to ``oe``, typographic quotes to ASCII ones...) so that an ordinary French
text stays in GSM-7; é è ù ì ò à and Ç are in the GSM-7 basic set and are
kept. Only when something cannot be mapped (a Greek lower-case letter, an
emoji, Arabic script...) is the original text sent, untouched, in UCS-2.
"""

from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC)
_EXTENSION = frozenset(GSM7_EXTENSION)

# French (and a few neighbouring) characters that GSM-7 lacks, and what is
# written instead. ç becomes c rather than Ç: "garÇon" reads worse than
# "garcon", and handsets differ in how they show the GSM code 0x09.
_FALLBACK = {
    "â": "a",
    "á": "a",
    "ã": "a",
    "À": "A",
    "Â": "A",
    "Á": "A",
    "Ã": "A",
    "ê": "e",
    "ë": "e",
    "È": "E",
    "Ê": "E",
    "Ë": "E",
    "î": "i",
    "ï": "i",
    "í": "i",
    "Î": "I",
    "Ï": "I",
    "Ì": "I",
    "Í": "I",
    "ô": "o",
    "ó": "o",
    "õ": "o",
    "Ô": "O",
    "Ò": "O",
    "Ó": "O",
    "Õ": "O",
    "û": "u",
    "ú": "u",
    "Û": "U",
    "Ù": "U",
    "Ú": "U",
    "ÿ": "y",
    "Ÿ": "Y",
    "ç": "c",
    "œ": "oe",
    "Œ": "OE",
    "\u2019": "'",
    "\u2018": "'",
    "\u201c": '"',
    "\u201d": '"',
    "«": '"',
    "»": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
    "\t": " ",
}

GSM7 = "gsm7"
UCS2 = "ucs2"


@dataclass(frozen=True)
class PreparedText:
    text: str
    encoding: str  # "gsm7" or "ucs2"
    segments: int
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)


def to_gsm7(text):
    """The text with every character mapped to GSM-7, or None when one cannot be."""
    out = []
    for char in text:
        if char in _BASIC or char in _EXTENSION:
            out.append(char)
            continue
        mapped = _FALLBACK.get(char)
        if mapped is None:
            return None
        out.append(mapped)
    return "".join(out)


def gsm7_segments(text):
    """(septets, segments) of a text made only of GSM-7 characters."""
    septets = [2 if char in _EXTENSION else 1 for char in text]
    total = sum(septets)
    if total <= 160:
        return total, 1 if total else 0
    segments, used = 1, 0
    for width in septets:
        if used + width > 153:  # an escape pair is never split
            segments += 1
            used = 0
        used += width
    return total, segments


def ucs2_segments(text):
    """(UTF-16 code units, segments) of a text sent in UCS-2."""
    units = [2 if ord(char) > 0xFFFF else 1 for char in text]
    total = sum(units)
    if total <= 70:
        return total, 1 if total else 0
    segments, used = 1, 0
    for width in units:
        if used + width > 67:  # a surrogate pair is never split
            segments += 1
            used = 0
        used += width
    return total, segments


def prepare(text):
    """The text as it will be sent, its encoding and its segment count."""
    gsm = to_gsm7(text)
    if gsm is not None:
        units, segments = gsm7_segments(gsm)
        return PreparedText(gsm, GSM7, segments, units)
    units, segments = ucs2_segments(text)
    return PreparedText(text, UCS2, segments, units)
