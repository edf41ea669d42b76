"""Observability: the lifecycle event log (list it, or follow it live), webhooks that
receive it signed per Standard Webhooks (with verify_webhook for the receiving side),
and the monitor stream of usage samples."""

import base64
import hashlib
import hmac
import time
import urllib.parse

from .machine import _client, _pages


def list_events(type=None, subject=None, since_seq=None, since=None, api_url=None,
                api_key=None, client=None):
    """Every stored event matching the filters, oldest first. `type`: an event type
    ("machine.running") or a family ("machine.*"); `subject`: a machine, volume, key,
    build, snapshot or webhook ID; `since_seq`: after this sequence number; `since`:
    at or after this time (ms since the epoch)."""
    c = _client(client, api_url, api_key)
    return _pages(c, "/v1/events", "events", type=type, subject=subject, since_seq=since_seq,
                  since=since)


def follow_events(type=None, machine=None, since_seq=None, api_url=None, api_key=None,
                  client=None, timeout=600):
    """Yields events as they happen (a generator over a WebSocket session), starting
    after `since_seq` when given (stored events first, then live ones). Stop by closing
    the generator."""
    c = _client(client, api_url, api_key)
    s = c.streams(timeout=timeout)
    try:
        fields = {}
        if type:
            fields["event_type"] = type
        if machine:
            fields["machine"] = machine
        if since_seq is not None:
            fields["since_seq"] = since_seq
        ch = s.call("events.subscribe", **fields)["channel"]
        while True:
            msg = s.next()
            if msg.get("type") == "event" and msg.get("channel") == ch:
                yield msg["event"]
    finally:
        s.close()


def monitor(machines=None, interval_ms=1000, api_url=None, api_key=None, client=None,
            timeout=600):
    """Yields ("sample", {...}) every interval_ms for each watched running machine
    (all of them when machines is None), ("event", {...}) for their lifecycle events and
    for builds and snapshots, ("process", {...}) when a process in one of them starts
    or exits, and ("progress", {...}) for operations under way (a checkpoint's bytes so
    far, a build's step). Stop by closing the generator."""
    c = _client(client, api_url, api_key)
    s = c.streams(timeout=timeout)
    try:
        ch = s.call("monitor.subscribe", machines=list(machines or []),
                    interval_ms=interval_ms)["channel"]
        while True:
            msg = s.next()
            if msg.get("type") == "monitor" and msg.get("channel") == ch:
                for kind in ("sample", "event", "process", "progress"):
                    if kind in msg:
                        yield kind, msg[kind]
    finally:
        s.close()


class Webhook:
    """An endpoint events are delivered to: .id, .info (url, events, enabled,
    description) and, right after create or rotate_secret, .secret."""

    def __init__(self, client, info):
        self.client = client
        self.info = info
        self.id = info["id"]
        self.secret = info.get("secret")

    def __repr__(self):
        return "Webhook(%s, %s)" % (self.id, self.info.get("url"))

    def _path(self, suffix=""):
        return "/v1/webhooks/" + urllib.parse.quote(self.id, safe="") + suffix

    @classmethod
    def create(cls, url, events=None, enabled=True, description=None, api_url=None,
               api_key=None, client=None):
        """Creates a webhook; events: types or families (["machine.*"]), all when None.
        Keep .secret: it is shown only now."""
        c = _client(client, api_url, api_key)
        body = {"url": url, "enabled": enabled}
        if events is not None:
            body["events"] = list(events)
        if description is not None:
            body["description"] = description
        return cls(c, c.request("POST", "/v1/webhooks", body=body))

    @classmethod
    def get(cls, id, api_url=None, api_key=None, client=None):
        c = _client(client, api_url, api_key)
        return cls(c, c.request("GET", "/v1/webhooks/" + urllib.parse.quote(id, safe="")))

    @classmethod
    def list(cls, api_url=None, api_key=None, client=None):
        c = _client(client, api_url, api_key)
        return [cls(c, w) for w in _pages(c, "/v1/webhooks", "webhooks")]

    def update(self, **fields):
        """Changes url, events, enabled or description."""
        self.info = self.client.request("PATCH", self._path(), body=fields)
        return self

    def delete(self):
        self.client.request("DELETE", self._path())

    def rotate_secret(self):
        """A new secret (returned and kept in .secret); deliveries from now on use it."""
        self.info = self.client.request("POST", self._path("/rotate-secret"))
        self.secret = self.info["secret"]
        return self.secret

    def test(self):
        """Queues a webhook.ping event for this endpoint only."""
        self.client.request("POST", self._path("/test"))

    def deliveries(self):
        """Its deliveries, newest first, each with its attempt_log."""
        return _pages(self.client, self._path("/deliveries"), "deliveries")

    def redeliver(self, delivery_id):
        """Sends a delivery again now (the same webhook-id)."""
        return self.client.request(
            "POST", self._path("/deliveries/%s/redeliver" % urllib.parse.quote(delivery_id,
                                                                                 safe="")))


class WebhookVerificationError(ValueError):
    """A delivery whose signature or timestamp does not check out."""


def verify_webhook(secret, headers, body, tolerance_s=300, now=None):
    """Checks a delivery as its receiver got it: `headers` (any case), `body` (bytes).
    Raises WebhookVerificationError unless one v1 signature matches HMAC-SHA256 of
    "id.timestamp.body" under the secret and the timestamp is within tolerance_s of now
    (a replayed delivery is refused). Returns the webhook-id (deduplicate on it)."""
    h = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id, ts, sigs = h["webhook-id"], h["webhook-timestamp"], h["webhook-signature"]
        stamp = int(ts)
    except (KeyError, ValueError) as e:
        raise WebhookVerificationError("missing or malformed webhook headers") from e
    if abs((now or time.time()) - stamp) > tolerance_s:
        raise WebhookVerificationError("timestamp outside the tolerance")
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    if isinstance(body, str):
        body = body.encode()
    mac = hmac.new(key, ("%s.%s." % (msg_id, ts)).encode() + body, hashlib.sha256).digest()
    want = "v1," + base64.b64encode(mac).decode()
    if not any(hmac.compare_digest(want, s) for s in sigs.split()):
        raise WebhookVerificationError("no signature matches")
    return msg_id
