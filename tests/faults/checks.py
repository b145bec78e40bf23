"""What the scenarios assert once the fault is over, read straight from the
scenario's database (plain SQL on the models' tables: the test process's
own Django connection is the shared test database, not this one).

The SQL is built from the models' table names only, no input: S608 is off."""

# ruff: noqa: S608

import email
from collections import Counter
from email import policy
from pathlib import Path

from channels_app.models import FormSubmission
from contacts.models import Message, Outbox, Ticket, TicketEvent
from mail.models import RawMessage

TICKET = Ticket._meta.db_table
MESSAGE = Message._meta.db_table
OUTBOX = Outbox._meta.db_table
EVENT = TicketEvent._meta.db_table
RAW = RawMessage._meta.db_table
FORM = FormSubmission._meta.db_table

FINAL = {Outbox.Status.SENT, Outbox.Status.FAILED, Outbox.Status.UNKNOWN}


class Store:
    def __init__(self, pg, database):
        self.pg = pg
        self.database = database

    def rows(self, sql, params=()):
        return self.pg.query(self.database, sql, params)

    def stored_ids(self, channel):
        """How many messages each external id has, for one channel."""
        return Counter(
            external_id
            for (external_id,) in self.rows(f"SELECT external_id FROM {MESSAGE} WHERE channel = %s", [channel])
        )

    def stored_submissions(self):
        """How many messages each API submission_id has (their external id
        is ``form:api:<widget>:<submission_id>``)."""
        return Counter(external_id.rsplit(":", 1)[-1] for external_id in self.stored_ids("form").elements())

    def tickets(self):
        return self.rows(f"SELECT count(*) FROM {TICKET}")[0][0]

    def half_written(self):
        """Traces of a transaction that stopped half-way, each kind counted
        (all zero when every ticket was written whole)."""
        checks = {
            "tickets without a message": f"SELECT count(*) FROM {TICKET} t WHERE NOT EXISTS "
            f"(SELECT 1 FROM {MESSAGE} m WHERE m.ticket_id = t.id)",
            "tickets without their 'created' event": f"SELECT count(*) FROM {TICKET} t WHERE NOT EXISTS "
            f"(SELECT 1 FROM {EVENT} e WHERE e.ticket_id = t.id AND e.kind = 'created')",
            "tickets without an acknowledgement": f"SELECT count(*) FROM {TICKET} t WHERE NOT EXISTS "
            f"(SELECT 1 FROM {OUTBOX} o WHERE o.ticket_id = t.id AND o.idempotency_key LIKE 'ack:%%')",
            "form tickets without their submission": f"SELECT count(*) FROM {TICKET} t WHERE t.channel = 'form' "
            f"AND NOT EXISTS (SELECT 1 FROM {FORM} f WHERE f.ticket_id = t.id)",
            "raw emails left pending": f"SELECT count(*) FROM {RAW} WHERE status = 'pending'",
            "raw emails stored but not as a message": f"SELECT count(*) FROM {RAW} r WHERE r.status = 'created' "
            f"AND NOT EXISTS (SELECT 1 FROM {MESSAGE} m WHERE m.ticket_id = r.ticket_id AND m.channel = 'email')",
        }
        return {name: self.rows(sql)[0][0] for name, sql in checks.items()}

    def outbox(self):
        """Outbox rows per channel and status: {"sms": {"sent": 3}, ...}."""
        outcomes = {}
        for channel, status, count in self.rows(
            f"SELECT channel, status, count(*) FROM {OUTBOX} GROUP BY channel, status ORDER BY 1, 2"
        ):
            outcomes.setdefault(channel, {})[status] = count
        return outcomes

    def unsettled(self):
        return self.rows(f"SELECT count(*) FROM {OUTBOX} WHERE status NOT IN ('sent', 'failed', 'unknown')")[0][0]

    def silent_failures(self):
        """Failed or unknown rows of a ticket without the delivery_failed
        event that shows it to the agents."""
        return self.rows(
            f"SELECT o.id, o.status, o.last_error FROM {OUTBOX} o WHERE o.status IN ('failed', 'unknown') "
            f"AND o.ticket_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {EVENT} e WHERE e.ticket_id = o.ticket_id "
            "AND e.kind = 'delivery_failed' AND (e.data ->> 'outbox')::bigint = o.id)"
        )

    def sms_rows(self):
        """{idempotency key: status} of the SMS rows."""
        return dict(self.rows(f"SELECT idempotency_key, status FROM {OUTBOX} WHERE channel = 'sms'"))

    def sent_email_ids(self):
        return {
            message_id
            for (message_id,) in self.rows(
                f"SELECT payload ->> 'message_id' FROM {OUTBOX} WHERE channel = 'email' AND status = 'sent'"
            )
        }


def emails_delivered(folder):
    """Message-IDs of the emails the file backend wrote, counted."""
    counts = Counter()
    for path in sorted(Path(folder).iterdir()):
        raw = path.read_bytes()
        # The file backend writes each message followed by a line of dashes.
        for chunk in raw.split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                counts[email.message_from_bytes(chunk, policy=policy.default)["Message-ID"]] += 1
    return counts


def sms_accepted(provider):
    """How many times the SMS provider accepted each outbox key (Brevo's ``tag``)."""
    return Counter(request.json["tag"] for request in provider.accepted)


def assert_stored_once(expected, stored, what):
    """Every expected id stored exactly once, nothing else stored."""
    missing = sorted(set(expected) - set(stored))
    twice = sorted(key for key, count in stored.items() if count > 1)
    unexpected = sorted(set(stored) - set(expected))
    assert not missing, f"{len(missing)} {what} accepted but not stored: {missing[:5]}"
    assert not twice, f"{len(twice)} {what} stored more than once: {twice[:5]}"
    assert not unexpected, f"{len(unexpected)} {what} stored that nobody sent: {unexpected[:5]}"


def assert_outbox_settled(store, provider):
    """Every row sent or visibly failed/unknown; no SMS accepted twice by
    the provider; each row marked sent accepted exactly once."""
    assert store.unsettled() == 0, store.outbox()
    assert store.silent_failures() == [], "failed or unknown rows without a delivery_failed event"
    accepted = sms_accepted(provider)
    twice = {key: count for key, count in accepted.items() if count > 1}
    assert not twice, f"SMS accepted more than once by the provider: {twice}"
    rows = store.sms_rows()
    sent_not_accepted = [key for key, status in rows.items() if status == Outbox.Status.SENT and not accepted[key]]
    assert not sent_not_accepted, f"SMS rows marked sent that the provider never accepted: {sent_not_accepted[:5]}"
    failed_but_accepted = [key for key, status in rows.items() if status == Outbox.Status.FAILED and accepted[key]]
    assert not failed_but_accepted, f"SMS rows marked failed that the provider accepted: {failed_but_accepted[:5]}"
