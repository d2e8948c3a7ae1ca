"""lib.py: the relay's integration tests and demo against the real mail sandbox.

    from lib import Sandbox, check, done
    with Sandbox() as sb:                      # tests/sandbox/sandbox up/down
        sb.send("a@example.com", ["young1@example.net"], raw)
        msgs = sb.wait_for("young1@example.net", 1)
        check("delivered", msgs[0]["Subject"] == "hi")
    done()

Python 3 standard library only. Every connection verifies TLS against the
sandbox's test CA unless a test asks otherwise.
"""

import base64
import email
import email.policy
import imaplib
import json
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SANDBOX_SCRIPT = os.path.join(HERE, "..", "sandbox", "sandbox")


class SandboxError(Exception):
    """The sandbox would not start or stop; the message carries the log tail."""


class Sandbox:
    """One sandbox directory and its servers.

    Sandbox(dir=None): dir is made if missing; with no dir a fresh one is made
    under /tmp and removed again by down() (unless SANDBOX_KEEP=1 is set, or
    the with-block raised, so the logs stay for a post-mortem).

    After up() (or for an already running sandbox, after load()) these
    attributes hold DIR/env.json: dir, imap_host, wrong_name_host, imaps_port,
    imap_port, lmtp_port, smtp_host, smtp_port, smtp_notls_port, ca_file,
    password_file, password, cert_dir, mail_dir, dovecot_log_file,
    postfix_log_file, env (the whole dict, keys as in DIR/env).
    The bad servers of the TLS tests: IMAP on self_signed_host, expired_host
    (both ports) and no_tls_host (no STARTTLS); SMTP on smtp_self_signed_port,
    smtp_expired_port and smtp_wrong_name_port (and smtp_notls_port).

    Sandbox(oauth2=True) also takes OAuth2 logins, as Microsoft 365 and Google
    do: Dovecot's oauth2 passdb validates signed tokens itself (HS256 with
    oauth_key, issuer oauth_issuer, the email claim the user) for SASL XOAUTH2
    and OAUTHBEARER, on IMAP and, through Dovecot SASL, on Postfix's SMTP AUTH.
    Passwords still work (PLAIN and LOGIN), so every helper here does too.
    tests/doubles/oauth_server.py issues such tokens:
    TokenServer(key=sb.oauth_key, issuer=sb.oauth_issuer, email=...).
    """

    OAUTH_ISSUER = "https://sts.example.test/"

    def __init__(self, dir=None, oauth2=False):
        self._made_dir = dir is None
        self.dir = os.path.abspath(dir) if dir else tempfile.mkdtemp(prefix="relay-sandbox-")
        self.env = {}
        self.up_seconds = None
        self.oauth2 = oauth2
        self.oauth_key = None
        self.oauth_issuer = self.OAUTH_ISSUER

    # -- life cycle -------------------------------------------------------

    def up(self):
        """Start the servers (tests/sandbox/sandbox up); raises SandboxError."""
        t0 = time.monotonic()
        for _ in range(3):
            r = subprocess.run([SANDBOX_SCRIPT, "up", self.dir],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            # Ports are picked free, then bound by the servers: another
            # sandbox starting at the same moment can take one in between.
            # The script has stopped what it started; it picks anew.
            if r.returncode == 0 or b"Address already in use" not in r.stdout:
                break
        if r.returncode != 0:
            raise SandboxError(r.stdout.decode("utf-8", "replace"))
        self.load()
        if self.oauth2:
            self._oauth2_on()
        self.up_seconds = time.monotonic() - t0
        return self

    def _oauth2_on(self):
        """Adds Dovecot's oauth2 passdb (local validation, HS256) beside the
        password one and restarts Dovecot; Postfix asks Dovecot's auth
        service, so its SMTP AUTH offers XOAUTH2 and OAUTHBEARER too."""
        self.oauth_key = os.urandom(32)
        keys = os.path.join(self.dir, "oauth-keys")
        os.makedirs(os.path.join(keys, "default", "HS256"), exist_ok=True)
        for d in (keys, os.path.join(keys, "default"), os.path.join(keys, "default", "HS256")):
            os.chmod(d, 0o755)
        key_file = os.path.join(keys, "default", "HS256", "default")
        with open(key_file, "w") as f:
            f.write(base64.b64encode(self.oauth_key).decode())
        os.chmod(key_file, 0o644)
        ext = os.path.join(self.dir, "dovecot-oauth2.conf.ext")
        with open(ext, "w") as f:
            f.write("introspection_mode = local\n"
                    "local_validation_key_dict = fs:posix:prefix=%s/\n"
                    "username_attribute = email\n"
                    "issuers = %s\n" % (keys, self.oauth_issuer))
        os.chmod(ext, 0o644)
        conf = self.env["DOVECOT_CONF"]
        with open(conf) as f:
            text = f.read()
        text = text.replace("auth_mechanisms = plain login\n",
                            "auth_mechanisms = plain login xoauth2 oauthbearer\n", 1)
        text = text.replace("passdb {\n  driver = static\n",
                            "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                            "  args = %s\n}\npassdb {\n  driver = static\n  mechanisms = plain login\n" % ext, 1)
        if "driver = oauth2" not in text or "xoauth2 oauthbearer\n" not in text:
            raise SandboxError("sandbox's dovecot.conf is not as expected: cannot add the oauth2 passdb")
        with open(conf, "w") as f:
            f.write(text)
        r = self.doveadm("reload")
        if r.returncode != 0:
            raise SandboxError("doveadm reload: " + r.stdout + r.stderr)
        # Postfix's smtpd processes keep their connection to the old auth
        # process: reloaded, new ones ask the new one.
        r = subprocess.run(["postfix", "-c", self.env["POSTFIX_CONFIG_DIR"], "reload"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SandboxError("postfix reload: " + r.stdout + r.stderr)
        deadline = time.monotonic() + 20
        while not self._offers_xoauth2():
            if time.monotonic() > deadline:
                raise SandboxError("the servers do not offer XOAUTH2 after the reload")
            time.sleep(0.1)

    def _offers_xoauth2(self):
        try:
            conn = self.imap()
            try:
                imap_ok = "AUTH=XOAUTH2" in conn.capabilities
            finally:
                _logout(conn)
            conn = self.smtp()
            try:
                smtp_ok = "XOAUTH2" in conn.esmtp_features.get("auth", "").upper()
            finally:
                conn.quit()
            return imap_ok and smtp_ok
        except (OSError, imaplib.IMAP4.error, smtplib.SMTPException):
            return False

    def load(self):
        """Read DIR/env.json of a sandbox that is already up."""
        with open(os.path.join(self.dir, "env.json")) as f:
            self.env = json.load(f)
        e = self.env
        self.imap_host = e["IMAP_HOST"]
        self.wrong_name_host = e["WRONG_NAME_HOST"]
        self.imaps_port = e["IMAPS_PORT"]
        self.imap_port = e["IMAP_PORT"]
        self.lmtp_port = e["LMTP_PORT"]
        self.smtp_host = e["SMTP_HOST"]
        self.smtp_port = e["SMTP_PORT"]
        self.smtp_notls_port = e["SMTP_NOTLS_PORT"]
        self.self_signed_host = e["SELF_SIGNED_HOST"]
        self.expired_host = e["EXPIRED_HOST"]
        self.no_tls_host = e["NO_TLS_HOST"]
        self.smtp_self_signed_port = e["SMTP_SELF_SIGNED_PORT"]
        self.smtp_expired_port = e["SMTP_EXPIRED_PORT"]
        self.smtp_wrong_name_port = e["SMTP_WRONG_NAME_PORT"]
        self.ca_file = e["CA_FILE"]
        self.password_file = e["PASSWORD_FILE"]
        self.cert_dir = e["CERT_DIR"]
        self.mail_dir = e["MAIL_DIR"]
        self.dovecot_log_file = e["DOVECOT_LOG"]
        self.postfix_log_file = e["POSTFIX_LOG"]
        with open(self.password_file) as f:
            self.password = f.read().strip()
        return self

    def down(self, remove=None):
        """Stop every server process of this sandbox (idempotent). remove:
        delete the directory too; default: only a directory we made."""
        r = subprocess.run([SANDBOX_SCRIPT, "down", self.dir],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise SandboxError(r.stdout.decode("utf-8", "replace"))
        if remove is None:
            remove = self._made_dir and os.environ.get("SANDBOX_KEEP") != "1"
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.up()

    def __exit__(self, exc_type, exc, tb):
        self.down(remove=False if exc_type else None)
        return False

    # -- TLS --------------------------------------------------------------

    def tls_context(self, verify=True):
        """An ssl.SSLContext trusting only the sandbox CA (verify=False: none)."""
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    # -- IMAP -------------------------------------------------------------

    def imap(self, user=None, host=None, tls="imaps", verify=True, timeout=10):
        """A connected imaplib.IMAP4, logged in as user when one is given.
        tls: "imaps" (implicit TLS), "starttls", or "none" (plain IMAP port).
        host defaults to imap_host; the caller logs out."""
        host = host or self.imap_host
        ctx = self.tls_context(verify)
        if tls == "imaps":
            conn = imaplib.IMAP4_SSL(host, self.imaps_port, ssl_context=ctx, timeout=timeout)
        else:
            conn = imaplib.IMAP4(host, self.imap_port, timeout=timeout)
            if tls == "starttls":
                conn.starttls(ssl_context=ctx)
        if user is not None:
            conn.login(user, self.password)
        return conn

    def append(self, user, raw_bytes, mailbox="INBOX"):
        """Store raw_bytes in user's mailbox (made if missing) by IMAP APPEND."""
        conn = self.imap(user)
        try:
            if mailbox.upper() != "INBOX":
                conn.create(_quote(mailbox))  # "already exists" is fine
            typ, data = conn.append(_quote(mailbox), None, None, raw_bytes)
            if typ != "OK":
                raise imaplib.IMAP4.error("APPEND failed: %r" % data)
        finally:
            _logout(conn)

    def messages(self, user, mailbox="INBOX"):
        """Every message in user's mailbox, oldest first, as
        email.message.EmailMessage (policy=email.policy.default). A mailbox
        that does not exist yet is empty."""
        conn = self.imap(user)
        try:
            typ, data = conn.select(_quote(mailbox), readonly=True)
            if typ != "OK":
                return []
            if int(data[0]) == 0:
                return []
            typ, data = conn.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
            if typ != "OK":
                raise imaplib.IMAP4.error("FETCH failed: %r" % data)
            found = []
            for item in data:
                if isinstance(item, tuple):
                    head = item[0].decode("ascii", "replace")
                    uid = int(head.split("UID ", 1)[1].split()[0].rstrip(")"))
                    found.append((uid, item[1]))
            found.sort()
            return [email.message_from_bytes(raw, policy=email.policy.default)
                    for _, raw in found]
        finally:
            _logout(conn)

    def wait_for(self, user, count, timeout=10, mailbox="INBOX"):
        """Poll until user's mailbox holds at least count messages (Postfix
        hands mail to Dovecot asynchronously) and return them; raise
        TimeoutError (with the Postfix log tail) when it does not happen."""
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.messages(user, mailbox)
            if len(msgs) >= count:
                return msgs
            if time.monotonic() > deadline:
                raise TimeoutError("%d of %d messages for %s after %ss; postfix log tail:\n%s"
                                   % (len(msgs), count, user, timeout,
                                      "\n".join(self.postfix_log().splitlines()[-15:])))
            time.sleep(0.1)

    # -- SMTP -------------------------------------------------------------

    def smtp(self, port=None, starttls=True, verify=True, timeout=10):
        """A connected smtplib.SMTP after EHLO (and STARTTLS unless told not
        to); port defaults to smtp_port. The caller quits."""
        # A local_hostname spares smtplib its socket.getfqdn(), a DNS lookup.
        conn = smtplib.SMTP(self.smtp_host, port or self.smtp_port,
                            local_hostname="relay-tests.localhost", timeout=timeout)
        conn.ehlo()
        if starttls:
            conn.starttls(context=self.tls_context(verify))
            conn.ehlo()
        return conn

    def send(self, mail_from, rcpts, raw_bytes, auth_user=None):
        """Submit raw_bytes via SMTP with STARTTLS (verified), AUTH as
        auth_user when given. Returns smtplib's dict of refused recipients
        (empty when all were accepted); raises smtplib errors otherwise."""
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        conn = self.smtp()
        try:
            if auth_user is not None:
                conn.login(auth_user, self.password)
            return conn.sendmail(mail_from, rcpts, raw_bytes)
        finally:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                pass

    # -- logs -------------------------------------------------------------

    def mark(self):
        """Where both logs end now; pass it to dovecot_log()/postfix_log() to
        see only what came after (up's own readiness probes, for one, leave
        "no auth attempts" lines in the Dovecot log)."""
        return {"dovecot": _size(os.path.join(self.dir, "dovecot.log")),
                "postfix": _size(os.path.join(self.dir, "postfix.log"))}

    def dovecot_log(self, since=None):
        """The Dovecot log (DIR/dovecot.log) as text, from mark() since on."""
        return _read_text(os.path.join(self.dir, "dovecot.log"),
                          since["dovecot"] if since else 0)

    def postfix_log(self, since=None):
        """The Postfix log (DIR/postfix.log) as text, from mark() since on."""
        return _read_text(os.path.join(self.dir, "postfix.log"),
                          since["postfix"] if since else 0)

    _MASTERS = {"dovecot": ("dovecot-run/master.pid", b"dovecot"),
                "postfix": ("postfix-queue/pid/master.pid", b"postfix/sbin/master")}

    def _master(self, server):
        f, name = self._MASTERS[server]
        try:
            with open(os.path.join(self.dir, f)) as fh:
                pid = int(fh.read().split()[0])
            with open("/proc/%d/cmdline" % pid, "rb") as fh:
                return pid if name in fh.read() else None
        except (OSError, ValueError, IndexError):
            return None

    def server_cpu(self, server):
        """CPU seconds one server ("dovecot" or "postfix") has used so far:
        its running processes, and those that ended (counted into their
        parents when reaped). 0.0 when down."""
        master = self._master(server)
        return sum(process_cpu(p) for p in _descendants([master])) if master else 0.0

    def unseen(self, user, mailbox="INBOX"):
        """How many messages in user's mailbox are not \\Seen (-1 when the
        server refuses the SEARCH)."""
        conn = self.imap(user)
        try:
            conn.select(_quote(mailbox), readonly=True)
            typ, data = conn.search(None, "UNSEEN")
            return len(data[0].split()) if typ == "OK" else -1
        finally:
            _logout(conn)

    def doveadm(self, *args):
        """Runs doveadm against this sandbox's Dovecot; the CompletedProcess
        (text), whatever its exit status."""
        return subprocess.run(["doveadm", "-c", self.env["DOVECOT_CONF"], *args], capture_output=True, text=True)

    def server_pids(self):
        """Pids of every running process of this sandbox (both masters and
        their children); empty when down."""
        return _descendants([p for p in map(self._master, self._MASTERS) if p])

    def stop_server(self, server, timeout=10):
        """Stop one server, "dovecot" or "postfix", and every process of it
        (Dovecot's clients are cut off), keeping its configuration and ports for
        start_server(). Raises SandboxError when it does not go."""
        pid = self._master(server)
        if pid is None:
            return
        tree = _descendants([pid])
        os.kill(pid, 15)
        # Dovecot's auth and log processes outlive their master while a client
        # (Postfix's smtpd) holds them: after a moment they are told too.
        deadline = time.monotonic() + timeout
        told = False
        while _descendants(tree) and time.monotonic() < deadline:
            if not told and pid not in _descendants(tree):
                time.sleep(0.5)
                for p in _descendants(tree):
                    os.kill(p, 15)
                told = True
            time.sleep(0.05)
        left = _descendants(tree)
        for p in left:
            os.kill(p, 9)
        if left:
            time.sleep(0.2)

    def start_server(self, server, timeout=10):
        """Start a server stopped by stop_server() on the same ports; returns
        once its port answers."""
        if server == "dovecot":
            cmd, port = ["dovecot", "-c", self.env["DOVECOT_CONF"]], self.imaps_port
        else:
            cmd, port = ["postfix", "-c", self.env["POSTFIX_CONFIG_DIR"], "start"], self.smtp_port
        # The daemon keeps whatever it inherits: a file, never our pipe.
        log = os.path.join(self.dir, server + "-start.log")
        with open(log, "ab") as out:
            r = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise SandboxError("%s did not start: %s" % (server, _read_text(log)[-2000:]))
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise SandboxError("%s did not answer on port %d" % (server, port))
                time.sleep(0.05)


def _quote(mailbox):
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _logout(conn):
    try:
        conn.logout()
    except (imaplib.IMAP4.error, OSError):
        pass


def _read_text(path, offset=0):
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def _size(path):
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def process_cpu(pid):
    """CPU seconds of process pid and of the children it has reaped; 0.0 when
    it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


class LoopbackProxy:
    """A TCP proxy on 127.0.0.1 (self.port) to a local port. Each connection
    it accepts is paired with one of its own to the target, and both go to
    self.serve(client, server), which starts whatever threads it needs."""

    def __init__(self, target_port):
        self.target = target_port
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.serve(client, socket.create_connection(("127.0.0.1", self.target)))

    def serve(self, client, server):
        raise NotImplementedError

    def close(self):
        self.listener.close()


def _descendants(roots):
    parent = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parent[int(name)] = int(fields[1])
    keep = set(p for p in roots if p in parent)
    changed = True
    while changed:
        changed = False
        for pid, ppid in parent.items():
            if pid not in keep and ppid in keep:
                keep.add(pid)
                changed = True
    return sorted(keep)


# -- the tiny test framework of tests/run ----------------------------------

_passed = 0
_failed = 0


def check(name, cond, detail=""):
    """Count one check and print "PASS name" or "FAIL name: detail"."""
    global _passed, _failed
    if cond:
        _passed += 1
        print("PASS %s" % name)
    else:
        _failed += 1
        print("FAIL %s: %s" % (name, detail))
    sys.stdout.flush()
    return bool(cond)


def done():
    """Print "N passed, N failed" and exit, non-zero when anything failed."""
    print("%d passed, %d failed" % (_passed, _failed))
    sys.stdout.flush()
    sys.exit(1 if _failed else 0)
