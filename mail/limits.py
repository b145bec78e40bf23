"""How much work one inbound email may cost: sizes, counts, depth and time.

Every limit is a setting with a default, read at call time so tests and
deployments can change it (``settings.MAIL_MAX_MESSAGE_BYTES = ...``).
"""

import time

from django.conf import settings

MB = 1024 * 1024

DEFAULTS = {
    # The whole raw message, as received.
    "MAIL_MAX_MESSAGE_BYTES": 25 * MB,
    # The header section (everything before the first blank line).
    "MAIL_MAX_HEADER_BYTES": 512 * 1024,
    # One header value we decode (Subject, From...); longer ones are cut.
    "MAIL_MAX_HEADER_VALUE_CHARS": 16 * 1024,
    # MIME parts in the whole tree, and how deep multiparts may nest.
    "MAIL_MAX_PARTS": 200,
    "MAIL_MAX_DEPTH": 12,
    # Attachments kept per message and size of one attachment.
    "MAIL_MAX_ATTACHMENTS": 20,
    "MAIL_MAX_ATTACHMENT_BYTES": 15 * MB,
    # Readable text kept per message (characters).
    "MAIL_MAX_TEXT_CHARS": 1_000_000,
    # Wall-clock budget for parsing one message.
    "MAIL_MAX_PARSE_SECONDS": 5.0,
    # Whether a plain ZIP archive (not an office document) is accepted.
    "MAIL_ALLOW_ZIP_ATTACHMENTS": False,
}


def limit(name):
    """The value of one limit: the setting if defined, else its default."""
    return getattr(settings, name, DEFAULTS[name])


class LimitExceeded(Exception):
    """A message costs more than its budget allows; the text says which limit."""


class Budget:
    """A wall-clock deadline checked between steps of the parse.

    No thread nor signal is used: the parse is single-threaded, every input
    it touches is bounded in size (message, header, parts, depth), and the
    walk over the MIME tree calls ``check()`` at each part, so a slow step
    is at most one bounded piece of work past the deadline.
    """

    def __init__(self, seconds=None):
        self.seconds = float(seconds if seconds is not None else limit("MAIL_MAX_PARSE_SECONDS"))
        self.deadline = time.monotonic() + self.seconds

    def check(self, step=""):
        if time.monotonic() > self.deadline:
            where = f" while {step}" if step else ""
            raise LimitExceeded(f"parse time limit of {self.seconds:g} s exceeded{where}")

    def remaining(self):
        return max(0.0, self.deadline - time.monotonic())
