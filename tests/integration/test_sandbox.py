"""test_sandbox.py: proof that the mail sandbox is the real thing the relay's
integration tests rely on: verified TLS, the wrong-name host, SMTP submission
with AUTH after STARTTLS, LMTP delivery with the + delimiter, IDLE, the
no-STARTTLS port, the logs, and a clean shutdown."""

import imaplib
import os
import select
import smtplib
import socket
import ssl
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Sandbox, SandboxError, check, done  # noqa: E402


def mail(subject, to, body="Hello from the sandbox test.\n"):
    return ("From: Adviser <adviser@example.com>\r\n"
            "To: %s\r\n"
            "Subject: %s\r\n"
            "Message-ID: <%s.%f@sandbox.test>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "\r\n%s" % (to, subject, subject.replace(" ", "-"), time.time(), body)).encode()


def raises(fn, exc_type):
    """The exception fn raises when it is of exc_type, else None."""
    try:
        fn()
    except exc_type as e:
        return e
    return None


def running(pid):
    """pid is a live process (a zombie waiting for its parent is not)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def port_open(port, host="127.0.0.1"):
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def test_tls(sb):
    conn = raises(lambda: sb.imap("young1@example.net").logout(), Exception)
    check("imaps login verified against ca.pem", conn is None, repr(conn))

    c = sb.imap(host="localhost")
    check("imaps verifies by the name localhost too", c.sock.version() is not None)
    c.logout()

    c = sb.imap(tls="none")
    caps_before = c.capabilities
    c.starttls(ssl_context=sb.tls_context())
    typ, _ = c.login("young1@example.net", sb.password)
    check("imap STARTTLS offered", "STARTTLS" in caps_before, str(caps_before))
    check("imap STARTTLS then login", typ == "OK" and isinstance(c.sock, ssl.SSLSocket))
    c.logout()

    # "security = none" in the relay's tests: plaintext LOGIN on loopback.
    c = sb.imap(tls="none")
    typ, _ = c.login("young1@example.net", sb.password)
    check("imap plaintext login allowed on 127.0.0.1", typ == "OK")
    c.logout()
    c = sb.imap(host=sb.wrong_name_host, tls="none")
    check("imap plaintext login disabled on 127.0.0.2",
          "LOGINDISABLED" in c.capabilities, str(c.capabilities))
    c.logout()

    err = raises(lambda: sb.imap(host=sb.wrong_name_host).logout(), ssl.SSLCertVerificationError)
    check("imaps 127.0.0.2 fails verification", err is not None)
    check("... because of the host name",
          err is not None and err.verify_code in (62, 64) and "mismatch" in str(err),
          repr(err))
    err = raises(lambda: sb.imap(host=sb.wrong_name_host, tls="starttls").logout(),
                 ssl.SSLCertVerificationError)
    check("imap STARTTLS 127.0.0.2 fails for the host name",
          err is not None and err.verify_code in (62, 64), repr(err))

    # Same CA: with the name check off the chain verifies, so only the name is wrong.
    ctx = sb.tls_context()
    ctx.check_hostname = False
    with socket.create_connection((sb.wrong_name_host, sb.imaps_port)) as raw:
        with ctx.wrap_socket(raw) as s:
            cert = s.getpeercert()
    sans = [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]
    check("127.0.0.2 serves the wrong-name cert of the same CA",
          sans == ["wrong.example.invalid"], str(sans))

    def verify(name):
        r = subprocess.run(["openssl", "verify", "-CAfile", sb.ca_file,
                            os.path.join(sb.cert_dir, name)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return r.returncode, r.stdout.decode()
    rc, out = verify("localhost.pem")
    check("localhost.pem signed by the CA", rc == 0, out)
    rc, out = verify("expired.pem")
    check("expired.pem is expired (and from the CA)", rc != 0 and "expired" in out, out)
    rc, out = verify("self-signed.pem")
    check("self-signed.pem is not from the CA", rc != 0 and "self-signed" in out, out)
    mode = stat.S_IMODE(os.stat(sb.password_file).st_mode)
    check("password file is mode 0600", mode == 0o600, oct(mode))


def test_smtp(sb):
    s = sb.smtp(starttls=False)
    check("smtp offers STARTTLS", s.has_extn("starttls"))
    check("smtp offers no AUTH before TLS", not s.has_extn("auth"), str(s.esmtp_features))
    s.starttls(context=sb.tls_context())
    s.ehlo()
    check("smtp offers AUTH after STARTTLS", "PLAIN" in s.esmtp_features.get("auth", ""),
          str(s.esmtp_features))
    err = raises(lambda: s.login("adviser@example.com", "not-the-password"),
                 smtplib.SMTPAuthenticationError)
    check("smtp AUTH with a wrong password refused", err is not None)
    s.quit()

    young = "young1@example.net"
    service = "rusafe+RUS-AAAAA.sig@example.org"
    refused = sb.send("adviser@example.com", [young, service],
                      mail("sandbox delivery", "%s, %s" % (young, service)),
                      auth_user="adviser@example.com")
    check("smtp STARTTLS + AUTH send accepted", refused == {}, str(refused))
    t0 = time.monotonic()
    got = sb.wait_for(young, 1)
    got2 = sb.wait_for("rusafe@example.org", 1)
    print("# delivery via Postfix and LMTP took %.2fs" % (time.monotonic() - t0))
    check("delivered to young1@example.net", got[0]["Subject"] == "sandbox delivery")
    check("+detail delivered to rusafe@example.org INBOX",
          len(got2) == 1 and got2[0]["Subject"] == "sandbox delivery")
    check("Delivered-To keeps the +detail",
          got2[0]["Delivered-To"] == service, str(got2[0]["Delivered-To"]))
    check("maildir under DIR/mail/<domain>/<local part>",
          os.path.isdir(os.path.join(sb.mail_dir, "example.org", "rusafe", "Maildir")))

    # Unauthenticated from 127.0.0.1 (mynetworks) is fine for the test domains.
    refused = sb.send("young2@example.net", ["adviser@example.com"], mail("no auth", "a"))
    check("smtp without AUTH from 127.0.0.1 accepted", refused == {}, str(refused))
    check("... and delivered", sb.wait_for("adviser@example.com", 1)[0]["Subject"] == "no auth")

    err = raises(lambda: sb.send("adviser@example.com", ["someone@elsewhere.invalid"],
                                 mail("escape", "x"), auth_user="adviser@example.com"),
                 smtplib.SMTPRecipientsRefused)
    check("mail for other domains refused", err is not None)

    s = sb.smtp(port=sb.smtp_notls_port, starttls=False)
    check("no-STARTTLS port does not offer STARTTLS", not s.has_extn("starttls"),
          str(s.esmtp_features))
    check("no-STARTTLS port offers AUTH in clear (bait for a careless client)",
          s.has_extn("auth"), str(s.esmtp_features))
    s.quit()


def test_idle(sb):
    user = "idle-test@example.org"
    sb.append(user, mail("first", user))
    c = sb.imap(user)
    c.select("INBOX")
    tag = c._new_tag().decode()
    c.send(("%s IDLE\r\n" % tag).encode())
    cont = c.readline()
    check("IDLE accepted", cont.startswith(b"+"), repr(cont))
    sb.append(user, mail("second", user))
    announced = b""
    deadline = time.monotonic() + 5
    while b"EXISTS" not in announced and time.monotonic() < deadline:
        r, _, _ = select.select([c.sock], [], [], 0.2)
        if r or c.sock.pending():
            announced += c.readline()
    c.send(b"DONE\r\n")
    tail = c.readline()
    while tail.startswith(b"*"):
        tail = c.readline()
    check("IDLE announces the appended message", b"* 2 EXISTS" in announced, repr(announced))
    check("IDLE ends on DONE", tail.startswith(tag.encode() + b" OK"), repr(tail))
    c.logout()
    subjects = [m["Subject"] for m in sb.messages(user)]
    check("messages() oldest first", subjects == ["first", "second"], str(subjects))
    sb.append(user, mail("kept", user), mailbox="Sent")
    check("append to another mailbox", [m["Subject"] for m in sb.messages(user, "Sent")] == ["kept"])


def wait_log(sb, since, text, timeout=3):
    """Dovecot's log since the mark once text shows up (or the timeout)."""
    deadline = time.monotonic() + timeout
    while text not in sb.dovecot_log(since) and time.monotonic() < deadline:
        time.sleep(0.05)
    return sb.dovecot_log(since)


def test_logs(sb):
    m = sb.mark()
    check("mark() starts after the readiness probes", "no auth attempts" not in sb.dovecot_log(m))
    socket.create_connection((sb.imap_host, sb.imap_port)).close()
    log = wait_log(sb, m, "no auth attempts")
    check("dovecot log shows a client that never tried to log in", "no auth attempts" in log, log)
    m = sb.mark()
    bad = sb.imap(tls="starttls")
    raises(lambda: bad.login("nosuch@example.org", "wrong"), imaplib.IMAP4.error)
    _logout(bad)
    log = wait_log(sb, m, "auth failed")
    check("dovecot log shows failed logins (auth_verbose)",
          "Password mismatch" in log and "auth failed" in log, log)
    check("... and not as a client without auth attempts", "no auth attempts" not in log, log)
    check("postfix log is written", "status=sent" in sb.postfix_log(), sb.postfix_log()[-500:])


def _logout(c):
    try:
        c.logout()
    except Exception:
        pass


def test_second_sandbox(sb):
    other = Sandbox()
    try:
        other.up()
        check("a second sandbox runs beside the first",
              other.imaps_port != sb.imaps_port and other.smtp_port != sb.smtp_port)
        other.append("young1@example.net", mail("other", "x"))
        check("... with its own mail", [m["Subject"] for m in other.messages("young1@example.net")] == ["other"]
              and len(sb.messages("young1@example.net")) == 1)
    except SandboxError as e:
        check("a second sandbox runs beside the first", False, str(e))
    finally:
        other.down()
    check("... and goes away again", not other.server_pids() and not os.path.exists(other.dir))


def timed(name, fn, *args):
    t0 = time.monotonic()
    fn(*args)
    print("# %s took %.2fs" % (name, time.monotonic() - t0))


def main():
    sb = Sandbox()
    try:
        sb.up()
    except SandboxError as e:
        check("sandbox up", False, str(e))
        sb.down(remove=False)
        done()
    print("# sandbox up took %.2fs in %s" % (sb.up_seconds, sb.dir))
    check("sandbox up", True)
    ok = False
    try:
        again = Sandbox(sb.dir)
        err = raises(again.up, SandboxError)
        check("up refuses a directory already running", err is not None)
        timed("test_tls", test_tls, sb)
        timed("test_smtp", test_smtp, sb)
        timed("test_idle", test_idle, sb)
        timed("test_logs", test_logs, sb)
        timed("test_second_sandbox", test_second_sandbox, sb)
        ok = True
    finally:
        pids = sb.server_pids()
        t0 = time.monotonic()
        sb.down(remove=False)
        print("# sandbox down took %.2fs" % (time.monotonic() - t0))
    check("servers were running before down", len(pids) >= 8, str(pids))
    alive = [p for p in pids if running(p)]
    check("down leaves no process behind", not alive and not sb.server_pids(), str(alive))
    check("down closes the ports", not any(port_open(p) for p in
                                           (sb.imaps_port, sb.imap_port, sb.lmtp_port,
                                            sb.smtp_port, sb.smtp_notls_port)))
    err = raises(lambda: sb.down(remove=False), SandboxError)
    check("down again is harmless", err is None, str(err))
    if ok and _failed_count() == 0:
        sb.down(remove=True)
    else:
        print("# sandbox kept for a post-mortem in %s" % sb.dir)
    done()


def _failed_count():
    import lib
    return lib._failed


if __name__ == "__main__":
    main()
