"""SMS backends behind one interface, chosen by settings.SMS_BACKEND like
Django's email backends.

- ``ConsoleBackend`` (the embedded default) writes to standard output;
- ``FileBackend`` writes one JSON file per SMS in settings.SMS_FILE_PATH;
- ``LocmemBackend`` keeps them in memory (tests);
- ``BrevoBackend`` and ``OvhBackend`` call the providers' HTTP APIs, their
  base URL configurable (settings.SMS_BREVO_BASE_URL, SMS_OVH_BASE_URL).

Each backend says whether sending the same row twice can reach the citizen
twice (``resend_is_safe``); the SMS sender is registered with that flag and
the outbox sweeper relies on it after a crash (see docs/sms.md).
"""

import abc
import functools
import hashlib
import itertools
import json
import os
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from contacts.senders import PermanentDeliveryError, TemporaryDeliveryError


class BaseSmsBackend(abc.ABC):
    # True only when the backend itself deduplicates on ``reference``.
    resend_is_safe = False

    @abc.abstractmethod
    def send(self, to, text, *, reference, sender="", unicode=False):
        """Send ``text`` to the E.164 number ``to``; return the provider's id.

        ``reference`` is our outbox idempotency key, passed to providers that
        accept a client reference; ``sender`` the name or number shown to the
        citizen (the provider's default when empty); ``unicode`` asks for
        UCS-2. Raise contacts.senders.TemporaryDeliveryError or
        PermanentDeliveryError on failure.
        """


class ConsoleBackend(BaseSmsBackend):
    """Writes each SMS to standard output (the embedded default)."""

    _ids = itertools.count(1)

    def send(self, to, text, *, reference, sender="", unicode=False):
        sys.stdout.write(f"SMS to {to} from {sender or '-'} [{reference}]\n{text}\n{'-' * 40}\n")
        sys.stdout.flush()
        return f"console-{next(self._ids)}"


class LocmemBackend(BaseSmsBackend):
    """Keeps every call in ``LocmemBackend.outbox`` (tests); a resend is
    recorded twice, so it is not safe."""

    outbox = []
    _lock = threading.Lock()

    def send(self, to, text, *, reference, sender="", unicode=False):
        with self._lock:
            self.outbox.append({"to": to, "text": text, "reference": reference, "sender": sender, "unicode": unicode})
            return f"locmem-{len(self.outbox)}"


class FileBackend(BaseSmsBackend):
    """One JSON file per reference in settings.SMS_FILE_PATH. The file is
    created exclusively, so the same reference sent twice is written once:
    a resend is safe."""

    resend_is_safe = True

    def send(self, to, text, *, reference, sender="", unicode=False):
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(reference.encode()).hexdigest()[:32]
        path = folder / f"{name}.json"
        record = {
            "to": to,
            "text": text,
            "reference": reference,
            "sender": sender,
            "unicode": unicode,
            "sent_at": timezone.now().isoformat(),
        }
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return f"file-{name}"
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle, ensure_ascii=False)
        return f"file-{name}"


def _post(url, provider, body, headers):
    """POST ``body`` (bytes) and map the outcome: timeouts, connection
    errors, 5xx and 429 are temporary; any other 4xx is permanent. Never
    retried here: a POST the provider may have taken is the outbox's call."""
    try:
        response = _pool(url).request(
            "POST",
            url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(
                connect=settings.SMS_HTTP_CONNECT_TIMEOUT_SECONDS, read=settings.SMS_HTTP_TIMEOUT_SECONDS
            ),
            retries=False,
            redirect=False,
        )
    except urllib3.exceptions.NewConnectionError as exc:
        raise TemporaryDeliveryError(f"{provider}: connection error: {exc}") from exc
    except urllib3.exceptions.TimeoutError as exc:
        raise TemporaryDeliveryError(f"{provider}: timeout: {exc}") from exc
    except urllib3.exceptions.HTTPError as exc:  # reset, aborted, TLS, proxy
        raise TemporaryDeliveryError(f"{provider}: connection error: {type(exc).__name__}: {exc}") from exc
    status = response.status
    text = response.data.decode("utf-8", "replace")
    if status >= 500 or status == 429:
        raise TemporaryDeliveryError(f"{provider}: HTTP {status}: {text[:300]}")
    if status >= 400:
        raise PermanentDeliveryError(f"{provider}: HTTP {status}: {text[:300]}")
    try:
        return json.loads(text)
    except ValueError as exc:
        # Accepted (2xx) but unreadable: the SMS may well be on its way, so
        # retrying could send it twice. Permanent, with the body to check.
        raise PermanentDeliveryError(f"{provider}: HTTP {status} with a body that is not JSON: {text[:300]}") from exc


def _pool(url):
    parts = urlsplit(url)
    return _pool_for(parts.scheme, parts.netloc)


@functools.lru_cache(maxsize=32)
def _pool_for(scheme, netloc):
    """One keep-alive connection pool per provider host and process, shared
    by the worker's threads (urllib3, the transport under requests, without
    requests' per-call preparation, which cost more CPU than the rest of a
    delivery). Proxies (HTTPS_PROXY, NO_PROXY...) and the CA bundle
    (REQUESTS_CA_BUNDLE, else certifi's) are read from the environment once,
    as requests would read them."""
    with requests.Session() as reader:
        environment = reader.merge_environment_settings(f"{scheme}://{netloc}/", {}, None, None, None)
    verify = environment["verify"]
    if verify is False:
        tls = {"cert_reqs": "CERT_NONE"}
    else:
        tls = {"cert_reqs": "CERT_REQUIRED", "ca_certs": verify if isinstance(verify, str) else DEFAULT_CA_BUNDLE_PATH}
    options = {"num_pools": 4, "maxsize": 16, "retries": False, **tls}
    proxies = environment["proxies"]
    proxy = proxies.get(scheme) or proxies.get("all")
    return urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)


def _json(payload):
    return json.dumps(payload).encode("utf-8")


class BrevoBackend(BaseSmsBackend):
    """Brevo transactional SMS: POST {base}/transactionalSMS/sms with the
    ``api-key`` header and a JSON body {sender, recipient, content, type,
    tag, webUrl, unicodeEnabled[, organisationPrefix]}; 201 answers
    {reference, messageId, smsCount, usedCredits, remainingCredits}.

    The API takes no idempotency key. We pass our outbox key as ``tag``: a
    label that comes back in reports and webhooks so a person can find the
    SMS, with no deduplication. A resend is therefore not safe.
    """

    def send(self, to, text, *, reference, sender="", unicode=False):
        body = {
            "sender": (sender or settings.SMS_DEFAULT_SENDER)[:15],
            "recipient": to.lstrip("+"),
            "content": text,
            "type": "transactional",
            "tag": reference,
            "unicodeEnabled": bool(unicode),
        }
        if settings.SMS_RECEIPT_URL:
            body["webUrl"] = settings.SMS_RECEIPT_URL
        if settings.SMS_BREVO_ORGANISATION_PREFIX:
            body["organisationPrefix"] = settings.SMS_BREVO_ORGANISATION_PREFIX
        answer = _post(
            settings.SMS_BREVO_BASE_URL.rstrip("/") + "/transactionalSMS/sms",
            "brevo",
            _json(body),
            {"api-key": settings.SMS_BREVO_API_KEY, "accept": "application/json", "content-type": "application/json"},
        )
        message_id = answer.get("messageId")
        if message_id in (None, ""):
            raise PermanentDeliveryError(f"brevo: accepted without a messageId: {answer!r}"[:500])
        return str(message_id)


def ovh_signature(application_secret, consumer_key, method, url, body, timestamp):
    """X-Ovh-Signature: "$1$" + SHA1 hex of AS+CK+METHOD+URL+BODY+TSTAMP,
    the parts joined by "+" (as the OVH API documents and its clients do)."""
    raw = "+".join([application_secret, consumer_key, method.upper(), url, body, str(timestamp)])
    return "$1$" + hashlib.sha1(raw.encode("utf-8")).hexdigest()  # noqa: S324 (the protocol's choice)


class OvhBackend(BaseSmsBackend):
    """OVHcloud SMS: POST {base}/sms/{serviceName}/jobs (base
    https://eu.api.ovh.com/1.0) signed with the application key, consumer
    key and X-Ovh-Signature; 200 answers {ids, invalidReceivers,
    validReceivers, totalCreditsRemoved}.

    The API takes no idempotency key; ``tag`` (our outbox key, shortened to
    20 characters) only labels the job. A resend is therefore not safe.
    """

    def send(self, to, text, *, reference, sender="", unicode=False):
        url = f"{settings.SMS_OVH_BASE_URL.rstrip('/')}/sms/{settings.SMS_OVH_SERVICE_NAME}/jobs"
        payload = {
            "message": text,
            "receivers": [to],
            "charset": "UTF-8",
            "coding": "8bit" if unicode else "7bit",
            "class": "phoneDisplay",
            "priority": "high",
            # Administrative messages, not marketing: no "STOP" line appended.
            "noStopClause": True,
            "validityPeriod": 2880,
            "tag": reference if len(reference) <= 20 else hashlib.sha1(reference.encode()).hexdigest()[:20],  # noqa: S324
        }
        sender = sender or settings.SMS_DEFAULT_SENDER
        if sender:
            payload["sender"] = sender
        else:
            payload["senderForResponse"] = True
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        timestamp = int(time.time())
        headers = {
            "X-Ovh-Application": settings.SMS_OVH_APPLICATION_KEY,
            "X-Ovh-Consumer": settings.SMS_OVH_CONSUMER_KEY,
            "X-Ovh-Timestamp": str(timestamp),
            "X-Ovh-Signature": ovh_signature(
                settings.SMS_OVH_APPLICATION_SECRET, settings.SMS_OVH_CONSUMER_KEY, "POST", url, body, timestamp
            ),
            "Content-Type": "application/json",
        }
        answer = _post(url, "ovh", body.encode("utf-8"), headers)
        if to in (answer.get("invalidReceivers") or []) or not answer.get("ids"):
            raise PermanentDeliveryError(f"ovh: invalid receiver {to}: {answer!r}"[:500])
        return str(answer["ids"][0])


def backend_class(path=None):
    return import_string(path or settings.SMS_BACKEND)


def get_backend():
    return backend_class()()
