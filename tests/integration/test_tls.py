"""TLS everywhere, verified: the relay refuses every server whose certificate
is self-signed, expired or for another name, and every server that does not
offer STARTTLS when the configuration says starttls, for IMAP (Dovecot), SMTP
(Postfix) and HTTPS (the SMS gateway double). For each: `relay check` fails
with a line naming the server and the reason; `relay poll` sends and logs in
to nothing, which the servers' own records show (Dovecot and Postfix logs:
no login or AUTH attempt; the gateway: no request at all); and nothing is
lost: the young person's message stays unread on the server, queued mail
stays queued, and all of it goes once the server is the right one.

The bad servers are real: Dovecot picks a certificate by the loopback address
a client connects to, Postfix has a listener per certificate (see
tests/sandbox/sandbox); the certificates are made when the sandbox starts.
The wrong-name certificate over implicit TLS is in test_email.py; here it is
tried over STARTTLS. Security "none" to a non-loopback host is refused by the
configuration.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "doubles"))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402
from sms_gateway import Gateway  # noqa: E402

SELF_SIGNED = r"certificate not trusted \(self-signed\)"
EXPIRED = r"certificate expired \(not valid after 2020-02-01 00:00 UTC\)"
NO_STARTTLS = r"does not offer STARTTLS"


def wrong_name(host):
    return r"certificate does not match host name %s \(certificate is for wrong\.example\.invalid\)" % re.escape(host)


def fail_line(out, what):
    """The FAIL line of `relay check` for what ("imap HOST:PORT", ...), or ''."""
    m = re.search(r"^FAIL\s+" + re.escape(what) + r"\b.*$", out, re.M)
    return m.group(0) if m else ""


def scalar(conf, sql, *args):
    d = rt.db(conf)
    try:
        return d.execute(sql, args).fetchone()[0]
    finally:
        d.close()


def wait_log(read, pattern, count, timeout=5.0):
    """read() until pattern occurs count times (servers log a moment later)."""
    deadline = time.monotonic() + timeout
    while True:
        text = read()
        if len(re.findall(pattern, text, re.M)) >= count or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


# --- IMAP ------------------------------------------------------------------------------

def imap_refused(sb):
    work = os.path.join(sb.dir, "relay-imap")
    sb.append(rt.SERVICE, rt.mail("tls.imap@example.net", rt.SERVICE, "Are you there",
                                  "I need to talk to someone.\n", msgid="tls-imap.1@example.net"))
    cases = [
        ("self-signed, implicit TLS", sb.self_signed_host, "tls", SELF_SIGNED),
        ("self-signed, STARTTLS", sb.self_signed_host, "starttls", SELF_SIGNED),
        ("expired, implicit TLS", sb.expired_host, "tls", EXPIRED),
        ("expired, STARTTLS", sb.expired_host, "starttls", EXPIRED),
        ("wrong name, STARTTLS", sb.wrong_name_host, "starttls", wrong_name(sb.wrong_name_host)),
        ("no STARTTLS offered", sb.no_tls_host, "starttls", "server " + NO_STARTTLS),
    ]
    for name, host, security, reason in cases:
        what = f"imap {name}"
        mark = sb.mark()
        conf = rt.make_config(sb, work, imap_host=host, imap_security=security)
        port = sb.imaps_port if security == "tls" else sb.imap_port
        r = rt.relay(conf, "check")
        line = fail_line(r.stdout, f"imap {host}:{port}")
        check(f"{what}: check exits 1", r.returncode == 1, r.stdout + r.stderr)
        check(f"{what}: check names the server and the reason",
              re.search(reason + r"; not logging in$", line) is not None, r.stdout)
        check(f"{what}: check still reports SMTP OK", re.search(r"^OK\s+smtp ", r.stdout, re.M) is not None,
              r.stdout)
        r = rt.relay(conf, "poll")
        check(f"{what}: poll exits 1", r.returncode == 1, r.stderr[-1500:])
        check(f"{what}: poll logs the reason", re.search(re.escape(host) + r".*" + reason, r.stderr) is not None,
              r.stderr[-1500:])
        # Server side: the relay connected (check and poll), and never tried to log in.
        lip = r"lip=" + re.escape(host) + r"\b"
        log = wait_log(lambda: sb.dovecot_log(mark), lip, 2)
        # Only lines naming the bad server's address count: Dovecot writes its
        # log a moment later, so the harness's own login (sb.append, unseen)
        # to the good server may land after the mark.
        ours = [x for x in log.splitlines() if re.search(lip, x)]
        check(f"{what}: Dovecot saw both connections", len(ours) >= 2, log[-2000:])
        bad = [x for x in ours if "no auth attempts" not in x or "Login:" in x or "auth failed" in x]
        bad += [x for x in log.splitlines() if "Password mismatch" in x]
        check(f"{what}: Dovecot saw no login attempt", not bad, " | ".join(bad))
        check(f"{what}: nothing fetched", scalar(conf, "SELECT count(*) FROM message") == 0)
        check(f"{what}: the message is still unread on the server", sb.unseen(rt.SERVICE) == 1)

    # The right server: the message that waited is taken, nothing was lost.
    conf = rt.make_config(sb, work)
    r = rt.relay(conf, "poll")
    check("imap: the right server afterwards: poll exits 0", r.returncode == 0, r.stderr[-1500:])
    check("imap: the waiting message is taken", scalar(conf, "SELECT count(*) FROM message") == 1)
    check("imap: ... and marked seen", sb.unseen(rt.SERVICE) == 0)
    # Postfix delivers its forward in its own time: the SMTP part counts the
    # advisers' mail from here, so wait until each holds it.
    for a in rt.ADVISERS:
        sb.wait_for(a, 1)


# --- SMTP ------------------------------------------------------------------------------

def smtp_refused(sb):
    work = os.path.join(sb.dir, "relay-smtp")
    young = "tls.smtp@example.net"
    before = {a: len(sb.messages(a)) for a in rt.ADVISERS}
    sb.append(rt.SERVICE, rt.mail(young, rt.SERVICE, "Hello", "Can someone call me back?\n",
                                  msgid="tls-smtp.1@example.net"))
    cases = [
        ("self-signed", sb.smtp_self_signed_port, "self-signed", SELF_SIGNED),
        ("expired", sb.smtp_expired_port, "expired", EXPIRED),
        ("wrong name", sb.smtp_wrong_name_port, "wrong-name", wrong_name("localhost")),
        ("no STARTTLS offered", sb.smtp_notls_port, "notls", NO_STARTTLS),
    ]
    queued = 0
    for name, port, service, reason in cases:
        what = f"smtp {name}"
        mark = sb.mark()
        conf = rt.make_config(sb, work, smtp_port=port)
        r = rt.relay(conf, "check")
        line = fail_line(r.stdout, f"smtp localhost:{port}")
        check(f"{what}: check exits 1", r.returncode == 1, r.stdout + r.stderr)
        check(f"{what}: check names the server and the reason",
              re.search(r"SMTP host localhost port %d:? .*%s" % (port, reason), line) is not None, r.stdout)
        r = rt.relay(conf, "poll")
        check(f"{what}: poll exits 1", r.returncode == 1, r.stderr[-1500:])
        check(f"{what}: poll logs the reason", re.search(reason, r.stderr) is not None, r.stderr[-1500:])
        if not queued:
            queued = scalar(conf, "SELECT count(*) FROM outbox")
            check(f"{what}: the message was fetched and its mail queued", queued >= 2, queued)
        pending = scalar(conf, "SELECT count(*) FROM outbox WHERE state = 'pending'")
        check(f"{what}: every queued message stays queued", pending == queued, (pending, queued))
        # A session that never started is no attempt: the messages stay due.
        attempts = scalar(conf, "SELECT sum(attempts) FROM outbox")
        check(f"{what}: no message counted as attempted", attempts == 0, attempts)
        db = rt.db(conf)
        errors = [e for (e,) in db.execute("SELECT last_error FROM outbox WHERE state = 'pending'")]
        db.close()
        check(f"{what}: each waiting message says why (relay show)",
              errors and all(e and re.search(reason, e) for e in errors), errors)
        # Server side: that listener saw the check and the poll, and no AUTH.
        tag = f"postfix-sandbox/{service}/smtpd"
        log = wait_log(lambda: sb.postfix_log(mark), re.escape(tag) + r"\[\d+\]: disconnect from .*ehlo=", 2)
        ours = [x for x in log.splitlines() if tag + "[" in x]
        disconnects = [x for x in ours if ": disconnect from " in x and "ehlo=" in x]
        check(f"{what}: Postfix saw both sessions", len(disconnects) >= 2, "\n".join(ours[-12:]))
        check(f"{what}: Postfix saw no AUTH and no MAIL",
              not any(re.search(r"\b(auth|mail|rcpt|data|bdat)=", x) for x in disconnects) and
              not any("sasl_" in x or "authentication failed" in x for x in ours), "\n".join(ours[-12:]))
        check(f"{what}: nothing reached the advisers",
              all(len(sb.messages(a)) == before[a] for a in rt.ADVISERS),
              ([len(sb.messages(a)) for a in rt.ADVISERS], before))

    # The right server: everything queued goes, nothing was lost.
    conf = rt.make_config(sb, work)
    r = rt.relay(conf, "poll")
    check("smtp: the right server afterwards: poll exits 0", r.returncode == 0, r.stderr[-1500:])
    sent = scalar(conf, "SELECT count(*) FROM outbox WHERE state = 'sent'")
    check("smtp: every queued message sent", sent == queued, (sent, queued))
    got = sb.wait_for(rt.ADVISERS[0], before[rt.ADVISERS[0]] + 1)
    check("smtp: the forward reached the advisers", "Can someone call me back" in got[-1].as_string())
    check("smtp: the auto-reply reached the young person", len(sb.wait_for(young, 1)) == 1)


# --- HTTPS (the SMS gateway) -------------------------------------------------------------

def https_refused(sb):
    work = os.path.join(sb.dir, "relay-https")
    certs = [
        ("self-signed", "self-signed", SELF_SIGNED),
        ("expired", "expired", EXPIRED),
        ("wrong name", "wrong-name", wrong_name("localhost")),
    ]
    for name, cert, reason in certs:
        what = f"https {name}"
        tls = (os.path.join(sb.cert_dir, cert + ".pem"), os.path.join(sb.cert_dir, cert + ".key"))
        with Gateway("twilio", tls=tls, url_host="localhost") as gw:
            gw.add_inbound("07700 900123", "is anyone there")
            conf = rt.make_config(sb, work, extra=rt.twilio_section(
                gw, work, gw.account, password=gw.password, extra=f"ca_file = {sb.ca_file}\n"))
            r = rt.relay(conf, "check")
            line = fail_line(r.stdout, f"sms twilio {gw.url}")
            check(f"{what}: check exits 1", r.returncode == 1, r.stdout + r.stderr)
            check(f"{what}: check names the server and the reason",
                  re.search(r"localhost:%d: %s; nothing was sent$" % (gw.port, reason), line) is not None,
                  r.stdout)
            r = rt.relay(conf, "poll")
            check(f"{what}: poll exits 1", r.returncode == 1, r.stderr[-1500:])
            check(f"{what}: poll logs the reason", re.search(reason, r.stderr) is not None, r.stderr[-1500:])
            deadline = time.monotonic() + 3
            while gw.tls_refused < 2 and time.monotonic() < deadline:
                time.sleep(0.05)   # the double's thread may still be closing
            check(f"{what}: the relay did connect (TLS refused)", gw.tls_refused >= 2, gw.tls_refused)
            check(f"{what}: no request reached the gateway, so no credentials", gw.requests == [], gw.requests)
            check(f"{what}: no text taken", scalar(conf, "SELECT count(*) FROM message") == 0)

    # The same gateway with the right certificate: verified, and the text is taken.
    tls = (os.path.join(sb.cert_dir, "localhost.pem"), os.path.join(sb.cert_dir, "localhost.key"))
    with Gateway("twilio", tls=tls, url_host="localhost") as gw:
        gw.add_inbound("07700 900123", "is anyone there")
        conf = rt.make_config(sb, work, extra=rt.twilio_section(
            gw, work, gw.account, password=gw.password, extra=f"ca_file = {sb.ca_file}\n"))
        r = rt.relay(conf, "check")
        check("https: the right certificate: check OK",
              re.search(r"^OK\s+sms twilio https://localhost:%d: authenticated$" % gw.port, r.stdout, re.M)
              is not None, r.stdout)
        r = rt.relay(conf, "poll")
        check("https: the right certificate: poll exits 0", r.returncode == 0, r.stderr[-1500:])
        check("https: the text is taken", scalar(conf, "SELECT count(*) FROM message") == 1)
        check("https: every request authenticated", gw.requests and all(q.auth_ok for q in gw.requests),
              gw.requests)
        check("https: no handshake failed", gw.tls_refused == 0, gw.tls_refused)


# --- clear text, by configuration -----------------------------------------------------

def clear_text_refused(sb):
    work = os.path.join(sb.dir, "relay-config")
    far = "192.0.2.10"   # TEST-NET-1: never reached, never needed

    conf = rt.make_config(sb, work, imap_host=far, imap_security="none", imap_port=143)
    r = rt.relay(conf, "check")
    check("config: imap security none to a non-loopback host: check exits 3", r.returncode == 3,
          r.stdout + r.stderr)
    check("config: ... names the key and the host",
          re.search(r"^FAIL\s+configuration: .*relay\.conf:\d+: \[imap\] security: none is refused for "
                    + re.escape(far), r.stdout, re.M) is not None, r.stdout)
    r = rt.relay(conf, "poll")
    check("config: ... and poll refuses to start (exit 3)", r.returncode == 3, r.stderr)

    conf = rt.make_config(sb, work)
    text = open(conf).read()
    smtp = text.index("[smtp]")
    text = text[:smtp] + text[smtp:].replace("host = localhost", f"host = {far}", 1) \
                                    .replace("security = starttls", "security = none", 1)
    with open(conf, "w") as f:
        f.write(text)
    r = rt.relay(conf, "check")
    check("config: smtp security none to a non-loopback host: check exits 3", r.returncode == 3,
          r.stdout + r.stderr)
    check("config: ... names the key and the host",
          re.search(r"^FAIL\s+configuration: .*relay\.conf:\d+: \[smtp\] security: none is refused for "
                    + re.escape(far), r.stdout, re.M) is not None, r.stdout)

    # On loopback "none" is allowed, but never with the SMTP password.
    mark = sb.mark()
    conf = rt.make_config(sb, work, smtp_port=sb.smtp_notls_port)
    text = open(conf).read()
    smtp = text.index("[smtp]")
    with open(conf, "w") as f:
        f.write(text[:smtp] + text[smtp:].replace("security = starttls", "security = none", 1))
    r = rt.relay(conf, "check")
    check("config: smtp credentials with security none, even on loopback: check exits 3", r.returncode == 3,
          r.stdout + r.stderr)
    check("config: ... names file, line and key and says why",
          "[smtp] security: none with a username would send the password in clear" in r.stdout and
          "relay.conf:" in r.stdout, r.stdout)
    time.sleep(0.5)
    log = [x for x in sb.postfix_log(mark).splitlines() if "postfix-sandbox/notls/" in x]
    check("config: ... and never connects", log == [], "\n".join(log))


def main():
    with Sandbox() as sb:
        rt.run_parts(sb, imap_refused, smtp_refused, https_refused, clear_text_refused)
    done()


if __name__ == "__main__":
    main()
