"""OAuth2 logins on real servers (Microsoft 365 and Google Workspace's way):
Dovecot's oauth2 passdb checks the signed tokens for IMAP and, through
Dovecot SASL, for Postfix's SMTP AUTH (Sandbox(oauth2=True)); the tokens come
from the token endpoint double. An email in, forwarded and answered on
OAuth2 alone; 4,096-byte tokens; sessions made again before their tokens run
out (IDLE included) and "* BYE Session invalidated - AccessTokenExpired" a
reconnect, not a failure; a refused token names what to do; no token in a
log, the process's command line or environment, or the database."""
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "doubles"))
from lib import LoopbackProxy, Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402
from oauth_server import TokenServer  # noqa: E402

YOUNG = "sam@example.net"
SLOW = 5 if "valgrind" in os.path.basename(rt.RELAY) else 1
QUICK = bool(os.environ.get("RELAY_TEST_QUICK"))
# Short tokens, so that a short run sees several renewals: each login is
# made again a fifth of the lifetime before the token runs out (login.h).
LIFETIME = 20 if QUICK or SLOW > 1 else 10
RUN_SECONDS = 45 if QUICK or SLOW > 1 else 24
# A longer run by hand, as real tokens live: OAUTH_TOKEN_SECONDS=60
# OAUTH_RUN_SECONDS=300 python3 tests/integration/test_oauth.py
LIFETIME = int(os.environ.get("OAUTH_TOKEN_SECONDS", LIFETIME))
RUN_SECONDS = int(os.environ.get("OAUTH_RUN_SECONDS", RUN_SECONDS))

ISSUED = []       # every token any double issued: none may show anywhere
OUTPUT = []       # everything the relay printed


class Tokens(TokenServer):
    """The token endpoint double, remembering what it issued."""

    def token(self, lifetime=None):
        tok = super().token(lifetime)
        ISSUED.append(tok)
        return tok


def oauth_config(sb, ts, work, **kw):
    """relay.conf with [imap] and [smtp] auth = oauth2 against ts."""
    conf = rt.make_config(sb, work, **kw)
    rt.write_private(os.path.join(work, "oauth.secret"), ts.client_secret + "\n")
    rt.edit_config(conf, "password_file = imap.password\n", "auth = oauth2\n")
    rt.edit_config(conf, "password_file = smtp.password\n", "auth = oauth2\n")
    with open(conf, "a") as f:
        f.write(f"\n[oauth]\nprovider = microsoft\ntenant = {ts.tenant}\nclient_id = {ts.client_id}\n"
                f"client_secret_file = oauth.secret\ntoken_url = {ts.token_url}\n")
    return conf


def relay(conf, *args):
    r = rt.relay(conf, "-v", *args, timeout=120 * SLOW)
    OUTPUT.append(r.stdout + r.stderr)
    return r


def start(conf, work, name):
    log = os.path.join(work, name)
    out = open(log, "w")
    proc = subprocess.Popen([rt.RELAY, "-c", conf, "-v", "run"], stdout=out, stderr=subprocess.STDOUT)
    out.close()
    return proc, log


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def wait_until(cond, timeout):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    return cond()


def trouble(log):
    """The log's warnings and errors, but for running as root (the tests do)."""
    return [l for l in log.splitlines() if re.search(r" relay (warning|error): ", l) and "as root" not in l]


def status(conf):
    r = rt.relay(conf, "status", "--json")
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"error": r.stdout + r.stderr}


def part_state(js, name):
    for p in js.get("parts", []):
        if p["part"] == name:
            return p
    return {}


def relay_logins(sb, since):
    """The relay's own IMAP logins in the Dovecot log since the mark."""
    return re.findall(r"imap-login: Info: Login: user=<%s>, method=(\S+)," % re.escape(rt.SERVICE),
                      sb.dovecot_log(since))


def send_young(sb, subject, text, msgid=None):
    sb.send(YOUNG, [rt.SERVICE], rt.mail(YOUNG, rt.SERVICE, subject, text, msgid=msgid))


# ---- the parts -----------------------------------------------------------------------

def story(sb):
    """An email in, forwarded, answered and the answer sent: OAuth2 only."""
    with Tokens(key=sb.oauth_key, email=rt.SERVICE, issuer=sb.oauth_issuer) as ts:
        work = os.path.join(sb.dir, "story")
        conf = oauth_config(sb, ts, work)
        mark = sb.mark()
        r = relay(conf, "check")
        check("check: the IMAP login is made with a token",
              re.search(r"^OK\s+imap .*logged in with an OAuth2 token", r.stdout, re.M), r.stdout[-1500:])
        check("check: the SMTP login is made with a token",
              re.search(r"^OK\s+smtp .*logged in with an OAuth2 token", r.stdout, re.M), r.stdout[-1500:])
        check("check passes", r.returncode == 0, r.stdout[-1500:])
        form = ts.requests[-1] if ts.requests else {}
        check("the token was asked for with the client credentials grant",
              form.get("grant_type") == "client_credentials" and form.get("client_id") == ts.client_id, form)

        send_young(sb, "can I talk to someone", "Things are hard at home.\n", msgid="story.1@example.net")
        sb.wait_for(rt.SERVICE, 1)
        r = relay(conf, "poll")
        check("poll on OAuth2 succeeds", r.returncode == 0, r.stderr[-1500:])
        fwd = sb.wait_for(rt.ADVISERS[0], 1)[-1]
        check("the young person's email is forwarded", "Things are hard at home" in rt.body(fwd), rt.body(fwd)[:300])
        auto = sb.wait_for(YOUNG, 1)
        check("the young person gets the auto-reply", len(auto) == 1)
        rt.adviser_replies(sb, rt.ADVISERS[0], fwd, "We are here for you. Can you tell us more?\n")
        r = relay(conf, "poll")
        check("the second poll succeeds", r.returncode == 0, r.stderr[-1500:])
        got = sb.wait_for(YOUNG, 2)
        check("the adviser's answer reaches the young person",
              any("We are here for you" in rt.body(m) for m in got), [rt.body(m)[:200] for m in got])
        # (The relay has no password here; the PLAIN logins are this test's own.)
        logins = relay_logins(sb, mark)
        check("the relay's IMAP logins (check, two polls) were XOAUTH2", logins.count("XOAUTH2") >= 3, logins)
        pf = sb.postfix_log(mark)
        check("Postfix took the relay's SMTP login as XOAUTH2 (Dovecot SASL)",
              re.search(r"sasl_method=XOAUTH2, sasl_username=%s" % re.escape(rt.SERVICE), pf), pf[-1500:])
        check("no password login by the relay", not re.search(
            r"sasl_method=(PLAIN|LOGIN), sasl_username=%s" % re.escape(rt.SERVICE), pf), pf[-1500:])

        # Dovecot refuses a token past its expiry: what renewal is for.
        expired = ts.token(lifetime=-30)
        conn = sb.imap()
        try:
            conn.authenticate("XOAUTH2", lambda _: ("user=%s\x01auth=Bearer %s\x01\x01" % (rt.SERVICE, expired)).encode())
            refused = False
        except Exception:
            refused = True
        finally:
            try:
                conn.logout()
            except Exception:
                pass
        check("Dovecot refuses an expired token", refused and "Token has expired" in sb.dovecot_log(mark))


def long_tokens(sb):
    """Tokens of 4,096 bytes log in to Dovecot and to Postfix (two-step AUTH)."""
    with Tokens(key=sb.oauth_key, email=rt.SERVICE, issuer=sb.oauth_issuer, token_len=4096) as ts:
        work = os.path.join(sb.dir, "long")
        conf = oauth_config(sb, ts, work)
        mark = sb.mark()
        r = relay(conf, "check")
        check("a 4,096-byte token was issued", ISSUED and len(ISSUED[-1]) == 4096, len(ISSUED[-1]) if ISSUED else 0)
        check("check logs in to both with a 4,096-byte token", r.returncode == 0 and
              len(re.findall(r"logged in with an OAuth2 token", r.stdout)) == 2, r.stdout[-1500:])
        send_young(sb, "long", "A message sent on a long token.\n", msgid="long.1@example.net")
        sb.wait_for(rt.SERVICE, 1)
        before = len(sb.messages(rt.ADVISERS[1]))
        r = relay(conf, "poll")
        check("poll with 4,096-byte tokens succeeds", r.returncode == 0, r.stderr[-1500:])
        got = sb.wait_for(rt.ADVISERS[1], before + 1)
        check("the forward went out on a 4,096-byte token",
              any("long token" in rt.body(m) for m in got))
        check("Postfix took the long token", "sasl_method=XOAUTH2" in sb.postfix_log(mark))


def renewal(sb):
    """A daemon on short tokens keeps taking mail and sending, each session
    made again before its token runs out, without a failed cycle."""
    with Tokens(key=sb.oauth_key, email=rt.SERVICE, issuer=sb.oauth_issuer, lifetime=LIFETIME) as ts:
        work = os.path.join(sb.dir, "renewal")
        conf = oauth_config(sb, ts, work, poll_interval=600)   # only IDLE brings mail in
        mark = sb.mark()
        proc, log = start(conf, work, "run.log")
        try:
            check("the daemon logs in", wait_until(lambda: "mailbox open" in read(log), 20), read(log)[-1500:])
            try:
                with open("/proc/%d/cmdline" % proc.pid, "rb") as f:
                    cmdline = f.read()
                with open("/proc/%d/environ" % proc.pid, "rb") as f:
                    environ = f.read()
            except OSError:
                cmdline = environ = b""
            started = time.monotonic()
            sent = 0
            while time.monotonic() - started < RUN_SECONDS:
                sent += 1
                send_young(sb, "renewal %d" % sent, "Message %d while tokens come and go.\n" % sent,
                           msgid="renewal.%d@example.net" % sent)
                time.sleep(LIFETIME * 0.6)
            forwards = wait_until(lambda: len([m for m in sb.messages(rt.ADVISERS[0])
                                               if "while tokens come and go" in rt.body(m)]) >= sent, 20)
            check("every message of the run was forwarded (%d)" % sent, forwards, read(log)[-2000:])
        finally:
            rt.stop(proc)
        text = read(log)
        OUTPUT.append(text)
        logins = relay_logins(sb, mark)
        need = int(RUN_SECONDS / LIFETIME) + 1
        check("IMAP sessions were made again on new tokens (%d logins, at least %d)" % (len(logins), need),
              len(logins) >= need and set(logins) == {"XOAUTH2"}, logins)
        check("the relay said why it logged in again", text.count("logging in again with a new access token") >= need - 1,
              text[-2000:])
        check("new tokens were asked for as the old ones ran out (%d issued)" % ts.issued, ts.issued >= need, ts.issued)
        check("no token was offered after it expired", "Token has expired" not in sb.dovecot_log(mark),
              sb.dovecot_log(mark)[-1500:])
        check("no failed cycle, no warning", not trouble(text), trouble(text))
        js = status(conf)
        check("health: the inbox and SMTP never failed", part_state(js, "inbox").get("state") == "ok" and
              part_state(js, "smtp").get("state") == "ok", js)
        leaked = [t for t in ISSUED if t.encode() in cmdline or t.encode() in environ or
                  t.rsplit(".", 1)[1].encode() in cmdline + environ]
        check("no token in the daemon's command line or environment", cmdline and not leaked and
              ts.client_secret.encode() not in cmdline + environ, len(leaked))


class ByeProxy(LoopbackProxy):
    """Plain IMAP to Dovecot, which says what Exchange Online says when a
    session's token has run out, when armed: in IDLE ("idle") or as the answer
    to the next UID SEARCH ("search")."""

    BYE = b"* BYE Session invalidated - AccessTokenExpired\r\n"

    def __init__(self, target):
        self.lock = threading.Lock()
        self.armed = None
        self.said = 0
        self.connections = 0
        self.idling = []
        super().__init__(target)

    def arm(self, where):
        with self.lock:
            self.armed = where
            if where == "idle":
                for c in list(self.idling):
                    self._bye(c)

    def _bye(self, conn):
        client, server = conn
        self.armed = None
        self.said += 1
        try:
            client.sendall(self.BYE)
        except OSError:
            pass
        for s in (client, server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if conn in self.idling:
            self.idling.remove(conn)

    def serve(self, client, server):
        conn = (client, server)
        with self.lock:
            self.connections += 1
        state = {"idle_sent": False}

        def up():
            buf = b""
            while True:
                try:
                    data = client.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    break
                buf += data
                lines, buf = buf.split(b"\r\n"), b""
                buf = lines.pop()[-200:]   # the line not yet complete
                with self.lock:
                    if self.armed == "search" and any(b" UID SEARCH " in l for l in lines):
                        self._bye(conn)
                        break
                    for line in lines:
                        if re.fullmatch(rb"\S+ IDLE", line):
                            state["idle_sent"] = True
                        elif line == b"DONE":
                            state["idle_sent"] = False
                            if conn in self.idling:
                                self.idling.remove(conn)
                try:
                    server.sendall(data)
                except OSError:
                    break
            for s in (client, server):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        def down():
            while True:
                try:
                    data = server.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    break
                try:
                    client.sendall(data)
                except OSError:
                    break
                with self.lock:
                    if state["idle_sent"] and data.startswith(b"+ "):
                        if self.armed == "idle":
                            self._bye(conn)
                            break
                        self.idling.append(conn)
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        threading.Thread(target=up, daemon=True).start()
        threading.Thread(target=down, daemon=True).start()


def bye(sb):
    """Exchange's "* BYE Session invalidated - AccessTokenExpired", in IDLE
    and as the answer to a command: the relay logs in again and goes on."""
    proxy = ByeProxy(sb.imap_port)
    with Tokens(key=sb.oauth_key, email=rt.SERVICE, issuer=sb.oauth_issuer) as ts:
        work = os.path.join(sb.dir, "bye")
        conf = oauth_config(sb, ts, work, imap_host="127.0.0.1", imap_port=proxy.port, imap_security="none",
                            poll_interval=600)
        proc, log = start(conf, work, "run.log")
        try:
            check("the daemon idles through the proxy",
                  wait_until(lambda: proxy.idling, 20), read(log)[-1500:])
            proxy.arm("idle")
            check("the proxy said BYE in IDLE", wait_until(lambda: proxy.said == 1, 10))
            check("the relay logged in again after the BYE in IDLE",
                  wait_until(lambda: proxy.connections >= 2 and proxy.idling, 20), read(log)[-1500:])
            send_young(sb, "after the bye", "Still there after a BYE?\n", msgid="bye.1@example.net")
            fwd = wait_until(lambda: [m for m in sb.messages(rt.ADVISERS[0]) if "after a BYE" in rt.body(m)], 20)
            check("mail still comes in after a BYE in IDLE", fwd, read(log)[-1500:])

            proxy.arm("search")
            send_young(sb, "bye in search", "And a BYE to the search?\n", msgid="bye.2@example.net")
            check("the proxy said BYE to the search", wait_until(lambda: proxy.said == 2, 20), read(log)[-1500:])
            fwd = wait_until(lambda: [m for m in sb.messages(rt.ADVISERS[0]) if "BYE to the search" in rt.body(m)], 20)
            check("the message is taken in on the new session at once", fwd, read(log)[-1500:])
        finally:
            rt.stop(proc)
            proxy.close()
        text = read(log)
        OUTPUT.append(text)
        check("the relay said the token had expired, twice",
              text.count("because its access token expired; logging in again") >= 2, text[-2000:])
        check("a new token was asked for each time", ts.issued >= 3, ts.issued)
        check("a BYE for an expired token is no failed cycle and no warning", not trouble(text), trouble(text))
        js = status(conf)
        check("health: the inbox never failed", part_state(js, "inbox").get("state") == "ok", js)


def refused(sb):
    """A token the provider issued but the server refuses: relay check and
    the log say what to do on Exchange Online."""
    with Tokens(key=b"not the key the servers know", email=rt.SERVICE, issuer=sb.oauth_issuer) as ts:
        work = os.path.join(sb.dir, "refused")
        conf = oauth_config(sb, ts, work)
        r = relay(conf, "check")
        imap_line = next((l for l in r.stdout.splitlines() if re.match(r"FAIL\s+imap ", l)), "")
        check("check fails on the refused token", r.returncode == 1, r.stdout[-1500:])
        check("check: IMAP says AUTHENTICATE failed after a good token",
              "refused the OAuth2 token" in imap_line and "AUTHENTICATE" in imap_line, imap_line)
        check("check names New-ServicePrincipal and Add-MailboxPermission",
              "New-ServicePrincipal" in imap_line and "Add-MailboxPermission" in imap_line, imap_line)
        smtp_line = next((l for l in r.stdout.splitlines() if re.match(r"FAIL\s+smtp ", l)), "")
        check("check: SMTP says the token was refused, and what to do",
              "refused the OAuth2 token" in smtp_line and "SmtpClientAuthenticationDisabled" in smtp_line, smtp_line)
        check("a refused token is not offered again: SMTP asked for a new one", ts.issued == 2, ts.issued)
        r = relay(conf, "poll")
        check("poll fails, and its log names what to do", r.returncode == 1 and
              "New-ServicePrincipal" in r.stderr and "Add-MailboxPermission" in r.stderr, r.stderr[-1500:])
        proc, log = start(conf, work, "run.log")
        try:
            wait_until(lambda: "New-ServicePrincipal" in read(log), 20)
        finally:
            rt.stop(proc)
        OUTPUT.append(read(log))
        js = status(conf)
        reason = part_state(js, "inbox").get("reason") or ""
        check("the inbox's health reason (the alert's) names the PowerShell commands",
              "New-ServicePrincipal" in reason and "Add-MailboxPermission" in reason, js)


def no_token_nothing_lost(sb):
    """IMAP on a password, SMTP on a token: while no token can be had the
    forward waits in the outbox, saying why; it goes once one can."""
    with Tokens(key=sb.oauth_key, email=rt.SERVICE, issuer=sb.oauth_issuer) as ts:
        work = os.path.join(sb.dir, "mixed")
        conf = oauth_config(sb, ts, work)
        rt.edit_config(conf, "username = %s\nauth = oauth2\n" % rt.SERVICE,
                       "username = %s\nauth = password\npassword_file = imap.password\n" % rt.SERVICE)
        ts.error("AADSTS7000215", count=50)   # every request of the first poll
        send_young(sb, "no token", "Sent while no token can be had.\n", msgid="notoken.1@example.net")
        sb.wait_for(rt.SERVICE, 1)
        r = relay(conf, "poll")
        check("poll fails while the token endpoint refuses", r.returncode == 1, r.stderr[-1500:])
        check("the log says why: the provider's code", "AADSTS7000215" in r.stderr, r.stderr[-1500:])
        db = rt.db(conf)
        pending = db.execute("SELECT count(*) FROM outbox WHERE state='pending'").fetchone()[0]
        why = db.execute("SELECT last_error FROM outbox WHERE state='pending'").fetchone()
        check("the forward and auto-reply wait in the outbox", pending == 2, pending)
        check("and say why (relay show)", why and "no access token" in (why[0] or ""), why)
        with ts._lock:
            ts._errors.clear()   # the endpoint is well again
        time.sleep(1.2)   # past retry_min
        r = relay(conf, "poll")
        check("the next poll, with a token, sends them", r.returncode == 0, r.stderr[-1500:])
        sent = wait_until(lambda: [m for m in sb.messages(rt.ADVISERS[0]) if "no token can be had" in rt.body(m)], 10)
        check("the forward reached the advisers", sent)
        check("the outbox is empty", db.execute("SELECT count(*) FROM outbox WHERE state='pending'").fetchone()[0] == 0)


def no_tokens_anywhere(sb):
    """No token or secret in what the relay printed at -v, nor in any database."""
    check("tokens were issued to look for", len(ISSUED) > 3, len(ISSUED))
    text = "\n".join(OUTPUT)
    shown = [t for t in ISSUED if t in text or t.rsplit(".", 1)[1] in text]
    check("no token in the relay's output at -v (%d runs)" % len(OUTPUT), not shown and "Bearer" not in text,
          len(shown))
    check("no client secret in the output", "s3cret-value" not in text)
    stored = b""
    for d in os.listdir(sb.dir):
        for name in ("relay.db", "relay.db-wal", "relay.db-journal"):
            p = os.path.join(sb.dir, d, name)
            if os.path.exists(p):
                with open(p, "rb") as f:
                    stored += f.read()
    found = [t for t in ISSUED if t.rsplit(".", 1)[1].encode() in stored]
    check("no token in any database", stored and not found and b"s3cret-value" not in stored, len(found))


def main():
    with Sandbox(oauth2=True) as sb:
        rt.run_parts(sb, story, long_tokens, renewal, bye, refused, no_token_nothing_lost, no_tokens_anywhere)
    done()


if __name__ == "__main__":
    main()
