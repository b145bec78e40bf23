"""Attachments: their file names (RFC 2231 / RFC 2047), their real content
type sniffed from the bytes, the limits they must fit, and TNEF
(winmail.dat) unpacking."""

import mimetypes
import os
import re
import unicodedata

import filetype

from contacts.inbound import InboundAttachment
from mail.charsets import decode_bytes
from mail.headers import decode_header_value, raw_header
from mail.limits import limit

OFFICE_TYPES = {
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/rtf",
}
IMAGE_TYPES = {
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/heic",
    "image/heif",
    "image/avif",
    "image/tiff",
    "image/bmp",
}
TEXT_TYPES = {"text/plain", "text/csv", "text/calendar", "message/rfc822"}
ALLOWED_TYPES = {"application/pdf"} | OFFICE_TYPES | IMAGE_TYPES | TEXT_TYPES
ARCHIVE_TYPES = {"application/zip"}

# Names that run code when opened, whatever their bytes say.
DANGEROUS_EXTENSIONS = {
    "exe", "com", "scr", "pif", "bat", "cmd", "msi", "msp", "dll", "cpl", "sys", "drv", "ocx",
    "js", "jse", "vbs", "vbe", "wsf", "wsh", "ps1", "psm1", "hta", "jar", "lnk", "reg", "scf",
    "sh", "bash", "py", "pl", "rb", "php", "app", "dmg", "pkg", "deb", "rpm", "apk", "elf",
    "iso", "img", "vhd", "vhdx", "appx", "msix", "application", "gadget", "inf", "url", "svg",
    "html", "htm", "xhtml", "docm", "xlsm", "pptm", "dotm", "xltm",
}  # fmt: skip
EXECUTABLE_MAGIC = (
    (b"MZ", "Windows executable"),
    (b"\x7fELF", "ELF executable"),
    (b"\xfe\xed\xfa\xce", "Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "Mach-O executable"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "Mach-O or Java class"),
    (b"#!", "script"),
)
EXTENSION_TYPES = {
    "csv": "text/csv",
    "ics": "text/calendar",
    "ical": "text/calendar",
    "eml": "message/rfc822",
    "txt": "text/plain",
    "text": "text/plain",
    "log": "text/plain",
    "rtf": "application/rtf",
}
_RAW_NAME = re.compile(r'(?:file)?name\s*=\s*"?([^";\r\n]+)', re.IGNORECASE)
_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


def executable_kind(data):
    """What executable ``data`` is ("" when it is none we know)."""
    head = data[:4]
    for magic, kind in EXECUTABLE_MAGIC:
        if head.startswith(magic):
            return kind
    return ""


def extension(filename):
    return os.path.splitext(filename or "")[1].lower().lstrip(".")


def _is_text(data):
    sample = data[:8192]
    if b"\x00" in sample:
        return False
    controls = sum(1 for byte in sample if byte < 9 or 13 < byte < 32)
    return controls <= len(sample) // 100


def sniff_content_type(data, filename="", declared=""):
    """The real content type of ``data``: from its bytes (magic numbers),
    then, for text, from the file name or declared type; never trusting a
    declared binary type the bytes do not confirm."""
    if not data:
        return "application/x-empty"
    if executable_kind(data):
        return "application/x-executable"
    try:
        kind = filetype.guess(data)
    except Exception:  # noqa: BLE001 - a sniffer failure means "unknown"
        kind = None
    if kind is not None:
        return kind.mime
    if data.lstrip()[:5].lower() == b"{\\rtf":
        return "application/rtf"
    if _is_text(data):
        by_name = EXTENSION_TYPES.get(extension(filename))
        if by_name:
            return by_name
        declared = (declared or "").lower()
        if declared in {"text/csv", "text/calendar", "message/rfc822", "text/html"}:
            return declared
        if extension(filename) in {"html", "htm", "xhtml"} or declared == "text/html":
            return "text/html"
        return "text/plain"
    return "application/octet-stream"


def clean_filename(name, content_type="", index=1):
    """A safe file name: no path, no control characters, at most 255
    characters, never empty (``attachment-N.<ext>`` from the type)."""
    name = decode_header_value(name or "", max_chars=1000)
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME_CHARS.sub("_", name).strip(" .")
    if not name:
        guessed = mimetypes.guess_extension(content_type or "") or ".bin"
        name = f"attachment-{index}{guessed}"
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 254 - len(ext)] + "." + ext) if dot and len(ext) <= 10 else name[:255]
    return name


def part_filename(part):
    """The decoded file name of a MIME part, or "": RFC 2231 parameters
    (decoded with our charset rules, so a bad byte does not become U+FFFD),
    RFC 2047 words inside the parameter as many clients send, raw 8-bit."""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        try:
            value = part.get_param(param, header=header)
        except Exception:  # noqa: BLE001 - malformed parameters
            value = None
        if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded value)
            charset, _, text = value
            try:
                data = bytes(text, "raw-unicode-escape")
            except UnicodeEncodeError:
                data = text.encode("utf-8", "surrogateescape")
            return decode_header_value(decode_bytes(data, charset or "utf-8"), max_chars=1000)
        if value:
            name = str(value)
            raw = raw_header(part, header)
            if any(ord(char) > 127 for char in raw):
                # Raw 8-bit parameter: decode its bytes ourselves.
                match = _RAW_NAME.search(raw)
                if match:
                    name = match.group(1)
            return decode_header_value(name.strip().strip('"'), max_chars=1000)
    return ""


def refusal(data, filename, content_type, count_so_far=0):
    """Why this attachment is refused, or "" when it is accepted."""
    if count_so_far >= limit("MAIL_MAX_ATTACHMENTS"):
        return f"too many attachments (more than {limit('MAIL_MAX_ATTACHMENTS')})"
    max_bytes = limit("MAIL_MAX_ATTACHMENT_BYTES")
    if len(data) > max_bytes:
        return f"too large ({len(data)} bytes, at most {max_bytes})"
    if not data:
        return "empty file"
    kind = executable_kind(data)
    if kind:
        return f"executable content ({kind})"
    ext = extension(filename)
    if ext in DANGEROUS_EXTENSIONS:
        return f"file type .{ext} is not accepted"
    allowed = ALLOWED_TYPES | (ARCHIVE_TYPES if limit("MAIL_ALLOW_ZIP_ATTACHMENTS") else set())
    if content_type not in allowed:
        return f"content type {content_type} is not accepted"
    return ""


def unpack_tnef(data):
    """(text body, html body, [InboundAttachment]) of a TNEF winmail.dat.
    Raises ValueError when the data is not TNEF."""
    from tnefparse.tnef import TNEF

    try:
        tnef = TNEF(data, do_checksum=False)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - the decoder fails in many ways on bad input
        raise ValueError(f"unreadable TNEF: {exc}") from exc
    attachments = []
    for index, item in enumerate(tnef.attachments, start=1):
        content = item.data or b""
        if not isinstance(content, bytes):
            continue
        try:
            name = item.long_filename() or item.name
        except Exception:  # noqa: BLE001
            name = ""
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        name = str(name or "").strip("\x00")
        content_type = sniff_content_type(content, name)
        attachments.append(InboundAttachment(clean_filename(name, content_type, index), content_type, content))
    return _tnef_text(tnef.body), _tnef_text(tnef.htmlbody), attachments


def _tnef_text(value):
    if not value:
        return ""
    if isinstance(value, bytes):
        return decode_bytes(value.rstrip(b"\x00"), "cp1252")
    return str(value).rstrip("\x00")
