"""A local SMS provider for tests and benchmarks: answers like Brevo's
transactional SMS API and OVHcloud's SMS jobs API, errors included.

    with FakeSmsProvider() as provider:
        provider.script = [500, 500]           # then 200 (the default)
        settings.SMS_BREVO_BASE_URL = provider.brevo_base_url
        ...
        provider.accepted                       # the SMS the provider took

Script steps, one per request, then ``default``:
- an int: answer that HTTP status with the provider's error body (a 2xx
  status is the normal answer);
- "timeout": sleep ``slow_seconds`` then drop the connection without
  answering (the provider took nothing);
- "hang": block until ``release()`` is called, then answer normally (the
  provider took the SMS: the worst case for whoever was waiting);
- "invalid": the provider's answer to an invalid number (Brevo: 400
  invalid_parameter; OVH: 200 with the number in invalidReceivers).

``latency`` (seconds) delays every answer, the request already taken.
``refuse_connections()`` takes the provider off the network (new
connections refused, requests on kept-alive ones dropped unanswered and
not taken) until ``accept_connections()``.
"""

import hashlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes
    json: object
    step: object
    accepted: bool = False
    at: float = field(default_factory=time.time)


class FakeSmsProvider:
    BREVO_API_KEY = "test-brevo-key"
    OVH_APPLICATION_KEY = "test-ovh-ak"
    OVH_APPLICATION_SECRET = "test-ovh-as"
    OVH_CONSUMER_KEY = "test-ovh-ck"
    OVH_SERVICE = "sms-test-1"

    def __init__(self, record_bodies=True):
        self.script = []
        self.default = 200
        self.slow_seconds = 2.0
        self.latency = 0.0
        self.refusing = False
        self.record_bodies = record_bodies
        self.received = []
        self.accepted_count = 0
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._ids = itertools.count(1_511_882_900_000_001)
        self._listen(("127.0.0.1", 0))

    def _listen(self, address):
        self.server = ThreadingHTTPServer(address, self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-sms-provider", daemon=True)

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self):
        self.thread.start()
        return self

    def refuse_connections(self):
        """Off the network until ``accept_connections()``."""
        self.refusing = True
        self.server.shutdown()
        self.server.server_close()

    def accept_connections(self):
        """Back on the network, on the same port."""
        self._listen(self.server.server_address)
        self.refusing = False
        self.thread.start()

    def __exit__(self, *exc):
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self):
        host, port = self.server.server_address
        return f"http://{host}:{port}"

    @property
    def brevo_base_url(self):
        return f"{self.url}/v3"

    @property
    def ovh_base_url(self):
        return f"{self.url}/1.0"

    def env(self, backend="brevo"):
        """Environment variables pointing a worker at this provider."""
        if backend == "ovh":
            return {
                "SMS_BACKEND": "channels_app.sms.backends.OvhBackend",
                "SMS_OVH_BASE_URL": self.ovh_base_url,
                "SMS_OVH_APPLICATION_KEY": self.OVH_APPLICATION_KEY,
                "SMS_OVH_APPLICATION_SECRET": self.OVH_APPLICATION_SECRET,
                "SMS_OVH_CONSUMER_KEY": self.OVH_CONSUMER_KEY,
                "SMS_OVH_SERVICE_NAME": self.OVH_SERVICE,
            }
        return {
            "SMS_BACKEND": "channels_app.sms.backends.BrevoBackend",
            "SMS_BREVO_BASE_URL": self.brevo_base_url,
            "SMS_BREVO_API_KEY": self.BREVO_API_KEY,
        }

    def release(self):
        """Let requests held by a "hang" step answer."""
        self._release.set()

    # -- what was received ---------------------------------------------------------

    @property
    def accepted(self):
        with self._lock:
            return [r for r in self.received if r.accepted]

    def wait_for(self, count, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"the provider received {len(self.received)} requests, expected {count}")

    def _next_step(self):
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    def _record(self, received):
        with self._lock:
            self.received.append(received)

    # -- the HTTP side -------------------------------------------------------------

    def _handler(provider):  # noqa: N805 (the closure's name for the outer instance)
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if provider.refusing:  # a kept-alive connection of before the outage
                    self.close_connection = True
                    return
                try:
                    data = json.loads(body) if body else None
                except ValueError:
                    data = None
                step = provider._next_step()
                received = Received(
                    "POST",
                    self.path,
                    dict(self.headers.items()),
                    body if provider.record_bodies else b"",
                    data if provider.record_bodies else None,
                    step,
                )
                provider._record(received)
                if step == "timeout":
                    time.sleep(provider.slow_seconds)
                    self.close_connection = True
                    return
                if step == "hang":
                    provider._release.wait()
                    step = 200
                if provider.latency:
                    time.sleep(provider.latency)
                if self.path.startswith("/v3/transactionalSMS/sms"):
                    status, answer = provider._brevo(self, data, step)
                elif self.path.startswith("/1.0/sms/") and self.path.endswith("/jobs"):
                    status, answer = provider._ovh(self, body, data, step)
                else:
                    status, answer = 404, {"message": f"no such route {self.path}"}
                if 200 <= status < 300:
                    received.accepted = True
                    with provider._lock:
                        provider.accepted_count += 1
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler

    def _brevo(self, handler, data, step):
        if handler.headers.get("api-key") != self.BREVO_API_KEY:
            return 401, {"code": "unauthorized", "message": "Key not found"}
        if step == "invalid":
            return 400, {"code": "invalid_parameter", "message": "Invalid phone number"}
        if isinstance(step, int) and step >= 300:
            code = "too_many_requests" if step == 429 else ("invalid_parameter" if step < 500 else "internal_error")
            return step, {"code": code, "message": f"scripted {step}"}
        if not isinstance(data, dict) or not all(k in data for k in ("sender", "recipient", "content")):
            return 400, {"code": "missing_parameter", "message": "sender, recipient and content are required"}
        segments = max(1, -(-len(data["content"]) // (67 if data.get("unicodeEnabled") else 153)))
        return 201, {
            "reference": hashlib.sha1(str(data).encode()).hexdigest()[:19],  # noqa: S324
            "messageId": next(self._ids),
            "smsCount": segments,
            "usedCredits": round(0.045 * segments, 3),
            "remainingCredits": 1000.0,
        }

    def _ovh(self, handler, body, data, step):
        url = f"{self.url}{handler.path}"
        timestamp = handler.headers.get("X-Ovh-Timestamp", "")
        raw = "+".join(
            [self.OVH_APPLICATION_SECRET, self.OVH_CONSUMER_KEY, "POST", url, body.decode("utf-8"), timestamp]
        )
        expected = "$1$" + hashlib.sha1(raw.encode("utf-8")).hexdigest()  # noqa: S324
        if (
            handler.headers.get("X-Ovh-Application") != self.OVH_APPLICATION_KEY
            or handler.headers.get("X-Ovh-Consumer") != self.OVH_CONSUMER_KEY
            or handler.headers.get("X-Ovh-Signature") != expected
        ):
            return 400, {
                "errorCode": "INVALID_SIGNATURE",
                "httpCode": "400 Bad Request",
                "message": "Invalid signature",
            }
        if isinstance(step, int) and step >= 300:
            return step, {"message": f"scripted {step}"}
        receivers = (data or {}).get("receivers") or []
        if step == "invalid":
            return 200, {"totalCreditsRemoved": 0, "invalidReceivers": receivers, "ids": [], "validReceivers": []}
        return 200, {
            "totalCreditsRemoved": len(receivers),
            "invalidReceivers": [],
            "ids": [next(self._ids) for _ in receivers],
            "validReceivers": receivers,
            "tag": (data or {}).get("tag", ""),
        }
