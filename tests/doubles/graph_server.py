#!/usr/bin/env python3
"""graph_server.py: a double of Microsoft Graph's sendMail with MIME content.

    POST /v1.0/users/{id | userPrincipalName}/sendMail
    Authorization: Bearer {token}
    Content-Type: text/plain
    <the whole MIME message, base64>

What Microsoft documents (learn.microsoft.com: "user: sendMail", "Send
messages with MIME content", "Microsoft Graph error responses", "Microsoft
Graph throttling guidance") and this double does:

- Content-Type text/plain means MIME: the body is the message in base64.
  Malformed base64 -> 400 ErrorMimeContentInvalidBase64String ("Invalid base64
  string for MIME content.").
- Success is 202 Accepted with an empty body ("it does not indicate that the
  request processing has completed"): the message is recorded as sent.
- Errors are JSON {"error": {"code", "message", "innerError": {"date",
  "request-id", "client-request-id"}}}, with request-id and
  client-request-id response headers.
- A missing, badly signed or expired token -> 401 InvalidAuthenticationToken
  (with WWW-Authenticate: Bearer). Tokens are checked against the token
  double's signing key (oauth_server.py: HS256 JWTs; exp and nbf honoured).
- The application permission Mail.Send and the application access policy:
  a mailbox outside `policy` -> 403 ErrorAccessDenied ("Access to OData is
  disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy
  settings.", the text Exchange gives for New-ApplicationAccessPolicy);
  a mailbox the tenant does not have -> 404 ErrorInvalidUser.
- Throttling: 429 with Retry-After (seconds); 503 and 504 may carry one.
- Request size: Graph takes at most 4 MB in one request (413 above that);
  a message over the mailbox's send limit -> 400 ErrorMessageSizeExceeded.
- Recipients come from the MIME's To, Cc and Bcc headers (there is no
  envelope); none -> 400 ErrorInvalidRecipients ("A message can't be sent
  because it contains no recipients."); an address in `invalid` -> 400
  ErrorInvalidRecipients. A From that is not the mailbox (nor in `send_as`)
  -> 403 ErrorSendAsDenied.

What Exchange does to the headers, as modelled in `delivered` (what each
recipient's server receives). Microsoft documents the mapping of MIME to its
message properties in [MS-OXCMAIL]: Message-ID is kept as
PidTagInternetMessageId (Graph's internetMessageId), In-Reply-To as
PidTagInReplyToId, References as PidTagInternetReferences, Reply-To as the
reply recipients, and other headers (X-*, Auto-Submitted) as Internet
headers; X-Priority, Importance and Priority are regenerated from the
message's importance; Bcc is never shown to recipients (it is kept in the
Sent Items copy, which the double keeps in `raw`). So `delivered` is the
submitted message with the Bcc field removed, Return-Path set to the
mailbox (no envelope sender can be given: bounces come to the mailbox),
"Importance: high" beside "X-Priority: 1", and a Message-ID made up only if
the message had none. Exchange also adds Received, Thread-Index,
Thread-Topic and X-MS-Exchange-* headers and may re-encode the body; the
double does not, and the relay depends on none of that.

    from graph_server import GraphServer
    with GraphServer(key=ts.key, mailboxes=["rusafe@example.org"],
                     tls=(cert, key), url_host="localhost") as g:
        ... [oauth] graph_url = g.url ...
        g.fault("429", retry_after=30)  # the next request
        g.sent            # [{"mailbox", "raw", "delivered", "recipients", "bcc"}]
        g.requests        # [{"path", "status", "auth", "content_type", "length"}]

Python 3 standard library only.
"""

import base64
import binascii
import email
import email.policy
import email.utils
import hashlib
import hmac
import json
import ssl
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_REQUEST = 4 * 1024 * 1024


def _b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def token_ok(key, token, now=None):
    """A JWT signed HS256 with key, within its nbf/exp. True or False."""
    try:
        head, body, sig = token.split(".")
        want = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(want, _b64url_decode(sig)):
            return False
        if json.loads(_b64url_decode(head)).get("alg") != "HS256":
            return False
        claims = json.loads(_b64url_decode(body))
    except (ValueError, binascii.Error):
        return False
    now = time.time() if now is None else now
    return claims.get("nbf", 0) <= now + 300 and now < claims.get("exp", 0)


class GraphServer:
    def __init__(self, key, mailboxes, policy=None, send_as=(), invalid=(), tls=None, url_host="127.0.0.1",
                 max_request=MAX_REQUEST, max_message=35 * 1024 * 1024):
        self.key = key
        self.mailboxes = {m.lower() for m in mailboxes}
        self.policy = {m.lower() for m in (policy if policy is not None else mailboxes)}
        self.send_as = {m.lower() for m in send_as}
        self.invalid = {m.lower() for m in invalid}
        self.tls, self.url_host = tls, url_host
        self.max_request, self.max_message = max_request, max_message
        self.sent = []
        self.requests = []
        self._faults = []
        self._lock = threading.Lock()
        self.server = None

    # --- what tests call -------------------------------------------------
    def fault(self, kind, count=1, retry_after=None, delay=5.0):
        """The next `count` requests get: "401", "403", "429", "500", "503",
        "504", "400" (ErrorInvalidRecipients), or "hang" (the message is taken,
        then the answer waits `delay` seconds: a client timeout)."""
        with self._lock:
            self._faults.extend([(kind, retry_after, delay)] * count)

    @property
    def url(self):
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.url_host}:{self.server.server_address[1]}"

    def delivered_to(self, address):
        """The messages (email.message.EmailMessage, as delivered) that went to address."""
        a = address.lower()
        return [email.message_from_bytes(s["delivered"], policy=email.policy.default)
                for s in self.sent if a in s["recipients"]]

    # --- Exchange's side ---------------------------------------------------
    def _deliver(self, mailbox, raw):
        """What recipients get: see the module's docstring."""
        head, sep, body = raw.partition(b"\r\n\r\n")
        lines, fields = head.split(b"\r\n"), []
        for line in lines:
            if line[:1] in (b" ", b"\t") and fields:
                fields[-1] += b"\r\n" + line
            else:
                fields.append(line)
        out = [b"Return-Path: <" + mailbox.encode() + b">"]
        names = set()
        for f in fields:
            name = f.split(b":", 1)[0].strip().lower()
            names.add(name)
            if name in (b"bcc", b"return-path"):
                continue
            out.append(f)
            if name == b"x-priority" and f.split(b":", 1)[1].strip().startswith(b"1"):
                out.append(b"Importance: high")
        if b"message-id" not in names:
            out.append(b"Message-ID: <" + uuid.uuid4().hex.encode() + b"@exchange.example>")
        return b"\r\n".join(out) + b"\r\n\r\n" + body

    # --- the server --------------------------------------------------------
    def __enter__(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def answer(self, status, code=None, message="", headers=()):
                rid = str(uuid.uuid4())
                body = b""
                if code:
                    body = json.dumps({"error": {"code": code, "message": message, "innerError": {
                        "date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
                        "request-id": rid, "client-request-id": rid}}}).encode()
                self.send_response(status)
                self.send_header("request-id", rid)
                self.send_header("client-request-id", rid)
                if body:
                    self.send_header("Content-Type", "application/json")
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return status

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(n)
                rec = {"path": self.path, "auth": self.headers.get("Authorization") or "",
                       "content_type": self.headers.get("Content-Type") or "", "length": n}
                rec["status"] = self.handle_send(data)
                with outer._lock:
                    outer.requests.append(rec)

            def handle_send(self, data):
                parts = self.path.split("?")[0].split("/")
                # ["", "v1.0", "users", "{mailbox}", "sendMail"]
                if len(parts) != 5 or parts[1] != "v1.0" or parts[2] != "users" or parts[4] != "sendMail":
                    return self.answer(400, "BadRequest", "Resource not found for the segment.")
                mailbox = urllib.parse.unquote(parts[3]).lower()
                auth = self.headers.get("Authorization") or ""
                www = [("WWW-Authenticate", 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/'
                        'common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"')]
                if not auth.startswith("Bearer ") or not token_ok(outer.key, auth[7:]):
                    return self.answer(401, "InvalidAuthenticationToken",
                                       "Access token is empty." if not auth else
                                       "Access token has expired or is not yet valid.", www)
                with outer._lock:
                    fault = outer._faults.pop(0) if outer._faults else None
                kind, retry_after, delay = fault or (None, None, None)
                ra = [("Retry-After", str(retry_after))] if retry_after is not None else []
                if kind == "401":
                    return self.answer(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token "
                                       "is expired.", www)
                if kind == "403":
                    return self.answer(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
                if kind == "429":
                    return self.answer(429, "ApplicationThrottled", "Application is over its MailboxConcurrency "
                                       "limit.", ra)
                if kind in ("500", "503", "504"):
                    return self.answer(int(kind), {"500": "InternalServerError", "503": "ServiceUnavailable",
                                                   "504": "GatewayTimeout"}[kind], "The service is unavailable.", ra)
                if mailbox not in outer.mailboxes:
                    return self.answer(404, "ErrorInvalidUser", f"The requested user '{mailbox}' is invalid.")
                if mailbox not in outer.policy:
                    return self.answer(403, "ErrorAccessDenied", "Access to OData is disabled: [RAOP] : Blocked by "
                                       "tenant configured AppOnly AccessPolicy settings.")
                if len(data) > outer.max_request:
                    return self.answer(413, "RequestEntityTooLarge", "The request is larger than 4 MB.")
                ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                if ctype != "text/plain":
                    return self.answer(415, "UnsupportedMediaType", "A supported MIME type could not be found "
                                       "that matches the content type of the response.")
                try:
                    raw = base64.b64decode(data, validate=True)
                    if not raw:
                        raise ValueError
                except (binascii.Error, ValueError):
                    return self.answer(400, "ErrorMimeContentInvalidBase64String",
                                       "Invalid base64 string for MIME content.")
                if len(raw) > outer.max_message:
                    return self.answer(400, "ErrorMessageSizeExceeded",
                                       "The message exceeds the maximum supported size.")
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                frm = [a.lower() for _, a in email.utils.getaddresses(msg.get_all("From", []))]
                if not frm or (frm[0] != mailbox and frm[0] not in outer.send_as):
                    return self.answer(403, "ErrorSendAsDenied", "The user account which was used to submit this "
                                       "request does not have the right to send mail on behalf of the specified "
                                       "sending account.")
                rcpts, bcc = [], []
                for field in ("To", "Cc", "Bcc"):
                    for _, a in email.utils.getaddresses([str(v) for v in msg.get_all(field, [])]):
                        a = a.lower()
                        if a and a not in rcpts:
                            rcpts.append(a)
                            if field == "Bcc":
                                bcc.append(a)
                if kind == "400" or any(a in outer.invalid for a in rcpts):
                    return self.answer(400, "ErrorInvalidRecipients", "At least one recipient is not valid., "
                                       "Recipient 'x@example.invalid' is not resolved. All recipients must be "
                                       "resolved before a message can be submitted.")
                if not rcpts:
                    return self.answer(400, "ErrorInvalidRecipients", "At least one recipient is not valid., A "
                                       "message can't be sent because it contains no recipients.")
                with outer._lock:
                    outer.sent.append({"mailbox": mailbox, "raw": raw, "delivered": outer._deliver(mailbox, raw),
                                       "recipients": rcpts, "bcc": bcc})
                if kind == "hang":
                    time.sleep(delay)   # taken, but the client gives up first
                return self.answer(202)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls[0], self.tls[1])
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
