"""What every log record carries, and what it must never carry.

- ``RequestIdMiddleware`` gives each request an id (the proxy's valid
  ``X-Request-ID``, else a new one), returned in the response's
  ``X-Request-ID``; Celery tasks use their task id. A URL that names a ticket
  (``<reference>``) adds its reference.
- ``ContextFilter`` copies them onto every record (``request_id``,
  ``ticket``; ``context`` for the text format).
- ``PersonalDataFilter`` masks email addresses, phone numbers and follow-up
  links in the message, the traceback and any extra field, before any
  formatter sees them. Message bodies are never logged by the code; a body
  quoted in an exception would still lose its addresses and numbers here.
- ``JsonFormatter``: one JSON object per line (``LOG_FORMAT=json``).
"""

import contextlib
import contextvars
import logging
import re
import uuid
from datetime import UTC, datetime

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

_context = contextvars.ContextVar("log_context", default=None)

CONTEXT_KEYS = ("request_id", "ticket")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_REFERENCE = re.compile(r"[A-Z0-9]{1,12}-\d{4}-\d{6}")


def current():
    """The fields bound for the code running now (a dict, not to modify)."""
    return _context.get() or {}


@contextlib.contextmanager
def bound(**fields):
    """Add ``fields`` to every record logged inside."""
    token = _context.set({**current(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def _request_id(request):
    given = request.headers.get("X-Request-ID", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Binds the request id (and a ticket reference named by the URL) for
    the request's log records, and returns the id as ``X-Request-ID``."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        request.request_id = _request_id(request)
        with bound(request_id=request.request_id):
            response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response

    async def __acall__(self, request):
        request.request_id = _request_id(request)
        with bound(request_id=request.request_id):
            response = await self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        reference = view_kwargs.get("reference")
        if isinstance(reference, str) and _REFERENCE.fullmatch(reference):
            # Unbound when the request's ``bound`` block ends.
            _context.set({**current(), "ticket": reference})


class ContextFilter(logging.Filter):
    """Puts the bound fields on the record (an explicit ``extra`` wins)."""

    def filter(self, record):
        fields = current()
        # django.request logs a response after the middleware has returned,
        # with the request itself in the record.
        request = getattr(record, "request", None)
        if request is not None and getattr(record, "request_id", None) is None:
            fields = {"request_id": getattr(request, "request_id", None), **fields}
        parts = []
        for key in CONTEXT_KEYS:
            if getattr(record, key, None) is None:
                setattr(record, key, fields.get(key))
            if getattr(record, key):
                parts.append(f"{key}={getattr(record, key)}")
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return True


# An address: the local part is masked, the domain kept (which provider or
# administration, useful to an operator and not personal).
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@((?:[\w-]+\.)+[A-Za-z]{2,})(?![\w-])")
# A phone number: E.164, international French, national French (spaces,
# dots or dashes between pairs).
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{8,15}|(?:\+|00)33[ .-]?(?:\(0\)[ .-]?)?[1-9](?:[ .-]?\d{2}){4}|0[1-9](?:[ .-]?\d{2}){4})(?!\w)"
)
# The signed token of a citizen's follow-up link opens their request.
_FOLLOWUP = re.compile(r"/suivi/[^/\s\"']+")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "context"}
# Extra fields no formatter shows (django.request's request object: its
# path and query string may hold personal data).
_NOT_SHOWN = {"request"}
_traceback = logging.Formatter()


def redact(text):
    """``text`` without email addresses, phone numbers or follow-up tokens."""
    if not text:
        return text
    text = _EMAIL.sub(r"***@\1", text)
    text = _PHONE.sub("[phone]", text)
    return _FOLLOWUP.sub("/suivi/[token]", text)


class PersonalDataFilter(logging.Filter):
    """Masks personal data in the record itself, so that every formatter
    (text, JSON) and every later handler gets the masked text."""

    def filter(self, record):
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = _traceback.formatException(record.exc_info)
            record.exc_info = None  # formatters use exc_text, masked below
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in vars(record).items():
            if key in _STANDARD or key in _NOT_SHOWN or value is None or isinstance(value, (bool, int, float)):
                continue
            setattr(record, key, redact(value if isinstance(value, str) else str(value)))
        return True


class JsonFormatter(_JsonFormatter):
    """``{"time", "level", "logger", "message", "request_id", "ticket", ...}``
    (extra fields after; ``exc_info`` for a traceback)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("reserved_attrs", [*_STANDARD, *_NOT_SHOWN, *CONTEXT_KEYS])
        super().__init__(*args, **kwargs)

    def add_fields(self, log_data, record, message_dict):
        log_data["time"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.getMessage()
        for key in CONTEXT_KEYS:
            log_data[key] = getattr(record, key, None)
        super().add_fields(log_data, record, message_dict)


def _bind_task(task_id=None, task=None, **kwargs):
    if task is not None and not getattr(task.request, "is_eager", False):
        task.request._log_token = _context.set({"request_id": task_id})


def _unbind_task(task=None, **kwargs):
    token = getattr(getattr(task, "request", None), "_log_token", None)
    if token is not None:
        task.request._log_token = None
        try:
            _context.reset(token)
        except ValueError:  # bound in another context (pool quirk): clear instead
            _context.set(None)


def _connect_celery():
    from celery import signals

    signals.task_prerun.connect(_bind_task, weak=False)
    signals.task_postrun.connect(_unbind_task, weak=False)


_connect_celery()
