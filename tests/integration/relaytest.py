"""Helpers to run the relay against a sandbox: configuration, running, reading the database."""
import os
import re
import sqlite3
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# The test build by default: the production build/relay ignores RELAY_TEST_NOW.
RELAY = os.environ.get("RELAY_BIN", os.path.join(ROOT, "build", "relay-test"))

SERVICE = "rusafe@example.org"
ADVISERS = ["adviser1@example.org", "adviser2@example.org"]
URGENT = "oncall@example.org"
# The sandbox's Postfix writes Authentication-Results under this name on every
# message it accepts (tests/sandbox/sandbox): the relay's [advisers] authserv_id.
AUTHSERV_ID = "sandbox.localhost"


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def _operator():
    """How the relay names whoever runs it at the console (its audit actor)."""
    import pwd
    try:
        name = os.getlogin()
    except OSError:
        name = os.environ.get("SUDO_USER") if os.getuid() == 0 and os.environ.get("SUDO_USER") else \
            pwd.getpwuid(os.getuid()).pw_name
    return "operator " + name


OPERATOR = _operator()


def make_config(sb, work, imap_host="localhost", imap_port=None, imap_security="tls",
                smtp_port=None, extra="", templates=None, poll_interval=5):
    """Writes work/relay.conf for sandbox sb and returns its path."""
    os.makedirs(work, exist_ok=True)
    os.chmod(work, 0o700)
    password = open(sb.password_file).read().strip()
    write_private(os.path.join(work, "imap.password"), password + "\n")
    write_private(os.path.join(work, "smtp.password"), password + "\n")
    write_private(os.path.join(work, "secret"), "test-secret-0123456789abcdef0123456789\n")
    if imap_port is None:
        imap_port = sb.imaps_port if imap_security == "tls" else sb.imap_port
    conf = f"""[service]
name = R-U-Safe?
reference_prefix = RUS
database = relay.db
templates = {templates or os.path.join(ROOT, 'templates')}
timezone = Europe/London
poll_interval = {poll_interval}
secret_file = secret
user = root

[hours]
bank_holidays = {os.path.join(ROOT, 'config', 'bank-holidays-england-and-wales.txt')}

[policy]
urgent_phrases = {os.path.join(ROOT, 'config', 'urgent.txt')}

[imap]
host = {imap_host}
port = {imap_port}
security = {imap_security}
username = {SERVICE}
password_file = imap.password
ca_file = {sb.ca_file}
timeout = 5

[smtp]
host = localhost
port = {smtp_port or sb.smtp_port}
security = starttls
username = {SERVICE}
password_file = smtp.password
from = R-U-Safe? <{SERVICE}>
ca_file = {sb.ca_file}
timeout = 10

[advisers]
forward_to = {", ".join(ADVISERS)}
allowed = {", ".join(ADVISERS)}
urgent_to = {URGENT}
authserv_id = {AUTHSERV_ID}

[outbox]
retry_min = 1
retry_max = 10
{extra}"""
    path = os.path.join(work, "relay.conf")
    with open(path, "w") as f:
        f.write(conf)
    return path


def relay(conf, *args, timeout=60, env=None):
    """Runs the relay; returns CompletedProcess with text stdout/stderr."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([RELAY, "-c", conf, *args], capture_output=True, text=True, timeout=timeout, env=e)


def db(conf):
    return sqlite3.connect(os.path.join(os.path.dirname(conf), "relay.db"))


def mail(frm, to, subject, body, msgid=None, extra_headers=(), in_reply_to=None, references=None,
         content_type="text/plain; charset=utf-8"):
    """A simple RFC 5322 message as bytes (CRLF)."""
    lines = [f"From: {frm}", f"To: {to}", f"Subject: {subject}",
             "Date: Sat, 21 Nov 2026 10:00:00 +0000", "MIME-Version: 1.0",
             f"Content-Type: {content_type}", "Content-Transfer-Encoding: 8bit"]
    if msgid:
        lines.append(f"Message-ID: <{msgid}>")
    if in_reply_to:
        lines.append(f"In-Reply-To: <{in_reply_to}>")
    if references:
        lines.append("References: " + " ".join(f"<{r}>" for r in references))
    lines.extend(extra_headers)
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


def twilio_section(gw, work, sid, password="tok", extra=""):
    """The [sms] section for a Twilio double gw; writes work/sms.password."""
    os.makedirs(work, exist_ok=True)
    write_private(os.path.join(work, "sms.password"), password + "\n")
    return (f"[sms]\nprovider = twilio\nurl = {gw.url}\naccount = {sid}\npassword_file = sms.password\n"
            f"number = +447700900000\n{extra}")


def sms_section(gw, work, extra=""):
    """The [sms] section for any gateway double gw (its provider, URL, account,
    login and number); writes work/sms.password."""
    os.makedirs(work, exist_ok=True)
    write_private(os.path.join(work, "sms.password"), gw.password + "\n")
    lines = ["[sms]", f"provider = {gw.provider}", f"url = {gw.url}", "password_file = sms.password",
             f"number = {gw.number}", f"username = {gw.username}"]
    if gw.account:
        lines.append(f"account = {gw.account}")
    return "\n".join(lines) + "\n" + extra


def body(msg):
    """The plain-text body of a received message ("" when it has none)."""
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def edit_config(conf, old, new):
    """Replaces text in a relay.conf written by make_config (once)."""
    with open(conf) as f:
        text = f.read()
    if old not in text:
        raise ValueError(f"{old!r} is not in {conf}")
    with open(conf, "w") as f:
        f.write(text.replace(old, new, 1))


def relay_on_terminal(conf, *args, env=None, timeout=120):
    """Runs the relay with stderr on a pseudo-terminal, as an operator would.
    Returns (exit code, stdout text, what the terminal showed)."""
    import pty
    e = dict(os.environ, **(env or {}))
    master, slave = pty.openpty()
    p = subprocess.Popen([RELAY, "-c", conf, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=slave, env=e)
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:   # EIO: the relay has closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    out = p.stdout.read().decode(errors="replace")
    p.wait(timeout=timeout)
    os.close(master)
    return p.returncode, out, shown.decode(errors="replace")


def stop(proc, timeout=30):
    """SIGTERM to a running relay, then SIGKILL if it has not gone in timeout seconds."""
    import signal
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stamped(raw, domain="example.org", result="dkim=pass header.d={domain}"):
    """raw as the service's receiving server would leave it in the mailbox: an
    Authentication-Results field of AUTHSERV_ID on top. For a message put in
    the mailbox by IMAP APPEND, which passes no server that would write one."""
    field = f"Authentication-Results: {AUTHSERV_ID}; " + result.format(domain=domain)
    return field.encode() + b"\r\n" + raw


def reply_tag(fwd):
    """The signed reply address (rusafe+REF.SIG@...) in a forward's Reply-To."""
    return re.search(r"rusafe\+[^>\s]+@example\.org", str(fwd["Reply-To"])).group(0)


def adviser_replies(sb, adviser, fwd, text):
    """An adviser answers a forward from their mail client: to its Reply-To,
    threaded on it, through Postfix with their own login. Returns once the
    reply is in the relay's inbox."""
    tag = reply_tag(fwd)
    before = len(sb.messages(SERVICE))
    sb.send(adviser, [tag], mail(adviser, tag, "RE: " + str(fwd["Subject"]), text,
                                 in_reply_to=str(fwd["Message-ID"]).strip("<>")), auth_user=adviser)
    sb.wait_for(SERVICE, before + 1)


def run_parts(sb, *parts):
    """Runs each part of a suite; one part's exception fails it without hiding the others."""
    from lib import check
    for part in parts:
        try:
            part(sb)
        except Exception as e:
            check(f"{part.__name__} ran to the end", False, repr(e))
