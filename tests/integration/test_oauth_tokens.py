#!/usr/bin/env python3
"""Getting OAuth2 access tokens, and what `relay check` says when that fails,
against the token endpoint double (tests/doubles/oauth_server.py), which
checks client secrets, certificate client assertions and Google service
account assertions as Entra and Google do.

- Microsoft with a client secret, with a certificate, Google with a service
  account (its JSON key file, and a PEM key): relay check gets the token.
- Each refusal — AADSTS7000215, 7000222, 700016, 65001, 700027, 90002, a
  disabled (revoked) app; Google's unauthorized_client, invalid_grant (a key
  not the account's, a mailbox not in the domain), a disabled client — gives
  the named instruction.
- The certificate's and the client secret's expiry: shown, a warning 30 days
  ahead, a failure once past; a key that is not the certificate's.
- No secret, token, assertion or private key in the relay's output at -v, in
  /proc/PID/cmdline or environ while it asks, or in the database.

The IMAP and SMTP servers are left unreachable: this suite is about tokens
(the logins with them are test_oauth's elsewhere)."""
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "doubles"))
from lib import check, done  # noqa: E402
import relaytest as rt  # noqa: E402
from oauth_server import TokenServer  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

ROOT = rt.ROOT
MAILBOX = rt.SERVICE
KEY = b"dovecot-validation-key-0123456789"
SECRET = "Xq7~s3cret.VALUE-never-shown_0123456789"
TENANT = "contoso.onmicrosoft.com"
SA = "relay@safeguarding-relay.iam.gserviceaccount.com"
SA_ID = "113625588310939184236"
PEMS = []          # every private key PEM made here: none may show anywhere


def new_key():
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()).decode()
    PEMS.append(pem)
    return k, pem


def new_cert(key, days_left):
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=400))
            .not_valid_after(now + datetime.timedelta(days=days_left, hours=1 if days_left >= 0 else 0))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode(), cert.fingerprint(hashes.SHA1()).hex().upper()


def write(path, text, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def config(work, oauth, smtp_auth="oauth2"):
    """relay.conf with [imap] and [smtp] on OAuth2 (servers unreachable) and the given [oauth] lines."""
    if os.path.isdir(work):
        shutil.rmtree(work)
    os.makedirs(work, mode=0o700)
    write(os.path.join(work, "secret"), "test-secret-0123456789abcdef0123456789\n")
    closed = rt.free_port()
    conf = f"""[service]
name = R-U-Safe?
reference_prefix = RUS
database = relay.db
templates = {os.path.join(ROOT, 'templates')}
timezone = Europe/London
secret_file = secret
user = root

[hours]
bank_holidays = {os.path.join(ROOT, 'config', 'bank-holidays-england-and-wales.txt')}

[policy]
urgent_phrases = {os.path.join(ROOT, 'config', 'urgent.txt')}

[imap]
host = 127.0.0.1
port = {closed}
security = tls
username = {MAILBOX}
auth = oauth2
timeout = 3

[smtp]
host = 127.0.0.1
port = {closed}
security = starttls
username = {MAILBOX}
auth = {smtp_auth}
from = R-U-Safe? <{MAILBOX}>
timeout = 3

[advisers]
forward_to = {", ".join(rt.ADVISERS)}
allowed = {", ".join(rt.ADVISERS)}
authserv_id = {rt.AUTHSERV_ID}

[oauth]
timeout = 10
{oauth}
"""
    path = os.path.join(work, "relay.conf")
    with open(path, "w") as f:
        f.write(conf)
    return path


BAD_RUNS = []     # relay runs that crashed, or that ASan or valgrind complained about


def relay(conf, *args):
    r = rt.relay(conf, *args)
    if r.returncode not in (0, 1) or "Sanitizer" in r.stderr or re.search(r"^==\d+==", r.stderr, re.M):
        BAD_RUNS.append((args, r.returncode, r.stderr[-2000:]))
    return r


def token_line(r, use="mail"):
    m = re.search(rf"^(OK|FAIL)\s+oauth {use} token \(([^)]*)\): (.*)$", r.stdout, re.M)
    return (m.group(1), m.group(2) + ": " + m.group(3)) if m else (None, r.stdout + r.stderr)


def ms_secret(ts, work, secret=SECRET, extra=""):
    write(os.path.join(work + ".s"), secret + "\n")
    return config(work, f"provider = microsoft\ntenant = {TENANT}\nclient_id = {ts.client_id}\n"
                        f"client_secret_file = {work}.s\ntoken_url = {ts.token_url}\n{extra}")


def ms_cert(ts, work, cert_pem, key_pem, extra=""):
    write(work + ".crt", cert_pem, 0o644)
    write(work + ".key", key_pem)
    return config(work, f"provider = microsoft\ntenant = {TENANT}\nclient_id = {ts.client_id}\n"
                        f"certificate_file = {work}.crt\nprivate_key_file = {work}.key\ntoken_url = {ts.token_url}\n"
                        f"{extra}")


def google_json(ts, key_pem, work):
    keyfile = {"type": "service_account", "project_id": "safeguarding-relay", "private_key_id": "5f1c0e",
               "private_key": key_pem, "client_email": SA, "client_id": SA_ID,
               "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": ts.token_url}
    write(work + ".json", json.dumps(keyfile, indent=2))
    return config(work, f"provider = google\nprivate_key_file = {work}.json\n")


def expect(name, r, status, *words, use="mail"):
    got, line = token_line(r, use)
    missing = [w for w in words if w not in line]
    check(name, got == status and not missing,
          f"want {status} with {missing}; got {got}: {line}" if got else line)
    return line


def microsoft(tmp):
    with TokenServer(KEY, MAILBOX, tenant=TENANT, client_secret=SECRET) as ts:
        work = os.path.join(tmp, "ms")
        conf = ms_secret(ts, work)
        r = relay(conf, "check")
        expect("microsoft secret: token had", r, "OK", "client secret", "scope https://outlook.office365.com/.default",
               "valid for 3600 s")
        form = ts.requests[-1] if ts.requests else {}
        check("microsoft secret: the form Entra documents",
              form.get("grant_type") == "client_credentials" and form.get("client_secret") == SECRET and
              form.get("scope") == "https://outlook.office365.com/.default" and form.get("client_id") == ts.client_id,
              {k: v for k, v in form.items() if k != "client_secret"})
        check("microsoft secret: expiry not known, said so",
              re.search(r"^OK\s+oauth client secret: its expiry is not known: set \[oauth\] secret_expires", r.stdout,
                        re.M), r.stdout)

        r = relay(ms_secret(ts, work, secret="wrong-secret"), "check")
        expect("AADSTS7000215: a wrong secret", r, "FAIL", "AADSTS7000215", "the client secret is wrong",
               "Value (not its Secret ID)", f"{work}.s", "Certificates & secrets")
        lines = r.stdout.splitlines()
        tok = [i for i, l in enumerate(lines) if l.startswith("FAIL oauth mail token")]
        imap = [i for i, l in enumerate(lines) if re.match(r"^\w+\s+imap ", l)]
        check("the token's failure is one line, before the logins that need it",
              len(tok) == 1 and (not imap or tok[0] < imap[0]), r.stdout)

        ts.secret_expired = True
        r = relay(ms_secret(ts, work), "check")
        expect("AADSTS7000222: the secret expired", r, "FAIL", "AADSTS7000222", "has expired", "secret_expires")
        ts.secret_expired = False

        conf = config(work, f"provider = microsoft\ntenant = {TENANT}\nclient_id = 11111111-2222-3333-4444-555555555555\n"
                            f"client_secret_file = {work}.s\ntoken_url = {ts.token_url}\n")
        write(work + ".s", SECRET)
        r = relay(conf, "check")
        expect("AADSTS700016: the app not in the tenant", r, "FAIL", "AADSTS700016",
               f"no application 11111111-2222-3333-4444-555555555555 in tenant {TENANT}", "Directory (tenant) ID")

        ts.error("AADSTS65001")
        r = relay(ms_secret(ts, work), "check")
        expect("AADSTS65001: no admin consent", r, "FAIL", "AADSTS65001", "admin consent is missing",
               "IMAP.AccessAsApp", "SMTP.SendAsApp", "Grant admin consent")

        other = ts.token_url.replace(f"/{TENANT}/", "/nosuch.example/")
        conf = config(work, f"provider = microsoft\ntenant = nosuch.example\nclient_id = {ts.client_id}\n"
                            f"client_secret_file = {work}.s\ntoken_url = {other}\n")
        write(work + ".s", SECRET)
        r = relay(conf, "check")
        expect("AADSTS90002: the tenant not found", r, "FAIL", "AADSTS90002", "tenant nosuch.example was not found")

        ts.disable()
        r = relay(ms_secret(ts, work), "check")
        expect("AADSTS7000112: a disabled (revoked) app", r, "FAIL", "AADSTS7000112", "is disabled",
               "Enabled for users to sign in")
        ts.disable(False)

        # Graph: its own scope, its own consent
        conf = ms_secret(ts, work)
        with open(conf, "a") as f:
            pass
        rt.edit_config(conf, "[smtp]\n", "[smtp]\ntransport = graph\n")
        ts.error("AADSTS65001", 2)   # the mail token is asked first
        r = relay(conf, "check")
        expect("graph: AADSTS65001 names Mail.Send", r, "FAIL", "Mail.Send", "Microsoft Graph", use="graph")
        r = relay(conf, "check")
        expect("graph: its token, its scope", r, "OK", "scope https://graph.microsoft.com/.default", use="graph")

        # secret_expires: fine, soon, past
        today = datetime.datetime.now(datetime.timezone.utc).date()
        for days, status, words in ((90, "OK", "(in 8"), (12, "OK", "WARNING"), (-3, "FAIL", "ran out on")):
            when = (today + datetime.timedelta(days=days)).isoformat()
            r = relay(ms_secret(ts, work, extra=f"secret_expires = {when}\n"), "check")
            m = re.search(r"^(OK|FAIL)\s+oauth client secret: (.*)$", r.stdout, re.M)
            check(f"secret_expires {days:+d} days: {status} {words}",
                  m and m.group(1) == status and words in m.group(2) and when in m.group(2) and
                  (("WARNING" in m.group(2)) == (0 <= days <= 30)), r.stdout)
        r = relay(ms_secret(ts, work, extra="secret_expires = 31/12/2026\n"), "check")
        check("secret_expires not a date: said", "secret_expires" in r.stdout and "YYYY-MM-DD" in r.stdout and
              r.returncode == 1, r.stdout)


def certificates(tmp):
    with TokenServer(KEY, MAILBOX, tenant=TENANT) as ts:
        work = os.path.join(tmp, "cert")
        key, key_pem = new_key()
        cert_pem, thumb = new_cert(key, 200)
        ts.register_certificate(cert_pem)
        r = relay(ms_cert(ts, work, cert_pem, key_pem), "check")
        expect("microsoft certificate: token had", r, "OK", "certificate", "valid for 3600 s")
        form = ts.requests[-1] if ts.requests else {}
        head, claims = ts.assertions[-1] if ts.assertions else ({}, {})
        check("certificate: client_assertion_type and no secret",
              form.get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" and
              "client_secret" not in form and form.get("grant_type") == "client_credentials", sorted(form))
        check("certificate: the double verified header and claims (x5t, x5t#S256, aud, iss, sub, exp 10 min)",
              head.get("alg") == "RS256" and "x5t#S256" in head and claims.get("aud") == ts.token_url and
              claims.get("iss") == ts.client_id == claims.get("sub") and claims.get("exp") - claims.get("nbf") == 600,
              (head, claims))
        m = re.search(r"^OK\s+oauth certificate: (.*)$", r.stdout, re.M)
        check("certificate: thumbprint and expiry shown, no warning",
              m and thumb in m.group(1) and "runs out on" in m.group(1) and "WARNING" not in m.group(1), r.stdout)
        n = len(ts.assertions)
        relay(ms_cert(ts, work, cert_pem, key_pem), "check")
        check("certificate: each request a fresh jti", len(ts.assertions) == n + 1 and
              ts.assertions[-1][1]["jti"] != ts.assertions[-2][1]["jti"], len(ts.assertions))

        # a certificate the app does not have
        key2, key2_pem = new_key()
        cert2_pem, thumb2 = new_cert(key2, 200)
        r = relay(ms_cert(ts, work, cert2_pem, key2_pem), "check")
        expect("AADSTS700027: a certificate not registered", r, "FAIL", "AADSTS700027", "not registered", thumb2,
               f"{work}.crt")
        # the registered certificate with another key
        r = relay(ms_cert(ts, work, cert_pem, key2_pem), "check")
        expect("AADSTS700027: signed by a key not the certificate's", r, "FAIL", "AADSTS700027")
        check("check says the key is not the certificate's",
              re.search(rf"^FAIL\s+oauth certificate: .*{thumb}.*{re.escape(work)}\.key is not its private key",
                        r.stdout, re.M), r.stdout)

        # expiry: soon and past
        key3, key3_pem = new_key()
        cert3_pem, thumb3 = new_cert(key3, 20)
        ts.register_certificate(cert3_pem)
        r = relay(ms_cert(ts, work, cert3_pem, key3_pem), "check")
        check("certificate runs out in 20 days: a warning",
              re.search(r"^OK\s+oauth certificate: WARNING: .*runs out on \S+ \(in 20 days\)", r.stdout, re.M),
              r.stdout)
        cert4_pem, _ = new_cert(key3, -2)
        r = relay(ms_cert(ts, work, cert4_pem, key3_pem), "check")
        check("certificate ran out: a failure that says what to do",
              re.search(r"^FAIL\s+oauth certificate: .*ran out on .*make a new certificate", r.stdout, re.M), r.stdout)

        # the key file's permissions
        conf = ms_cert(ts, work, cert_pem, key_pem)
        os.chmod(work + ".key", 0o644)
        r = relay(conf, "check")
        check("a private key readable by others is refused",
              r.returncode == 1 and re.search(r"FAIL\s+secret files: .*\.key: readable by group or others", r.stdout),
              r.stdout)


def google(tmp):
    with TokenServer(KEY, MAILBOX, provider="google", client_email=SA) as ts:
        work = os.path.join(tmp, "google")
        key, key_pem = new_key()
        ts.register_public_key(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                             serialization.PublicFormat.SubjectPublicKeyInfo))
        ts.delegate("https://mail.google.com/")
        conf = google_json(ts, key_pem, work)
        r = relay(conf, "check")
        expect("google: token had with the JSON key file", r, "OK", "service account", f"for {MAILBOX}",
               "scope https://mail.google.com/")
        form = ts.requests[-1] if ts.requests else {}
        head, claims = ts.assertions[-1] if ts.assertions else ({}, {})
        check("google: the JWT bearer grant", form.get("grant_type") == "urn:ietf:params:oauth:grant-type:jwt-bearer"
              and "assertion" in form and "client_secret" not in form, sorted(form))
        check("google: iss, sub = the mailbox, scope, aud, an hour, kid",
              claims.get("iss") == SA and claims.get("sub") == MAILBOX and claims.get("scope") ==
              "https://mail.google.com/" and claims.get("aud") == ts.token_url and
              claims.get("exp") - claims.get("iat") == 3600 and head.get("kid") == "5f1c0e", (head, claims))

        # a PEM key with client_id = the client_email
        write(work + ".pem", key_pem)
        conf2 = config(work + "2", f"provider = google\nclient_id = {SA}\nprivate_key_file = {work}.pem\n"
                                   f"token_url = {ts.token_url}\n")
        r = relay(conf2, "check")
        expect("google: token had with a PEM key", r, "OK", "service account")

        ts.delegated.clear()
        r = relay(conf, "check")
        expect("google unauthorized_client: delegation", r, "FAIL", "unauthorized_client",
               "domain-wide delegation is not granted", "Manage Domain Wide Delegation", f"client ID {SA_ID}",
               "https://mail.google.com/")
        ts.delegate("https://mail.google.com/")

        other, other_pem = new_key()
        r = relay(google_json(ts, other_pem, work), "check")
        expect("google invalid_grant: a key not the account's", r, "FAIL", "invalid_grant",
               "key was deleted or revoked", "Keys", f"{work}.json")

        ts.users = {"someone.else@example.org"}
        r = relay(google_json(ts, key_pem, work), "check")
        expect("google invalid_grant: the mailbox not in the domain", r, "FAIL", "invalid_grant",
               f"{MAILBOX} is not a user", "[imap] username")
        ts.users = {MAILBOX}

        ts.disable()
        r = relay(google_json(ts, key_pem, work), "check")
        expect("google disabled_client: revoked", r, "FAIL", "disabled_client", "is disabled (revoked)")
        ts.disable(False)


def secrecy(tmp):
    """No secret, token, assertion or key: output at -v, /proc while asking, the database."""
    with TokenServer(KEY, MAILBOX, tenant=TENANT, client_secret=SECRET) as ts, \
            TokenServer(KEY, MAILBOX, provider="google", client_email=SA) as gs:
        key, key_pem = new_key()
        cert_pem, _ = new_cert(key, 200)
        ts.register_certificate(cert_pem)
        gs.register_public_key(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                             serialization.PublicFormat.SubjectPublicKeyInfo))
        gs.delegate("https://mail.google.com/")
        issued = []
        for srv in (ts, gs):
            orig = srv.token

            def token(lifetime=None, orig=orig):
                t = orig(lifetime)
                issued.append(t)
                return t
            srv.token = token
        confs = [("secret", ms_secret(ts, os.path.join(tmp, "sx"))),
                 ("certificate", ms_cert(ts, os.path.join(tmp, "cx"), cert_pem, key_pem)),
                 ("google", google_json(gs, key_pem, os.path.join(tmp, "gx")))]
        for name, conf in confs:
            ts.delay = gs.delay = 1.0
            p = subprocess.Popen([rt.RELAY, "-c", conf, "-v", "check"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            time.sleep(0.6)
            try:
                cmdline = open(f"/proc/{p.pid}/cmdline", "rb").read()
                environ = open(f"/proc/{p.pid}/environ", "rb").read()
            except OSError:
                cmdline = environ = b""
            out, err = p.communicate(timeout=120)
            if p.returncode not in (0, 1) or "Sanitizer" in err or re.search(r"^==\d+==", err, re.M):
                BAD_RUNS.append((name, p.returncode, err[-2000:]))
            ts.delay = gs.delay = 0
            forms = ts.requests + gs.requests
            secrets = [SECRET] + [f.get(k) for f in forms for k in ("client_assertion", "assertion") if f.get(k)] + \
                issued + [line for pem in PEMS for line in pem.splitlines()[1:-1]]
            got, _ = token_line(subprocess.CompletedProcess([], 0, out, err))
            check(f"secrecy {name}: the token was had (so the secrets were used)", got == "OK", out + err)
            check(f"secrecy {name}: /proc was read while the relay asked", len(cmdline) > 0, "")
            blob = out + err
            check(f"secrecy {name}: -v logged the token's arrival (debug lines were on)",
                  "oauth: a mail token from 127.0.0.1" in err, err[-1500:])
            leaked = [s[:12] for s in secrets if s and s in blob]
            check(f"secrecy {name}: nothing secret in the output at -v", not leaked, leaked)
            leaked = [s[:12] for s in secrets if s and (s.encode() in cmdline or s.encode() in environ)]
            check(f"secrecy {name}: nothing secret in /proc/PID/cmdline or environ", not leaked, leaked)
            dbfiles = [os.path.join(os.path.dirname(conf), f) for f in os.listdir(os.path.dirname(conf))
                       if f.startswith("relay.db")]
            data = b"".join(open(f, "rb").read() for f in dbfiles)
            leaked = [s[:12] for s in secrets if s and s.encode() in data]
            check(f"secrecy {name}: nothing secret in the database", dbfiles and not leaked, (dbfiles, leaked))


tmp = tempfile.mkdtemp(prefix="test_oauth_tokens.")
try:
    for part in (microsoft, certificates, google, secrecy):
        try:
            part(tmp)
        except Exception as e:
            import traceback
            traceback.print_exc()
            check(f"{part.__name__} ran to the end", False, repr(e))
finally:
    shutil.rmtree(tmp, ignore_errors=True)
check("every relay check exited 0 or 1, with no sanitizer or valgrind report", not BAD_RUNS, BAD_RUNS[:2])
done()
