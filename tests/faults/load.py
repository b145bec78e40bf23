"""The traffic the scenarios inject while they break things: citizens
posting the contact form through the JSON API, and citizens' emails landing
in a Dovecot mailbox. Both behave as real clients do: a request that fails
(a server error, a cut connection) is sent again as it was, the form with
the same ``submission_id`` (the API's guarantee that a retry is not a
second request)."""

import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

from tests.faults.stack import WIDGET_KEY


@dataclass
class Submission:
    n: int
    submission_id: str
    by_sms: bool
    status: int | None = None  # the final answer: 201, 200, or a 4xx
    answered_at: float | None = None  # time.monotonic() of that answer
    failures: list = field(default_factory=list)  # what each failed try got

    @property
    def accepted(self):
        return self.status in (200, 201)


class FormLoad:
    """``threads`` citizens submitting one after another (by default every
    other one asks for an SMS acknowledgement, the others give an email;
    ``sms`` True or False: all of them one way) until
    ``stop()`` or ``limit`` submissions, each retried for up to ``patience``
    seconds. ``started`` counts the submissions begun."""

    def __init__(self, base_url, tag, *, threads=2, limit=1000, pace=0.02, patience=60, sms=None):
        self.url = f"{base_url}/api/v1/widgets/{WIDGET_KEY}/requests/"
        self.tag = tag
        self.limit = limit
        self.pace = pace
        self.patience = patience
        self.sms = sms
        self.submissions = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, name=f"form-{i}", daemon=True) for i in range(threads)]

    def start(self):
        for thread in self._threads:
            thread.start()
        return self

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.patience + 30)
            assert not thread.is_alive(), "a form client did not finish"
        return self.submissions

    def answered(self):
        with self._lock:
            return sum(1 for s in self.submissions if s.status is not None)

    def wait_for(self, count, timeout=60):
        """Wait until ``count`` submissions in all were answered."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.answered() >= count:
                return
            time.sleep(0.05)
        raise AssertionError(f"fewer than {count} form submissions answered within {timeout}s")

    def _next(self):
        with self._lock:
            n = len(self.submissions)
            if n >= self.limit or self._stop.is_set():
                return None
            by_sms = n % 2 == 1 if self.sms is None else self.sms
            submission = Submission(n, str(uuid.uuid4()), by_sms=by_sms)
            self.submissions.append(submission)
            return submission

    def payload(self, submission):
        data = {
            "submission_id": submission.submission_id,
            "name": f"Citoyen {self.tag} {submission.n}",
            "message": f"Bonjour, demande {self.tag}-{submission.n} : mon RSA n'a pas été versé ce mois-ci.",
            "postcode": "99100",
        }
        if submission.by_sms:
            data.update(phone=f"+33612{submission.n:06d}", sms_consent=True)
        else:
            data["email"] = f"{self.tag}-{submission.n}@citoyen.example"
        return data

    def _run(self):
        with requests.Session() as session:
            while (submission := self._next()) is not None:
                self._submit(session, submission)
                time.sleep(self.pace)

    def _submit(self, session, submission):
        deadline = time.monotonic() + self.patience
        payload = self.payload(submission)
        while True:
            try:
                response = session.post(self.url, json=payload, timeout=15)
            except requests.RequestException as error:
                submission.failures.append(type(error).__name__)
            else:
                if response.status_code < 500:
                    submission.answered_at = time.monotonic()
                    submission.status = response.status_code
                    if not submission.accepted:
                        submission.failures.append(f"{response.status_code}: {response.text[:300]}")
                    return
                submission.failures.append(response.status_code)
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)


def citizen_email(tag, n, to):
    """A citizen's email with a Message-ID of its own."""
    return (
        f"From: Citoyenne {n} <{tag}-mail-{n}@citoyen.example>\r\n"
        f"To: {to}\r\n"
        f"Subject: Demande {tag} numéro {n}\r\n"
        f"Message-ID: <{tag}-{n}@citoyen.example>\r\n"
        "Date: Tue, 24 Nov 2026 10:00:00 +0100\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        f"Bonjour,\r\nceci est ma demande {tag}-{n} au sujet de l'APA de ma mère.\r\nCordialement\r\n"
    ).encode()


class MailFeeder:
    """Appends ``count`` citizen emails to a Dovecot mailbox (or fewer, if
    stopped before), one every ``pace`` seconds, each retried until the server takes it (Dovecot may be
    restarting). ``delivered`` lists the Message-IDs appended."""

    def __init__(self, dovecot, address, tag, *, count, pace=0.05, patience=60):
        self.dovecot = dovecot
        self.address = address
        self.tag = tag
        self.count = count
        self.pace = pace
        self.patience = patience
        self.delivered = []
        self.retries = 0
        self.error = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mail-feeder", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        """No more emails after the one being appended; what was appended."""
        self._stop.set()
        return self.join()

    def join(self):
        self._thread.join(timeout=self.count * (self.pace + 1) + self.patience)
        assert not self._thread.is_alive(), "the mail feeder did not finish"
        assert self.error is None, self.error
        return self.delivered

    def wait_for(self, count, timeout=60):
        deadline = time.monotonic() + timeout
        while len(self.delivered) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.delivered) >= count, f"fewer than {count} emails appended within {timeout}s"

    def _run(self):
        for n in range(self.count):
            if self._stop.is_set():
                return
            deadline = time.monotonic() + self.patience
            while True:
                try:
                    self.dovecot.append(self.address, citizen_email(self.tag, n, self.address))
                    break
                except Exception as error:  # the server is down or restarting: append again
                    self.retries += 1
                    if time.monotonic() > deadline:
                        self.error = f"email {n} could not be appended for {self.patience}s: {error!r}"
                        return
                    time.sleep(0.1)
            self.delivered.append(f"<{self.tag}-{n}@citoyen.example>")
            time.sleep(self.pace)
