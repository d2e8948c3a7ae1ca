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

Certificate credentials (Microsoft) and service accounts (Google) are checked
as the real endpoints check them: the RS256 signature against the certificate
or public key the test registered, the header's x5t (and x5t#S256), the
claims (aud = the token URL, iss, sub, exp, nbf, iat, jti, scope), and the
errors they answer with:

    ts = TokenServer(key, email, provider="microsoft")
    ts.register_certificate(pem)          # client_assertion signed by its key
    ts = TokenServer(key, email, provider="google", client_email="sa@p.iam.gserviceaccount.com")
    ts.register_public_key(pem)           # the service account's key
    ts.delegate("https://mail.google.com/")   # domain-wide delegation granted
    ts.disable()                          # the client was disabled (revoked)

The RSA signatures are checked with python3-cryptography (Debian package).
"""

import base64
import fnmatch
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
    "AADSTS90002": (400, "invalid_request", "Tenant '{tenant}' not found. Check to make sure you have the correct "
                    "tenant ID and are signing into the correct cloud."),
    "AADSTS7000112": (400, "unauthorized_client", "Application '{client_id}'(relay) is disabled."),
    "AADSTS700024": (400, "invalid_client", "Client assertion is not within its valid time range."),
    "AADSTS700021": (400, "invalid_client", "Client assertion application identifier doesn't match 'client_id' "
                     "parameter."),
    "AADSTS50027": (400, "invalid_request", "JWT token is invalid or malformed."),
    "AADSTS7000218": (401, "invalid_client", "The request body must contain the following parameter: "
                      "'client_assertion' or 'client_secret'."),
}

# Google's token endpoint's documented and observed errors: (HTTP status, error, description).
GOOGLE = {
    "unauthorized_client": (401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this "
                            "method, or client not authorized for any of the scopes requested."),
    "invalid_grant:signature": (400, "invalid_grant", "Invalid JWT Signature."),
    "invalid_grant:email": (400, "invalid_grant", "Invalid email or User ID"),
    "invalid_grant:time": (400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in "
                           "a reasonable timeframe. Check your iat and exp values in the JWT claim."),
    "invalid_grant:audience": (400, "invalid_grant", "Invalid JWT: Failed audience check."),
    "invalid_grant:account": (400, "invalid_grant", "Invalid grant: account not found"),
    "disabled_client": (401, "disabled_client", "The OAuth client was disabled."),
}


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rsa_verify(public_key, data, sig):
    """True when sig is an RS256 signature of data by public_key (cryptography's key)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    try:
        public_key.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def split_jwt(token):
    """(header, claims, signing input, signature) of a compact JWS, or None."""
    try:
        h, c, sig = token.split(".")
        return (json.loads(b64url_decode(h)), json.loads(b64url_decode(c)), f"{h}.{c}".encode(),
                b64url_decode(sig))
    except Exception:
        return None


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(key, claims):
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


class TokenServer:
    def __init__(self, key, email, provider="microsoft", tenant="example.org", client_id=None,
                 client_secret="s3cret-value", lifetime=3600, token_len=0, issuer="https://sts.example.test/",
                 client_email="relay@relay-project.iam.gserviceaccount.com", users=None):
        self.key, self.email, self.provider, self.tenant = key, email, provider, tenant
        self.client_id = client_id or str(uuid.UUID(int=0x1234))
        self.client_email = client_email      # google: the service account
        self.users = set(users) if users else {email}   # google: the domain's mailboxes
        self.certificates = []      # microsoft: (sha1, sha256, public key) registered with the app
        self.public_keys = []       # google: the service account's keys
        self.delegated = set()      # google: scopes granted by domain-wide delegation
        self.disabled = False       # the client was disabled (revoked)
        self.secret_expired = False
        self.delay = 0.0            # seconds each answer waits (a test looks at the client meanwhile)
        self.assertions = []        # each accepted assertion's (header, claims)
        self.jtis = set()
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

    def register_certificate(self, pem):
        """Registers a certificate (PEM bytes or str) with the app: assertions signed by its key are accepted."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        cert = x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
        self.certificates.append((b64url(cert.fingerprint(hashes.SHA1())), b64url(cert.fingerprint(hashes.SHA256())),
                                  cert.public_key()))

    def register_public_key(self, pem):
        """Google: a public key (PEM, or a certificate) of the service account."""
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
        data = pem.encode() if isinstance(pem, str) else pem
        if b"CERTIFICATE" in data:
            self.public_keys.append(x509.load_pem_x509_certificate(data).public_key())
        else:
            self.public_keys.append(load_pem_public_key(data))

    def delegate(self, scope):
        self.delegated.add(scope)

    def disable(self, disabled=True):
        self.disabled = disabled

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

    # --- what the real endpoints check --------------------------------------
    def check_client_assertion(self, form):
        """Microsoft certificate credentials: None when good, else the AADSTS code."""
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return "AADSTS50027"
        parts = split_jwt(form.get("client_assertion", ""))
        if not parts:
            return "AADSTS50027"
        head, claims, data, sig = parts
        if head.get("alg") != "RS256" or not isinstance(head.get("x5t"), str):
            return "AADSTS50027"
        found = [c for c in self.certificates if c[0] == head["x5t"]]
        if not found or ("x5t#S256" in head and head["x5t#S256"] != found[0][1]):
            return "AADSTS700027"   # the certificate is not registered on the application
        if not rsa_verify(found[0][2], data, sig):
            return "AADSTS700027"
        if claims.get("aud") != self.token_url:
            return "AADSTS50027"
        if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
            return "AADSTS700021"
        now = time.time()
        for k in ("exp", "nbf"):
            if not isinstance(claims.get(k), int):
                return "AADSTS50027"
        if not isinstance(claims.get("jti"), str) or not claims["jti"] or claims["jti"] in self.jtis:
            return "AADSTS50027"
        if claims["exp"] < now - 300 or claims["nbf"] > now + 300 or claims["exp"] - claims["nbf"] > 86400 * 365:
            return "AADSTS700024"
        self.jtis.add(claims["jti"])
        self.assertions.append((head, claims))
        return None

    def check_google_assertion(self, form):
        """Google's JWT bearer grant: None when good, else a GOOGLE key."""
        parts = split_jwt(form.get("assertion", ""))
        if not parts:
            return "invalid_grant:signature"
        head, claims, data, sig = parts
        if head.get("alg") != "RS256":
            return "invalid_grant:signature"
        if claims.get("iss") != self.client_email:
            return "invalid_grant:account"
        if not any(rsa_verify(k, data, sig) for k in self.public_keys):
            return "invalid_grant:signature"
        if self.disabled:
            return "disabled_client"
        if claims.get("aud") != self.token_url:
            return "invalid_grant:audience"
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or exp - iat > 3600 or exp < now or iat > now + 300:
            return "invalid_grant:time"
        scopes = (claims.get("scope") or "").split()
        if not scopes or any(not any(fnmatch.fnmatchcase(sc, d) for d in self.delegated) for sc in scopes):
            return "unauthorized_client"
        if claims.get("sub") not in self.users:
            return "invalid_grant:email"
        self.assertions.append((head, claims))
        return None

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
                if outer.delay:
                    time.sleep(outer.delay)
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n).decode("utf-8", "replace")
                form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}
                with outer._lock:
                    outer.requests.append(form)
                    err = outer._errors.pop(0) if outer._errors else None
                path = self.path.split("?")[0]
                if (path != outer.path and outer.provider == "microsoft" and path.endswith("/oauth2/v2.0/token")
                        and err is None):
                    err, tenant = "AADSTS90002", path.split("/")[1]   # a tenant Entra does not know
                elif path != outer.path:
                    return self.answer(404, {"error": "not_found"})
                else:
                    tenant = outer.tenant
                if not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
                    return self.answer(400, {"error": "invalid_request",
                                             "error_description": "AADSTS900144: The request body must contain "
                                             "the following parameter: 'grant_type'."})
                if err is None and outer.provider == "google":
                    if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                        err = ("unsupported_grant_type", 400)
                    else:
                        err = outer.check_google_assertion(form)
                elif err is None:
                    if form.get("grant_type") != "client_credentials":
                        err = ("unsupported_grant_type", 400)
                    elif form.get("client_id") != outer.client_id:
                        err = "AADSTS700016"
                    elif outer.disabled:
                        err = "AADSTS7000112"
                    elif "client_assertion" in form or "client_assertion_type" in form:
                        err = outer.check_client_assertion(form)
                    elif "client_secret" not in form:
                        err = "AADSTS7000218"
                    elif form.get("client_secret") != outer.client_secret:
                        err = "AADSTS7000215"
                    elif outer.secret_expired:
                        err = "AADSTS7000222"
                if isinstance(err, tuple):
                    return self.answer(err[1], {"error": err[0]})
                if err in GOOGLE:
                    status, error, desc = GOOGLE[err]
                    return self.answer(status, {"error": error, "error_description": desc})
                if err:
                    status, error, desc = AADSTS[err]
                    desc = desc.format(client_id=form.get("client_id", ""), tenant=tenant)
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
                if outer.provider == "google":
                    return self.answer(200, {"access_token": outer.token(), "expires_in": outer.lifetime,
                                             "token_type": "Bearer"})
                return self.answer(200, {"token_type": "Bearer", "expires_in": outer.lifetime,
                                         "ext_expires_in": outer.lifetime, "access_token": outer.token()})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
