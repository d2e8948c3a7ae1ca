#!/usr/bin/env python3
"""sms_gateway.py: HTTP doubles of the SMS gateways the relay polls and sends
through: Twilio (JSON), Esendex (XML) and SMS Gateway for Android (JSON,
local-server mode). Shapes follow /work/shared/reference/sms-gateways.md and,
where it is silent, the providers' public documentation and SDKs (see
README.md in this directory for what is modelled and what is simplified).

    from sms_gateway import Gateway
    with Gateway("twilio") as gw:               # plain HTTP on 127.0.0.1
        sid = gw.add_inbound("+447700900123", "hi")
        ... point the relay at gw.url, gw.account, gw.username, gw.password ...
        assert gw.sent[0]["to"] == "+447700900123"
        gw.fault("429", count=2)                # next two requests get 429

    python3 sms_gateway.py --provider twilio --port 8080 [--tls CERT KEY]

Python 3 standard library only.
"""

import argparse
import base64
import collections
import datetime
import email.utils
import json
import math
import os
import re
import secrets
import signal
import socket
import ssl
import sys
import threading
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROVIDERS = ("twilio", "esendex", "android")
FAULT_KINDS = ("401", "403", "429", "500", "503", "slow", "drop", "stall", "late", "long")
LONG_ANSWER = 5 * 1024 * 1024   # "long": white space after the answer, past any sane client's cap

ESENDEX_NS = "http://api.esendex.com/ns/"
ET.register_namespace("", ESENDEX_NS)

# One logged request: query is a dict of the decoded parameters (last value wins).
Request = collections.namedtuple("Request", "method path query auth_ok")

# GSM 03.38 default alphabet and its extension table (each extension char costs 2 septets).
GSM_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
                "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENSION = set("^{}\\[~]|€\f")


def is_gsm(text):
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)


def gsm_mangle(text):
    """What a GSM-only route makes of text: every non-GSM character becomes '?'."""
    return "".join(c if (c in GSM_BASIC or c in GSM_EXTENSION) else "?" for c in text)


def segments(text):
    """SMS parts text needs (GSM-7 160/153 septets, else UCS-2 70/67 units)."""
    if is_gsm(text):
        n, single, multi = sum(2 if c in GSM_EXTENSION else 1 for c in text), 160, 153
    else:
        n, single, multi = len(text.encode("utf-16-le")) // 2, 70, 67
    if n <= single:
        return 1
    return math.ceil(n / multi)


def _utc(when):
    """when (None = now, epoch seconds, naive = UTC, or aware datetime) as aware UTC."""
    if when is None:
        return datetime.datetime.now(datetime.timezone.utc)
    if isinstance(when, (int, float)):
        return datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
    if when.tzinfo is None:
        return when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc)


def rfc2822(dt):
    """Twilio's dates: 'Sat, 21 Nov 2026 10:00:00 +0000'."""
    return email.utils.format_datetime(dt.replace(microsecond=0)) if dt else None


def iso_ms_z(dt):
    """Esendex's dates: '2026-11-21T10:00:00.000Z'."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def java_iso(dt, offset_minutes):
    """The Android app's Gson format yyyy-MM-dd'T'HH:mm:ss.SSSXXX in the phone's
    zone: 'Z' for a zero offset, else '+01:00'."""
    local = dt.astimezone(datetime.timezone(datetime.timedelta(minutes=offset_minutes)))
    s = local.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d" % (local.microsecond // 1000)
    if offset_minutes == 0:
        return s + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    return s + "%s%02d:%02d" % (sign, abs(offset_minutes) // 60, abs(offset_minutes) % 60)


def parse_iso(value):
    """An ISO 8601 date-time ('Z' or offset; naive taken as UTC) or None."""
    try:
        dt = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return _utc(dt)


def _local(tag):
    return tag.rsplit("}", 1)[-1]


class Fault:
    def __init__(self, kind, count, path_prefix, seconds, retry_after, method=None):
        self.method = method
        self.kind = kind
        self.count = count
        self.path_prefix = path_prefix
        self.seconds = seconds
        self.retry_after = retry_after


class Gateway:
    """One provider's API on 127.0.0.1.

    Gateway(provider, port=0, tls=None, username=None, password=None,
            account=None, number="+447700900000", page_size=2,
            utc_offset_minutes=0, control=False, url_host="127.0.0.1")

    provider: "twilio", "esendex" or "android". port 0 picks a free one.
    tls: (certfile, keyfile) to serve HTTPS; else plain HTTP.
    username/password: the HTTP Basic credentials the double accepts. Defaults:
      twilio: the account SID and a fixed auth token; esendex: an e-mail login;
      android: "sms" (the app's local-server user).
    account: Twilio AccountSid (AC + 32 hex) or Esendex account reference (EX...).
    number: the service's own number (To of inbound texts).
    page_size: the largest page the double serves whatever the client asks
      (forces paging in tests); None honours the client like the real APIs.
    utc_offset_minutes: the Android phone's zone for createdAt (60 = BST).
    control: serve /_control/... (the CLI turns it on for the demo).
    url_host: the host name put in .url (bind is always 127.0.0.1).
    """

    def __init__(self, provider, port=0, tls=None, username=None, password=None,
                 account=None, number="+447700900000", page_size=2,
                 utc_offset_minutes=0, control=False, url_host="127.0.0.1"):
        if provider not in PROVIDERS:
            raise ValueError("provider must be one of %s" % ", ".join(PROVIDERS))
        self.provider = provider
        self.tls = tls
        self.number = number
        self.page_size = page_size
        self.utc_offset_minutes = utc_offset_minutes
        self.control = control
        self.url_host = url_host
        if provider == "twilio":
            self.account = account or "AC" + "0123456789abcdef" * 2
            self.username = username or self.account
            self.password = password or "twilio-test-auth-token"
        elif provider == "esendex":
            self.account = account or "EX0000001"
            self.username = username or "relay@example.org"
            self.password = password or "esendex-test-password"
        else:
            self.account = account
            self.username = username or "sms"
            self.password = password or "android-test-password"
        self._port = port
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server = None
        self._thread = None
        self._faults = []
        self._seq = 0
        self._messages = []      # every stored message record (dicts), any direction
        self._by_id = {}         # provider id -> record (latest with that id)
        self._page_tokens = {}   # Twilio PageToken -> sort key of the last item on the page
        self._opted_out = set()
        self.sent = []           # what the relay sent, oldest first
        self.requests = []       # Request tuples, oldest first
        self.acks = []           # Esendex (action, id): ("read"|"unread"|"delete", id)
        self.tls_refused = 0     # TLS connections closed before any request (certificate refused)

    # -- life cycle ---------------------------------------------------------

    def start(self):
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _Handler)
        server.daemon_threads = True
        server.gateway = self
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls[0], self.tls[1])
            # The handshake runs in the handler thread, so a silent client
            # cannot block accept().
            server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                            do_handshake_on_connect=False)
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop serving; stalled and slow requests are released (idempotent)."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        return False

    @property
    def port(self):
        return self._server.server_address[1] if self._server else self._port

    @property
    def url(self):
        return "%s://%s:%d" % ("https" if self.tls else "http", self.url_host, self.port)

    # -- test-facing state --------------------------------------------------

    def add_inbound(self, sender, body, to=None, when=None, id=None, replace=False, body_bytes=None):
        """Store a text from sender to our number (or to); returns its provider
        id. when: datetime (naive = UTC) or epoch seconds, default now.
        Android only: id forces the id (its ids repeat); replace=True drops an
        earlier record with that id first, as the phone's database does.
        Esendex only: body_bytes (bytes, e.g. invalid UTF-8) is served as-is
        inside <bodytext> by the body resource (a hostile gateway); body is
        then what the inbox summary shows."""
        if body_bytes is not None and self.provider != "esendex":
            raise ValueError("body_bytes is Esendex only")
        dt = _utc(when)
        to = to or self.number
        with self._lock:
            if self.provider == "twilio":
                rec = self._twilio_record("inbound", sender, to, body, dt, status="received")
                rec["date_sent"] = dt
            elif self.provider == "esendex":
                rec = self._new_record(direction="Inbound", id=str(uuid.uuid4()), sender=sender,
                                       to=to, body=body, created=dt, status="Submitted",
                                       characterset="GSM" if is_gsm(body) else "Unicode",
                                       read_at=None, read_by=None, in_inbox=True, body_bytes=body_bytes)
            else:
                if id is None:
                    # The app's id is "text:" + Java hashCode of (address, date, text, sub).
                    h = zlib.crc32(("%s|%d|%s" % (sender, int(dt.timestamp() * 1000), body)).encode())
                    id = "text:%d" % (h - (1 << 32) if h >= (1 << 31) else h)
                if replace:
                    self._messages = [m for m in self._messages
                                      if not (m["direction"] == "inbound" and m["id"] == id)]
                rec = self._new_record(direction="inbound", id=id, sender=sender, to=to,
                                       body=body, created=dt)
            return rec["id"]

    def add_outbound(self, to, body, sender=None, when=None, status="delivered"):
        """Twilio only: a message the account sent some other way (it shows in
        the list with direction outbound-api, so the relay must filter)."""
        if self.provider != "twilio":
            raise ValueError("add_outbound is Twilio only")
        dt = _utc(when)
        with self._lock:
            rec = self._twilio_record("outbound-api", sender or self.number, to, body, dt,
                                      status=status)
            rec["date_sent"] = dt
            return rec["id"]

    def set_status(self, id, status, error=None):
        """Move an outbound message on. Twilio: queued/sent/delivered/undelivered/
        failed (error = error_code, e.g. 30003). Esendex: Submitted/Sent/
        Delivered/Failed... (error = failure description). Android: Pending/
        Processed/Sent/Delivered/Failed (error = recipient error text)."""
        now = _utc(None)
        with self._lock:
            rec = self._by_id.get(id)
            if rec is None:
                raise KeyError(id)
            rec["status"] = status
            rec["updated"] = now
            rec["states"][status] = now
            low = status.lower()
            if low in ("sent", "delivered", "undelivered", "failed") and rec.get("date_sent") is None:
                rec["date_sent"] = now
            if low == "delivered":
                rec["delivered_at"] = now
            if low in ("failed", "undelivered"):
                if self.provider == "twilio":
                    rec["error_code"] = int(error) if error else 30003
                    rec["error_message"] = None
                else:
                    rec["failure"] = error or "Delivery failed"

    def opt_out(self, number):
        """Record number as having texted STOP. Twilio: sending to it answers 400
        code 21610. Esendex: the dispatcher accepts it but its header is Failed
        at once (failurereason 'Recipient opted out'). Android: a phone has no
        opt-out list, so nothing changes (the relay must keep its own)."""
        with self._lock:
            self._opted_out.add(number)

    def fault(self, kind, count=1, path_prefix=None, seconds=2.0, retry_after=1, method=None):
        """The next count requests whose path starts with path_prefix (any path
        when None) fail as kind: "401", "403", "429" (with Retry-After:
        retry_after), "500", "503", "slow" (answer after seconds), "drop"
        (headers and half the body, then close; the action is still done),
        "stall" (read the request, never answer until stop()), "late" (do the
        action at once, as the gateway would, and answer only after seconds:
        a client that timed out never hears that its send was taken), "long"
        (do the action, answer with the usual document followed by
        LONG_ANSWER bytes of white space: still valid JSON/XML, but longer
        than a client should read). method (e.g. "POST"): only requests
        with that method take the fault."""
        if kind not in FAULT_KINDS:
            raise ValueError("fault kind must be one of %s" % ", ".join(FAULT_KINDS))
        with self._lock:
            self._faults.append(Fault(kind, count, path_prefix, seconds, retry_after, method))

    def messages(self):
        """Every stored message as the double holds it (copies), oldest first."""
        with self._lock:
            return [dict(m) for m in self._messages]

    def status(self, id):
        with self._lock:
            return self._by_id[id]["status"]

    # -- internals: records -------------------------------------------------

    def _new_record(self, **fields):
        self._seq += 1
        rec = {"seq": self._seq, "status": None, "updated": fields.get("created"),
               "date_sent": None, "delivered_at": None, "failure": None,
               "error_code": None, "error_message": None, "states": {}}
        rec.update(fields)
        rec.setdefault("stored_body", rec.get("body"))
        self._messages.append(rec)
        self._by_id[rec["id"]] = rec
        return rec

    def _twilio_record(self, direction, sender, to, body, dt, status):
        return self._new_record(direction=direction, id="SM" + uuid.uuid4().hex, sender=sender,
                                to=to, body=body, created=dt, status=status,
                                num_segments=str(segments(body)))

    def _take_fault(self, path, method=None):
        with self._lock:
            for f in self._faults:
                if f.method is not None and f.method != method:
                    continue
                if f.path_prefix is None or path.startswith(f.path_prefix):
                    f.count -= 1
                    if f.count <= 0:
                        self._faults.remove(f)
                    return f
        return None


# -- the HTTP side ---------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sms-gateway-double/1"
    timeout = 60

    def log_message(self, fmt, *args):
        if os.environ.get("SMS_DOUBLE_VERBOSE"):
            sys.stderr.write("%s %s\n" % (self.server.gateway.provider, fmt % args))

    def handle(self):
        tls = isinstance(self.connection, ssl.SSLSocket)
        self.served = 0
        try:
            if tls:
                self.connection.settimeout(10)
                self.connection.do_handshake()
                self.connection.settimeout(self.timeout)
            super().handle()
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            pass
        # A client that refuses our certificate leaves with an alert during
        # the handshake or, under TLS 1.3, after our side of it was done.
        if tls and self.served == 0:
            with self.server.gateway._lock:
                self.server.gateway.tls_refused += 1

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = lambda self: self._dispatch()

    # -- one request --------------------------------------------------------

    def _dispatch(self):
        gw = self.server.gateway
        self.gw = gw
        self.served += 1
        self._drop = False
        self._late = 0
        self._long = False
        parts = urllib.parse.urlsplit(self.path)
        self.req_path = parts.path
        self.raw_query = parts.query
        self.query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        self.body = self._read_body()

        if self.req_path.startswith("/_control/") and gw.control:
            return self._control()

        self.auth_user, auth_ok = self._check_auth()
        with gw._lock:
            gw.requests.append(Request(self.command, self.req_path, dict(self.query), auth_ok))

        f = gw._take_fault(self.req_path, self.command)
        if f is not None:
            if f.kind == "stall":
                gw._stopping.wait()
                self.close_connection = True
                return
            if f.kind == "slow":
                if gw._stopping.wait(f.seconds):
                    self.close_connection = True
                    return
            elif f.kind == "drop":
                self._drop = True
            elif f.kind == "late":
                self._late = f.seconds
            elif f.kind == "long":
                self._long = True
            else:
                return self._error(int(f.kind), retry_after=f.retry_after)

        if not auth_ok:
            return self._error(401)
        route = {"twilio": self._twilio, "esendex": self._esendex, "android": self._android}
        return route[gw.provider]()

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _check_auth(self):
        h = self.headers.get("Authorization", "")
        if not h.lower().startswith("basic "):
            return None, False
        try:
            user, _, pw = base64.b64decode(h[6:].strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None, False
        ok = secrets.compare_digest(user.encode(), self.gw.username.encode()) and \
            secrets.compare_digest(pw.encode(), self.gw.password.encode())
        return user, ok

    # -- responses ----------------------------------------------------------

    def _send(self, status, body=b"", content_type=None, headers=()):
        if isinstance(body, str):
            body = body.encode("utf-8")
        if self._long and status != 204:
            body += b" " * LONG_ANSWER
        if self._late and self.gw._stopping.wait(self._late):
            self.close_connection = True
            return
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for k, v in headers:
            self.send_header(k, v)
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        if self._drop:
            self.send_header("Connection", "close")
        self.end_headers()
        if self._drop:
            # Promise the whole body, deliver half, hang up.
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if status != 204 and self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status, obj, headers=()):
        self._send(status, json.dumps(obj, indent=2), "application/json; charset=utf-8", headers)

    def _xml(self, status, root, headers=()):
        text = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")
        self._send(status, text, "application/xml; charset=utf-8", headers)

    def _error(self, status, message=None, code=None, retry_after=None):
        """An error in the provider's own shape."""
        gw = self.gw
        headers = []
        if retry_after is not None and status in (429, 503):
            headers.append(("Retry-After", str(retry_after)))
        if status == 401:
            realm = {"twilio": "Twilio API", "esendex": "Esendex",
                     "android": "Access to SMS Gateway"}[gw.provider]
            headers.append(("WWW-Authenticate", 'Basic realm="%s", charset="UTF-8"' % realm))
        if gw.provider == "twilio":
            defaults = {401: (20003, "Authenticate"), 403: (20403, "Forbidden"),
                        404: (20404, "The requested resource %s was not found" % self.req_path),
                        429: (20429, "Too Many Requests"), 500: (20500, "Internal Server Error"),
                        503: (20503, "Service Unavailable"), 400: (21100, "Bad Request")}
            dcode, dmsg = defaults.get(status, (20500, "Error"))
            code = code or dcode
            body = {"code": code, "message": message or dmsg,
                    "more_info": "https://www.twilio.com/docs/errors/%d" % code, "status": status}
            if status == 401:
                body["detail"] = "Your AccountSid or AuthToken was incorrect."
            return self._json(status, body, headers)
        if gw.provider == "esendex":
            defaults = {400: "Bad request", 401: "Unauthorised", 403: "Forbidden",
                        404: "Resource not found", 429: "Too many requests",
                        500: "Internal server error", 503: "Service unavailable"}
            root = ET.Element("{%s}response" % ESENDEX_NS)
            err = ET.SubElement(ET.SubElement(root, "{%s}errors" % ESENDEX_NS), "{%s}error" % ESENDEX_NS)
            ET.SubElement(err, "{%s}code" % ESENDEX_NS).text = code or str(status)
            ET.SubElement(err, "{%s}description" % ESENDEX_NS).text = message or defaults.get(status, "Error")
            return self._xml(status, root, headers)
        # Android (Ktor): auth failure and not-found carry no body; others {"message": ...}.
        if status in (401, 404) and message is None:
            return self._send(status, b"", None, headers)
        defaults = {400: "Bad request", 403: "Forbidden", 429: "Too many requests",
                    500: "Internal server error", 503: "Service unavailable"}
        return self._json(status, {"message": message or defaults.get(status, "Error")}, headers)

    def _record_sent(self, **fields):
        entry = {"provider": self.gw.provider, "path": self.req_path,
                 "raw": self.body.decode("utf-8", "replace"), "auth_user": self.auth_user}
        entry.update(fields)
        with self.gw._lock:
            self.gw.sent.append(entry)
        return entry

    # -- Twilio -------------------------------------------------------------

    def _twilio(self):
        gw = self.gw
        m = re.match(r"^/2010-04-01/Accounts/([^/]+)/Messages(?:/([^/]+))?\.json$", self.req_path)
        if not m:
            return self._error(404)
        if m.group(1) != gw.account:
            return self._error(404)
        sid = m.group(2)
        if sid is None:
            if self.command == "GET":
                return self._twilio_list()
            if self.command == "POST":
                return self._twilio_create()
            return self._error(405, "Method not allowed", code=20004)
        with gw._lock:
            rec = gw._by_id.get(sid)
            if rec is None or rec not in gw._messages:
                return self._error(404)
            if self.command == "GET":
                return self._json(200, self._twilio_json(rec))
            if self.command == "DELETE":
                gw._messages.remove(rec)
                del gw._by_id[sid]
                return self._send(204)
        return self._error(405, "Method not allowed", code=20004)

    def _twilio_json(self, rec):
        gw = self.gw
        base = "/2010-04-01/Accounts/%s/Messages/%s" % (gw.account, rec["id"])
        return {
            "account_sid": gw.account,
            "api_version": "2010-04-01",
            "body": rec["body"],
            "date_created": rfc2822(rec["created"]),
            "date_sent": rfc2822(rec["date_sent"]),
            "date_updated": rfc2822(rec["updated"]),
            "direction": rec["direction"],
            "error_code": rec["error_code"],
            "error_message": rec["error_message"],
            "from": rec["sender"],
            "messaging_service_sid": rec.get("messaging_service_sid"),
            "num_media": "0",
            "num_segments": rec["num_segments"],
            "price": None,
            "price_unit": "USD",
            "sid": rec["id"],
            "status": rec["status"],
            "subresource_uris": {"media": base + "/Media.json", "feedback": base + "/Feedback.json"},
            "to": rec["to"],
            "uri": base + ".json",
        }

    @staticmethod
    def _twilio_key(rec):
        return (rec["date_sent"] or rec["created"], rec["seq"])

    def _twilio_list(self):
        gw = self.gw
        q = self.query
        filters = []  # kept in the order Twilio echoes them into the paging URIs
        for name in ("To", "From", "DateSent", "DateSent>", "DateSent<"):
            if name in q:
                filters.append((name, q[name]))
        try:
            size = int(q.get("PageSize", "50"))
            page = int(q.get("Page", "0"))
            bounds = [self._twilio_date_filter(name, value) for name, value in filters
                      if name.startswith("DateSent")]
        except ValueError:
            return self._error(400, "Invalid paging or date parameter", code=20001)
        size = max(1, min(size, 1000))
        if gw.page_size:
            size = min(size, gw.page_size)
        with gw._lock:
            msgs = [r for r in gw._messages
                    if ("To" not in q or r["to"] == q["To"])
                    and ("From" not in q or r["sender"] == q["From"])
                    and all(test(r["date_sent"]) for test in bounds)]
            msgs.sort(key=self._twilio_key, reverse=True)  # newest first, as Twilio lists
            token = q.get("PageToken")
            if token:
                key = gw._page_tokens.get(token)
                if key is None:
                    return self._error(400, "Invalid PageToken", code=21481)
                start = next((i for i, r in enumerate(msgs) if self._twilio_key(r) < key), len(msgs))
            else:
                start = page * size
            items = msgs[start:start + size]
            more = start + size < len(msgs)
            next_token = None
            if more and items:
                next_token = "PA" + items[-1]["id"]
                gw._page_tokens[next_token] = self._twilio_key(items[-1])
            body = [self._twilio_json(r) for r in items]

        path = self.req_path

        def uri(p, extra=()):
            return path + "?" + urllib.parse.urlencode(filters + [("PageSize", size), ("Page", p)]
                                                       + list(extra))
        self._json(200, {
            "end": start + len(items) - 1 if items else start,
            "first_page_uri": uri(0),
            "messages": body,
            "next_page_uri": uri(page + 1, [("PageToken", next_token)]) if next_token else None,
            "page": page,
            "page_size": size,
            "previous_page_uri": uri(page - 1) if page > 0 else None,
            "start": start,
            "uri": uri(page, [("PageToken", token)] if token else []),
        })

    @staticmethod
    def _twilio_date_filter(name, value):
        """DateSent=D (that GMT day), DateSent>=D (on or after), DateSent<=D (on
        or before); a full ISO date-time compares exactly. Unsent never match."""
        if re.match(r"^\d{4}-\d{2}-\d{2}$", value):
            day = datetime.date.fromisoformat(value)
            if name == "DateSent":
                return lambda d: d is not None and d.date() == day
            if name == "DateSent>":
                return lambda d: d is not None and d.date() >= day
            return lambda d: d is not None and d.date() <= day
        when = parse_iso(value)
        if when is None:
            raise ValueError(value)
        if name == "DateSent":
            return lambda d: d is not None and d == when
        if name == "DateSent>":
            return lambda d: d is not None and d >= when
        return lambda d: d is not None and d <= when

    def _twilio_create(self):
        gw = self.gw
        form = dict(urllib.parse.parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))
        to, frm, body = form.get("To"), form.get("From"), form.get("Body")
        service = form.get("MessagingServiceSid")
        if not to:
            return self._error(400, "A 'To' phone number is required.", code=21604)
        if not frm and not service:
            return self._error(400, "A 'From' phone number is required.", code=21603)
        if not body:
            return self._error(400, "Message body is required.", code=21602)
        if len(body) > 1600:
            return self._error(400, "The concatenated message body exceeds the 1600 character limit.",
                               code=21617)
        if to in gw._opted_out:
            return self._error(400, "Attempt to send to unsubscribed recipient", code=21610)
        now = _utc(None)
        with gw._lock:
            rec = gw._twilio_record("outbound-api", frm, to, body, now,
                                    status="queued" if frm else "accepted")
            rec["messaging_service_sid"] = service
            if not frm:
                rec["num_segments"] = "0"  # no sender assigned yet
            rec["states"]["queued"] = now
            out = self._twilio_json(rec)
        self._record_sent(id=rec["id"], to=to, **{"from": frm}, body=body, stored_body=body,
                          characterset=None, fields=form, status_callback=form.get("StatusCallback"))
        self._json(201, out)

    # -- Esendex ------------------------------------------------------------

    def _q(self, name, default=None):
        """Esendex query parameters are case-insensitive (startIndex = startindex)."""
        for k, v in self.query.items():
            if k.lower() == name:
                return v
        return default

    def _esendex(self):
        gw = self.gw
        p = self.req_path.rstrip("/")
        m = re.match(r"^/v1\.0/inbox(?:/([^/]+))?/messages$", p)
        if m and self.command == "GET":
            if m.group(1) is not None and m.group(1).lower() != gw.account.lower():
                return self._error(403, "Account reference is not accessible")
            return self._esendex_inbox()
        m = re.match(r"^/v1\.0/inbox/messages/([^/]+)$", p)
        if m and self.command in ("PUT", "DELETE"):
            return self._esendex_ack(m.group(1))
        if p == "/v1.0/messageheaders" and self.command == "GET":
            return self._esendex_sent()
        m = re.match(r"^/v1\.0/messageheaders/([^/]+)(/body)?$", p)
        if m and self.command == "GET":
            with gw._lock:
                rec = gw._by_id.get(m.group(1))
                if rec is None:
                    return self._error(404)
                if m.group(2) and rec.get("body_bytes") is not None:
                    return self._esendex_raw_body(rec)
                if m.group(2):
                    return self._xml(200, self._esendex_body(rec))
                return self._xml(200, self._esendex_header(rec))
        if p == "/v1.0/messagedispatcher" and self.command == "POST":
            return self._esendex_dispatch()
        return self._error(404)

    def _e(self, parent, tag, text=None, **attrs):
        el = ET.SubElement(parent, "{%s}%s" % (ESENDEX_NS, tag), attrs)
        if text is not None:
            el.text = text
        return el

    def _esendex_header(self, rec, parent=None):
        gw = self.gw
        uri = "%s/v1.0/messageheaders/%s" % (gw.url, rec["id"])
        attrs = {"id": rec["id"], "uri": uri}
        if parent is None:
            h = ET.Element("{%s}messageheader" % ESENDEX_NS, attrs)
        else:
            h = self._e(parent, "messageheader", **attrs)
        created = iso_ms_z(rec["created"])
        e = self._e
        e(h, "reference", gw.account)
        e(h, "status", rec["status"])
        if rec["delivered_at"] is not None:
            e(h, "deliveredat", iso_ms_z(rec["delivered_at"]))
        e(h, "sentat", iso_ms_z(rec["date_sent"]) if rec["date_sent"] else created)
        e(h, "laststatusat", iso_ms_z(rec["updated"]))
        e(h, "submittedat", created)
        if rec["direction"] == "Inbound":
            e(h, "receivedat", created)
        e(h, "type", "SMS")
        e(e(h, "to"), "phonenumber", rec["to"].lstrip("+"))
        e(e(h, "from"), "phonenumber", (rec["sender"] or "").lstrip("+"))
        e(h, "summary", rec["stored_body"][:20])  # truncated, as the real summary is
        e(h, "body", id=rec["id"], uri=uri + "/body")
        e(h, "direction", rec["direction"])
        e(h, "parts", str(segments(rec["stored_body"])))
        if rec["direction"] == "Inbound":
            e(h, "readat", iso_ms_z(rec["read_at"]) if rec["read_at"] else "0001-01-01T00:00:00Z")
            e(h, "readby", rec["read_by"] or "")
        else:
            e(h, "username", gw.username)
            if rec["failure"]:
                fr = e(h, "failurereason")
                e(fr, "code", "1")
                e(fr, "description", rec["failure"])
                e(fr, "permanentfailure", "true")
        return h

    def _esendex_body(self, rec):
        root = ET.Element("{%s}messagebody" % ESENDEX_NS)
        self._e(root, "bodytext", rec["stored_body"])
        self._e(root, "characterset", rec["characterset"])
        return root

    def _esendex_raw_body(self, rec):
        """The body resource with rec["body_bytes"] spliced in unchanged (XML
        special characters escaped, nothing else): bytes no real gateway should
        send, for hostile-input tests."""
        root = ET.Element("{%s}messagebody" % ESENDEX_NS)
        self._e(root, "bodytext", "BODYMARKER")
        self._e(root, "characterset", rec["characterset"])
        text = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")
        raw = rec["body_bytes"].replace(b"&", b"&amp;").replace(b"<", b"&lt;").replace(b">", b"&gt;")
        self._send(200, text.encode("utf-8").replace(b"BODYMARKER", raw, 1), "application/xml; charset=utf-8")

    def _esendex_inbox(self):
        gw = self.gw
        try:
            start = int(self._q("startindex", "0"))
            count = int(self._q("count", "15"))
        except ValueError:
            return self._error(400, "startindex and count must be integers")
        if start < 0 or count < 1:
            return self._error(400, "startindex must be >= 0 and count >= 1")
        if gw.page_size:
            count = min(count, gw.page_size)
        with gw._lock:
            inbox = [r for r in gw._messages if r["direction"] == "Inbound" and r.get("in_inbox")]
            inbox.sort(key=lambda r: (r["created"], r["seq"]), reverse=True)  # newest first
            page = inbox[start:start + count]
            root = ET.Element("{%s}messageheaders" % ESENDEX_NS,
                              {"startindex": str(start), "count": str(len(page)),
                               "totalcount": str(len(inbox))})
            for rec in page:
                self._esendex_header(rec, root)
        self._xml(200, root)

    def _esendex_sent(self):
        """GET /v1.0/messageheaders: the sent messages, newest first, paged as
        the inbox (startindex/count, same envelope and header elements)."""
        gw = self.gw
        try:
            start = int(self._q("startindex", "0"))
            count = int(self._q("count", "15"))
        except ValueError:
            return self._error(400, "startindex and count must be integers")
        if start < 0 or count < 1:
            return self._error(400, "startindex must be >= 0 and count >= 1")
        if gw.page_size:
            count = min(count, gw.page_size)
        with gw._lock:
            sent = [r for r in gw._messages if r["direction"] == "Outbound"]
            sent.sort(key=lambda r: (r["created"], r["seq"]), reverse=True)
            page = sent[start:start + count]
            root = ET.Element("{%s}messageheaders" % ESENDEX_NS,
                              {"startindex": str(start), "count": str(len(page)),
                               "totalcount": str(len(sent))})
            for rec in page:
                self._esendex_header(rec, root)
        self._xml(200, root)

    def _esendex_ack(self, id):
        gw = self.gw
        with gw._lock:
            rec = gw._by_id.get(id)
            if rec is None or rec["direction"] != "Inbound" or not rec.get("in_inbox"):
                return self._error(404)
            if self.command == "DELETE":
                rec["in_inbox"] = False
                gw.acks.append(("delete", id))
                return self._send(200, b"")
            action = (self._q("action") or "").lower()
            if action == "read":
                rec["read_at"], rec["read_by"] = _utc(None), self.auth_user
            elif action == "unread":
                rec["read_at"], rec["read_by"] = None, None
            else:
                return self._error(400, "action must be read or unread")
            gw.acks.append((action, id))
        return self._send(200, b"")

    def _esendex_dispatch(self):
        gw = self.gw
        try:
            root = ET.fromstring(self.body)
        except ET.ParseError:
            return self._error(400, "The request body is not valid XML")
        if _local(root.tag) != "messages":
            return self._error(400, "Expected a <messages> element")

        def child(el, name):
            for c in el:
                if _local(c.tag) == name:
                    return c.text or ""
            return None

        account = child(root, "accountreference")
        if not account:
            return self._error(400, "accountreference is required")
        if account.lower() != gw.account.lower():
            return self._error(403, "Account reference is not accessible")
        batch_charset = child(root, "characterset")
        batch_from = child(root, "from")
        wanted = [c for c in root if _local(c.tag) == "message"]
        if not wanted:
            return self._error(400, "At least one <message> is required")
        for msg in wanted:
            if not child(msg, "to") or child(msg, "body") is None:
                return self._error(400, "Each message needs <to> and <body>")
        out = ET.Element("{%s}messageheaders" % ESENDEX_NS, {"batchid": str(uuid.uuid4())})
        now = _utc(None)
        for msg in wanted:
            to, body = child(msg, "to").strip(), child(msg, "body")
            given = child(msg, "characterset") or batch_charset
            cs = (given or "GSM").strip()
            if cs.lower() == "unicode":
                stored, stored_cs = body, "Unicode"
            elif cs.lower() == "auto":
                stored, stored_cs = body, "GSM" if is_gsm(body) else "Unicode"
            else:  # GSM, the default: what does not fit is lost
                stored, stored_cs = gsm_mangle(body), "GSM"
            opted = to in gw._opted_out or ("+" + to.lstrip("+")) in gw._opted_out
            with gw._lock:
                rec = gw._new_record(direction="Outbound", id=str(uuid.uuid4()),
                                     sender=child(msg, "from") or batch_from or gw.number,
                                     to=to, body=body, stored_body=stored, characterset=stored_cs,
                                     created=now, status="Failed" if opted else "Submitted")
                if opted:
                    rec["failure"] = "Recipient opted out"
                rec["states"][rec["status"]] = now
            self._record_sent(id=rec["id"], to=to, **{"from": rec["sender"]}, body=body,
                              stored_body=stored, characterset=given, fields={"accountreference": account})
            self._e(out, "messageheader", id=rec["id"],
                    uri="%s/v1.0/messageheaders/%s" % (gw.url, rec["id"]))
        self._xml(200, out)

    # -- SMS Gateway for Android (local server) ------------------------------

    def _android(self):
        p = self.req_path.rstrip("/") or "/"
        m = re.match(r"^(?:/message|/messages|/3rdparty/v1/messages)(?:/([^/]+))?$", p)
        if m:
            if m.group(1) is None and self.command == "POST":
                return self._android_send()
            if m.group(1) is None and self.command == "GET":
                return self._android_messages()
            if m.group(1) is not None and self.command == "GET":
                with self.gw._lock:
                    rec = self.gw._by_id.get(m.group(1))
                    if rec is None or rec["direction"] != "outbound":
                        return self._error(404)
                    return self._json(200, self._android_state(rec))
            return self._error(405, "Method not allowed")
        if p == "/inbox" and self.command == "GET":
            return self._android_inbox()
        return self._error(404)

    def _android_state(self, rec):
        off = self.gw.utc_offset_minutes
        return {
            "id": rec["id"],
            "state": rec["status"],
            "recipients": [{"phoneNumber": n, "state": rec["status"],
                            "error": rec["failure"] if rec["status"] == "Failed" else None}
                           for n in rec["to"]],
            "isEncrypted": rec["is_encrypted"],
            "states": {k: java_iso(v, off) for k, v in rec["states"].items()},
        }

    def _android_messages(self):
        """GET /messages?state&limit&offset&from&to (MessagesRoutes.kt): the
        messages the phone was asked to send, createdAt between from and to,
        newest first, X-Total-Count; each as the app's Message: id, deviceId,
        state, isHashed, isEncrypted, createdAt, textMessage {text},
        recipients, states."""
        gw = self.gw
        q = self.query
        try:
            limit = int(q.get("limit", "50"))
            offset = int(q.get("offset", "0"))
        except ValueError:
            return self._error(400, "limit and offset must be integers")
        lo = datetime.datetime.fromtimestamp(0, datetime.timezone.utc)
        hi = _utc(None)
        if "from" in q:
            lo = parse_iso(q["from"])
            if lo is None:
                return self._error(400, "Invalid from datetime")
        if "to" in q:
            hi = parse_iso(q["to"])
            if hi is None:
                return self._error(400, "Invalid to datetime")
        if lo > hi:
            return self._error(400, "Start date cannot be after end date")
        state = q.get("state") or None
        if gw.page_size:
            limit = min(limit, gw.page_size)
        off = gw.utc_offset_minutes
        with gw._lock:
            rows = [r for r in gw._messages if r["direction"] == "outbound"
                    and lo <= r["created"] <= hi and state in (None, r["status"])]
            rows.sort(key=lambda r: (r["created"], r["seq"]), reverse=True)
            total = len(rows)
            page = []
            for r in rows[offset:offset + limit]:
                item = self._android_state(r)
                item.update({"deviceId": "double-device", "isHashed": False, "scheduleAt": None,
                             "createdAt": java_iso(r["created"], off),
                             "textMessage": {"text": r["body"]}, "dataMessage": None,
                             "mmsMessage": None, "hashedMessage": None})
                page.append(item)
        self._json(200, page, headers=[("X-Total-Count", str(total))])

    def _android_send(self):
        gw = self.gw
        try:
            req = json.loads(self.body.decode("utf-8"))
            if not isinstance(req, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError):
            return self._error(400, "Failed to convert request body")
        kinds = [k for k in ("textMessage", "dataMessage", "message") if req.get(k) is not None]
        if not kinds:
            return self._error(400, "Must specify exactly one of: textMessage, dataMessage, or message")
        if len(kinds) > 1:
            return self._error(400, "Cannot specify multiple message types simultaneously")
        if kinds[0] == "dataMessage":
            return self._error(400, "dataMessage is not modelled by this double")
        text = req["message"] if kinds[0] == "message" else (req["textMessage"] or {}).get("text", "")
        if not isinstance(text, str) or not text:
            return self._error(400, "Text message is empty")
        numbers = req.get("phoneNumbers") or []
        if not isinstance(numbers, list) or not numbers:
            return self._error(400, "phoneNumbers is empty")
        sim = req.get("simNumber")
        if sim is not None and (not isinstance(sim, int) or sim < 1):
            return self._error(400, "simNumber must be >= 1")
        now = _utc(None)
        alphabet = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        id = req.get("id") or "".join(secrets.choice(alphabet) for _ in range(21))  # a NanoID
        with gw._lock:
            rec = gw._new_record(direction="outbound", id=id, sender=gw.number, to=list(numbers),
                                 body=text, stored_body=text, created=now, status="Pending",
                                 is_encrypted=bool(req.get("isEncrypted", False)))
            rec["states"]["Pending"] = now
            out = self._android_state(rec)
        for n in numbers:
            self._record_sent(id=id, to=n, **{"from": gw.number}, body=text, stored_body=text,
                              characterset=None, fields=req,
                              with_delivery_report=req.get("withDeliveryReport", True))
        self._json(202, out)

    def _android_inbox(self):
        gw = self.gw
        q = self.query
        mtype = q.get("type") or None
        if mtype is not None and mtype not in ("SMS", "DATA_SMS", "MMS", "MMS_DOWNLOADED"):
            return self._error(400, "Invalid type")
        try:
            limit = int(q.get("limit", "50"))
            offset = int(q.get("offset", "0"))
        except ValueError:
            return self._error(400, "limit and offset must be integers")
        if not 1 <= limit <= 500:
            return self._error(400, "limit must be between 1 and 500")
        if offset < 0:
            return self._error(400, "offset must be >= 0")
        lo = datetime.datetime.fromtimestamp(0, datetime.timezone.utc)
        hi = _utc(None)
        if "from" in q:
            lo = parse_iso(q["from"])
            if lo is None:
                return self._error(400, "Invalid from datetime")
        if "to" in q:
            hi = parse_iso(q["to"])
            if hi is None:
                return self._error(400, "Invalid to datetime")
        if lo > hi:
            return self._error(400, "Start date cannot be after end date")
        if gw.page_size:
            limit = min(limit, gw.page_size)
        off = gw.utc_offset_minutes
        with gw._lock:
            rows = [r for r in gw._messages if r["direction"] == "inbound"
                    and mtype in (None, "SMS") and lo <= r["created"] <= hi]
            # ORDER BY createdAt DESC, id DESC (the app's Room query)
            rows.sort(key=lambda r: (r["created"].replace(microsecond=r["created"].microsecond // 1000 * 1000),
                                     r["id"], r["seq"]), reverse=True)
            total = len(rows)
            page = [{"id": r["id"], "type": "SMS", "sender": r["sender"], "recipient": r["to"],
                     "simNumber": 1, "contentPreview": r["body"],
                     "createdAt": java_iso(r["created"], off)} for r in rows[offset:offset + limit]]
        self._json(200, page, headers=[("X-Total-Count", str(total))])

    # -- control endpoints (CLI / demo) ---------------------------------------

    def _control(self):
        gw = self.gw
        p = self.req_path
        try:
            req = json.loads(self.body.decode("utf-8")) if self.body else {}
        except ValueError:
            return self._json(400, {"error": "body must be JSON"})
        try:
            if p == "/_control/inbound" and self.command == "POST":
                id = gw.add_inbound(req["sender"], req["body"], to=req.get("to"),
                                    id=req.get("id"), replace=bool(req.get("replace")))
                return self._json(200, {"id": id})
            if p == "/_control/sent" and self.command == "GET":
                return self._json(200, gw.sent)
            if p == "/_control/status" and self.command == "POST":
                gw.set_status(req["id"], req["status"], req.get("error"))
                return self._json(200, {"ok": True})
            if p == "/_control/fault" and self.command == "POST":
                gw.fault(req["kind"], int(req.get("count", 1)), req.get("path_prefix"),
                         float(req.get("seconds", 2)), int(req.get("retry_after", 1)), req.get("method"))
                return self._json(200, {"ok": True})
            if p == "/_control/opt_out" and self.command == "POST":
                gw.opt_out(req["number"])
                return self._json(200, {"ok": True})
            if p == "/_control/requests" and self.command == "GET":
                return self._json(200, [r._asdict() for r in gw.requests])
        except (KeyError, ValueError) as e:
            return self._json(400, {"error": "bad control request: %s" % e})
        return self._json(404, {"error": "no such control endpoint"})


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run one SMS gateway double until killed.")
    ap.add_argument("--provider", required=True, choices=PROVIDERS)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--username")
    ap.add_argument("--password")
    ap.add_argument("--account")
    ap.add_argument("--number", default="+447700900000")
    ap.add_argument("--page-size", type=int, default=2, help="0 honours the client's page size")
    ap.add_argument("--utc-offset-minutes", type=int, default=0)
    a = ap.parse_args(argv)
    gw = Gateway(a.provider, port=a.port, tls=tuple(a.tls) if a.tls else None,
                 username=a.username, password=a.password, account=a.account, number=a.number,
                 page_size=a.page_size or None, utc_offset_minutes=a.utc_offset_minutes,
                 control=True).start()
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    # One JSON line so a demo script can read where and how to connect.
    print(json.dumps({"provider": gw.provider, "url": gw.url, "username": gw.username,
                      "password": gw.password, "account": gw.account, "number": gw.number}),
          flush=True)
    while not done.wait(0.5):
        pass
    gw.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
