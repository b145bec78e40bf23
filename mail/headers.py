"""Reading header fields: RFC 2047 encoded words, raw 8-bit (RFC 6532)
values, address lists, message ids and dates. Nothing here raises for a
malformed value: it yields what can be read ("" or [] otherwise)."""

import base64
import binascii
import datetime as dt
import re
from email.utils import getaddresses, parsedate_to_datetime

from mail.charsets import decode_bytes
from mail.limits import limit

ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")
_FOLD = re.compile(r"\r?\n[ \t]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\udc80-\udcff]")  # 8-bit bytes kept by the compat32 parser
MESSAGE_ID = re.compile(r"<([^<>\s]{1,250})>")
BARE_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)


def raw_header(msg, name, default=""):
    """The first value of header ``name`` as a str, undecoded.

    Works on compat32 messages (whose values with 8-bit bytes are kept as
    surrogate-escaped str) and on messages of any other policy.
    """
    values = raw_headers(msg, name)
    return values[0] if values else default


def raw_headers(msg, name):
    """Every value of the header ``name`` (any case), in order. The message's
    headers are indexed by lower-cased name once, on first use (parsing
    reads some twenty headers of each part)."""
    index = msg.__dict__.get("_headers_by_name")
    if index is None or index[0] is not msg._headers or index[1] != len(msg._headers):
        try:
            items = msg.raw_items()
        except AttributeError:  # pragma: no cover - every Message has raw_items
            items = msg.items()
        by_name = {}
        for key, value in items:
            by_name.setdefault(key.lower(), []).append(str(value))
        index = (msg._headers, len(msg._headers), by_name)
        msg.__dict__["_headers_by_name"] = index
    return list(index[2].get(name.lower(), ()))


def to_unicode(value):
    """A header value as text: 8-bit bytes (surrogate-escaped) decoded as
    UTF-8 or a legacy charset; folding removed; control characters dropped."""
    if value is None:
        return ""
    value = str(value)
    if _SURROGATE.search(value):
        value = decode_bytes(value.encode("ascii", "surrogateescape"), "utf-8")
    value = _FOLD.sub(" ", value)
    return _CONTROL.sub("", value)


def decode_header_value(value, max_chars=None):
    """RFC 2047 decoding of one header value (subject, display name...)."""
    max_chars = max_chars if max_chars is not None else limit("MAIL_MAX_HEADER_VALUE_CHARS")
    text = to_unicode(value)[:max_chars]
    if "=?" not in text:
        return text.strip()
    text = _BETWEEN_WORDS.sub(r"\1\2", text)
    out = []
    position = 0
    pending = []  # (charset, bytes) of adjacent encoded words, joined before decoding
    for match in ENCODED_WORD.finditer(text):
        if match.start() > position:
            _flush(pending, out)
            out.append(text[position : match.start()])
        charset = match.group(1).split("*", 1)[0]
        data = _decode_word(match.group(2), match.group(3))
        if data is None:
            _flush(pending, out)
            out.append(match.group(0))
        elif pending and pending[-1][0].lower() == charset.lower():
            pending[-1] = (pending[-1][0], pending[-1][1] + data)
        else:
            _flush(pending, out)
            pending.append((charset, data))
        position = match.end()
    _flush(pending, out)
    out.append(text[position:])
    return _CONTROL.sub("", "".join(out)).strip()


def _flush(pending, out):
    for charset, data in pending:
        out.append(decode_bytes(data, charset))
    pending.clear()


def _decode_word(encoding, payload):
    if encoding in "Bb":
        payload = payload.rstrip("=")
        payload += "=" * (-len(payload) % 4)
        try:
            return base64.b64decode(payload)
        except (binascii.Error, ValueError):
            return None
    data = bytearray()
    raw = payload.replace("_", " ").encode("ascii", "replace")
    index = 0
    while index < len(raw):
        byte = raw[index]
        if byte == ord("=") and _is_hex(raw[index + 1 : index + 3]):
            data.append(int(raw[index + 1 : index + 3], 16))
            index += 3
        else:
            data.append(byte)
            index += 1
    return bytes(data)


def _is_hex(pair):
    return len(pair) == 2 and all(chr(c) in "0123456789abcdefABCDEF" for c in pair)


def addresses(msg, name):
    """[(display name, address lower-cased)] for every address in every
    ``name`` header; entries without a usable address are skipped."""
    values = [to_unicode(v)[: limit("MAIL_MAX_HEADER_VALUE_CHARS")] for v in raw_headers(msg, name)]
    result = []
    for display, address in _getaddresses(values):
        address = address.strip().strip("<>").lower()
        if "@" not in address:
            continue
        result.append((decode_header_value(display).strip().strip('"').strip(), address))
    if not result:
        for value in values:
            for found in BARE_ADDRESS.findall(value):
                result.append(("", found.lower()))
    return result


def _getaddresses(values):
    try:
        return getaddresses(values)
    except Exception:  # noqa: BLE001 - the stdlib parser fails on some garbage
        return []


def message_ids(value, limit_count=100):
    """Every ``<id>`` in a header value (In-Reply-To, References), in order,
    without duplicates; the last ``limit_count`` are kept (the nearest)."""
    text = to_unicode(value)
    found = []
    seen = set()
    for match in MESSAGE_ID.finditer(text):
        mid = f"<{match.group(1)}>"
        if mid not in seen:
            seen.add(mid)
            found.append(mid)
    if not found:
        bare = text.strip()
        if bare and " " not in bare and "@" in bare and len(bare) <= 250:
            found.append(f"<{bare.strip('<>')}>")
    return found[-limit_count:]


def message_id(value):
    ids = message_ids(value)
    return ids[0] if ids else ""


def parse_date(value):
    """An aware datetime for a Date header, or None. A date without zone
    (or "-0000") is taken as UTC."""
    text = to_unicode(value).strip()
    if not text:
        return None
    try:
        date = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        date = None
    if date is None:
        date = _loose_date(text)
    if date is None:
        return None
    if date.tzinfo is None:
        date = date.replace(tzinfo=dt.UTC)
    return date


def _loose_date(text):
    try:
        from dateutil import parser as date_parser

        return date_parser.parse(text[:200], fuzzy=True)
    except (ValueError, OverflowError, TypeError, ImportError):
        return None
