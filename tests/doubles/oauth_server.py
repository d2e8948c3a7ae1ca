#!/usr/bin/env python3
"""oauth_server.py: a double of an OAuth2 token endpoint (client credentials).

Shapes follow Microsoft identity platform v2.0 (POST /TENANT/oauth2/v2.0/token,
form fields client_id, scope, client_secret, grant_type=client_credentials;
answer {"token_type":"Bearer","expires_in":N,"ext_expires_in":N,
"access_token":...}; errors {"error":..., "error_description":"AADSTS...: ...",
"error_codes":[...], "timestamp", "trace_id", "correlation_id"} with HTTP 400
or 401) and, for provider "generic", POST /token with the same form.

The access tokens it issues are JWTs signed HS256 with `key`, carrying the
claims Dovecot's oauth2 passdb checks with local validation (iss, sub, email,
exp, iat, nbf), padded to `token_len` characters when asked, so that the
same real IMAP and SMTP servers that accept them can be made to refuse them.

    from oauth_server import TokenServer
    with TokenServer(key=b"...", email="rusafe@example.org", lifetime=60) as ts:
        ... [oauth] token_url = ts.token_url, client_id = ts.client_id ...
        ts.error("AADSTS7000215")      # the next request gets that error
        assert ts.requests[0]["grant_type"] == "client_credentials"

Python 3 standard library only.
"""

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Entra's documented error codes this double can answer with: (HTTP status, error, description).
AADSTS = {
    "AADSTS7000215": (401, "invalid_client", "Invalid client secret provided. Ensure the secret being sent in the "
                      "request is the client secret value, not the client secret ID."),
    "AADSTS700016": (400, "unauthorized_client", "Application with identifier '{client_id}' was not found in the "
                     "directory '{tenant}'."),
    "AADSTS65001": (400, "invalid_grant", "The user or administrator has not consented to use the application with "
                    "ID '{client_id}'."),
    "AADSTS700027": (401, "invalid_client", "The certificate with identifier used to sign the client assertion is "
                     "not registered on application."),
    "AADSTS7000222": (401, "invalid_client", "The provided client secret keys for app '{client_id}' are expired."),
}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(key, claims):
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


class TokenServer:
    def __init__(self, key, email, provider="microsoft", tenant="example.org", client_id=None,
                 client_secret="s3cret-value", lifetime=3600, token_len=0, issuer="https://sts.example.test/"):
        self.key, self.email, self.provider, self.tenant = key, email, provider, tenant
        self.client_id = client_id or str(uuid.UUID(int=0x1234))
        self.client_secret, self.lifetime, self.token_len, self.issuer = client_secret, lifetime, token_len, issuer
        self.requests = []          # each request's decoded form (secrets included: tests only)
        self.issued = 0
        self._errors = []
        self._lock = threading.Lock()
        self.server = None

    # --- what tests call -------------------------------------------------
    def error(self, code, count=1):
        with self._lock:
            self._errors.extend([code] * count)

    @property
    def path(self):
        return f"/{self.tenant}/oauth2/v2.0/token" if self.provider == "microsoft" else "/token"

    @property
    def token_url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"

    def token(self, lifetime=None):
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": self.email, "email": self.email, "iat": now, "nbf": now - 5,
                  "exp": now + (self.lifetime if lifetime is None else lifetime)}
        tok = make_jwt(self.key, claims)
        if self.token_len and len(tok) < self.token_len:
            # Pad inside the claims so the signature still covers it.
            claims["pad"] = ""
            base = len(make_jwt(self.key, claims))
            claims["pad"] = "x" * max(0, (self.token_len - base) * 3 // 4)
            tok = make_jwt(self.key, claims)
            while len(tok) < self.token_len:
                claims["pad"] += "x"
                tok = make_jwt(self.key, claims)
        return tok

    # --- the server --------------------------------------------------------
    def __enter__(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def answer(self, status, obj):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Cache-Control", "no-store, no-cache")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n).decode("utf-8", "replace")
                form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}
                with outer._lock:
                    outer.requests.append(form)
                    err = outer._errors.pop(0) if outer._errors else None
                if self.path.split("?")[0] != outer.path:
                    return self.answer(404, {"error": "not_found"})
                if not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
                    return self.answer(400, {"error": "invalid_request",
                                             "error_description": "AADSTS900144: The request body must contain "
                                             "the following parameter: 'grant_type'."})
                if err is None:
                    if form.get("grant_type") != "client_credentials":
                        err = ("unsupported_grant_type", 400)
                    elif form.get("client_id") != outer.client_id:
                        err = "AADSTS700016"
                    elif form.get("client_secret") != outer.client_secret:
                        err = "AADSTS7000215"
                if isinstance(err, tuple):
                    return self.answer(err[1], {"error": err[0]})
                if err:
                    status, error, desc = AADSTS[err]
                    desc = desc.format(client_id=form.get("client_id", ""), tenant=outer.tenant)
                    code = int(err[6:])
                    return self.answer(status, {
                        "error": error,
                        "error_description": f"{err}: {desc} Trace ID: {uuid.uuid4()} Correlation ID: "
                                             f"{uuid.uuid4()} Timestamp: {time.strftime('%Y-%m-%d %H:%M:%SZ')}",
                        "error_codes": [code], "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ"),
                        "trace_id": str(uuid.uuid4()), "correlation_id": str(uuid.uuid4()),
                        "error_uri": f"https://login.microsoftonline.com/error?code={code}"})
                with outer._lock:
                    outer.issued += 1
                return self.answer(200, {"token_type": "Bearer", "expires_in": outer.lifetime,
                                         "ext_expires_in": outer.lifetime, "access_token": outer.token()})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
