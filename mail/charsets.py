"""Bytes to text for bodies and headers in any declared or mis-declared charset.

Order of trust:

1. the declared charset, when the bytes decode cleanly with it (but a
   single-byte declaration over bytes that are valid multi-byte UTF-8 is
   taken for what it usually is: UTF-8 mislabelled);
2. UTF-8;
3. charset-normalizer's guess, when it is not a Western single-byte code
   (for those, cp1252 is the better guess for French mail);
4. cp1252, then latin-1, which decodes every byte.

So bytes that are valid latin-1/cp1252 never become U+FFFD.
"""

import codecs
import re

from charset_normalizer import from_bytes

# Labels seen in the wild that Python does not know, or knows wrongly.
ALIASES = {
    "utf8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "unicode-1-1-utf-7": "utf-7",
    "x-unknown": "",
    "unknown": "",
    "unknown-8bit": "",
    "x-user-defined": "",
    "default": "",
    "charset": "",
    "iso-8859-8-i": "iso-8859-8",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "gb2312": "gb18030",  # a superset, decodes what GB2312 mail really holds
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "shift_jis": "cp932",  # Windows' superset, used by every mail client
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso-2022-jp-ext",
    "euc-kr": "cp949",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
    # Latin-1 mail is nearly always Windows-1252 (curly quotes, euro sign).
    "iso-8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
}

SINGLE_BYTE_WESTERN = {
    "ascii",
    "cp1252",
    "latin_1",
    "iso8859_15",
    "cp1250",
    "cp1257",
    "iso8859_2",
    "mac_roman",
    "cp850",
    "cp437",
}

_CHARSET_TOKEN = re.compile(r"[A-Za-z0-9_.:+-]+")


def codec_for(label):
    """The Python codec name for a charset label, or "" when unknown."""
    if not label:
        return ""
    label = str(label).strip().strip("\"'").lower()
    match = _CHARSET_TOKEN.match(label)
    if not match:
        return ""
    label = match.group(0)
    label = ALIASES.get(label, label)
    if not label:
        return ""
    try:
        return codecs.lookup(label).name
    except LookupError:
        return ""


def _strict(data, codec):
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError, ValueError):
        return None


def _has_multibyte_utf8(data):
    return any(byte >= 0x80 for byte in data) and _strict(data, "utf-8") is not None


def decode_bytes(data, declared=""):
    """Text for ``data``, decoded as described in this module's docstring."""
    if not data:
        return ""
    codec = codec_for(declared)
    if codec:
        # Mislabelled UTF-8: a Western single-byte or ASCII declaration over
        # bytes that form valid UTF-8 sequences (e.g. "Ã©" instead of "é").
        if codec in SINGLE_BYTE_WESTERN and _has_multibyte_utf8(data):
            return data.decode("utf-8")
        text = _strict(data, codec)
        if text is not None:
            return text
    text = _strict(data, "utf-8")
    if text is not None:
        return text
    for cut in (1, 2, 3):  # UTF-8 cut in the middle of its last character
        text = _strict(data[:-cut], "utf-8") if len(data) > cut and _has_multibyte_utf8(data[:-cut]) else None
        if text is not None:
            return text
    guess = _detect(data)
    if guess:
        return guess
    text = _strict(data, "cp1252")
    if text is not None:
        return text
    return data.decode("latin-1")


def _detect(data):
    """charset-normalizer's reading of ``data``, unless it is a Western
    single-byte code (cp1252 is then tried by the caller).

    Text whose non-ASCII bytes stand mostly alone (accented letters between
    ASCII ones) is Western single-byte text: the detector is not asked, as
    it guesses wildly on short samples. Multi-byte codes (Shift_JIS, GBK,
    Big5, EUC...) and Cyrillic or Greek codes produce runs of high bytes."""
    sample = data[:65536]
    high = [index for index, byte in enumerate(sample) if byte >= 0x80]
    if not high:
        return None
    in_runs = sum(
        1
        for index in high
        if (index + 1 < len(sample) and sample[index + 1] >= 0x80) or (index and sample[index - 1] >= 0x80)
    )
    if in_runs * 2 < len(high):
        return None
    try:
        best = from_bytes(sample).best()
    except Exception:  # noqa: BLE001 - a detector failure only means "no guess"
        return None
    if best is None or not best.encoding:
        return None
    codec = codec_for(best.encoding)
    if not codec or codec in SINGLE_BYTE_WESTERN or codec.startswith(("iso8859", "cp125", "mac_")):
        return None
    return _strict(data, codec)
