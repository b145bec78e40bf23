"""The domain operations on contacts and tickets, for views, consumers,
tasks and commands alike."""

from contacts.services.ingest import IngestError, IngestResult, ingest
from contacts.services.tickets import (
    TicketActionError,
    assign,
    change_status,
    change_topic,
    close,
    note,
    reply,
    transfer,
)

__all__ = [
    "IngestError",
    "IngestResult",
    "TicketActionError",
    "assign",
    "change_status",
    "change_topic",
    "close",
    "ingest",
    "note",
    "reply",
    "transfer",
]
