"""Checks on the files citizens attach: how many, how big, and what they
really are (by their content, not their name)."""

from dataclasses import dataclass
from pathlib import PurePath

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

# Accepted kinds: what their content must be detected as, by extension.
ACCEPTED = {
    "pdf": {"application/pdf"},
    "jpg": {"image/jpeg"},
    "jpeg": {"image/jpeg"},
    "png": {"image/png"},
    "gif": {"image/gif"},
    "webp": {"image/webp"},
    "heic": {"image/heic"},
    "tif": {"image/tiff"},
    "tiff": {"image/tiff"},
    "odt": {"application/vnd.oasis.opendocument.text"},
    "ods": {"application/vnd.oasis.opendocument.spreadsheet"},
    "docx": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/zip"},
    "xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip"},
    "doc": {"application/msword", "application/x-ole-storage"},
    "txt": {None},
}
ACCEPTED_LABEL = "PDF, JPG, PNG, GIF, WEBP, HEIC, TIFF, ODT, ODS, DOCX, XLSX, DOC, TXT"


@dataclass
class CheckedFile:
    filename: str
    content_type: str
    content: bytes


def _detected(head):
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "application/x-ole-storage"
    return None


def _is_text(content):
    if b"\x00" in content:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        try:
            content.decode("cp1252")
        except UnicodeDecodeError:
            return False
    return True


def check_uploads(files):
    """The files, read and checked, or a ValidationError whose messages name
    each file and what is wrong with it."""
    files = [f for f in files if f]
    max_files = settings.FORM_MAX_FILES
    max_size = settings.FORM_MAX_FILE_BYTES
    if len(files) > max_files:
        raise ValidationError(
            _("You can attach at most %(max)d files; you chose %(count)d."),
            params={"max": max_files, "count": len(files)},
        )
    errors = []
    checked = []
    for upload in files:
        name = PurePath(upload.name or "").name[:200] or "fichier"
        if upload.size > max_size:
            errors.append(
                _("“%(name)s” is too large (%(size)s); the limit is %(max)s per file.")
                % {"name": name, "size": filesizeformat(upload.size), "max": filesizeformat(max_size)}
            )
            continue
        if upload.size == 0:
            errors.append(_("“%(name)s” is empty.") % {"name": name})
            continue
        extension = PurePath(name).suffix.lower().lstrip(".")
        if extension not in ACCEPTED:
            errors.append(
                _("“%(name)s”: this kind of file is not accepted. Accepted: %(accepted)s.")
                % {"name": name, "accepted": ACCEPTED_LABEL}
            )
            continue
        content = upload.read()
        detected = _detected(content[:8192])
        expected = ACCEPTED[extension]
        valid = _is_text(content) if None in expected else detected in expected
        if not valid:
            errors.append(
                _("“%(name)s” is not really a %(kind)s file: its content is of another kind.")
                % {"name": name, "kind": extension.upper()}
            )
            continue
        checked.append(CheckedFile(name, detected or "text/plain", content))
    if errors:
        raise ValidationError(errors)
    return checked
