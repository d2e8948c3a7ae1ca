"""Sending through Microsoft Graph ([smtp] transport = graph), end to end.

Mail comes in through the sandbox's Dovecot (password IMAP); everything the
relay sends goes to the Graph double (tests/doubles/graph_server.py, over
HTTPS with the sandbox's certificate) with a token from the token double
(tests/doubles/oauth_server.py). A young person writes; the forward and the
auto-reply go through Graph with our Message-ID and threading headers intact;
an adviser answers (through Postfix, into the relay's inbox) and the reply
reaches the young person through Graph, with receipts. Then each answer
Graph can give: 400 (permanent: the advisers hear at once), 503 and 429 with
Retry-After (temporary, the wait honoured), 401 (the token renewed once),
401 twice and 403 (nothing lost: the rows wait with the instruction), a
timeout (tried again: a duplicate, never a loss). relay check with Graph. No
token or secret in the -v logs.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "doubles"))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402
from graph_server import GraphServer  # noqa: E402
from oauth_server import TokenServer  # noqa: E402

YOUNG = "sam.young@example.net"
KEY = b"graph-test-signing-key-0123456789"
# [oauth] timeout: short, so that the timeout case is quick; TLS under valgrind needs longer.
SLOW = "valgrind" in rt.RELAY
TIMEOUT = 20 if SLOW else 3
LOGS = []


def run(conf, *args, input=None):
    """The relay at -v; its stderr kept for the token check at the end."""
    import subprocess
    p = subprocess.run([rt.RELAY, "-v", "-c", conf, *args], capture_output=True, text=True, timeout=120,
                       input=input)
    LOGS.append(p.stdout + p.stderr)
    return p


def deliver(sb, raw, frm, to=rt.SERVICE, auth=None):
    before = len(sb.messages(rt.SERVICE))
    sb.send(frm, [to], raw, auth_user=auth)
    sb.wait_for(rt.SERVICE, before + 1)


def rows(conf, where="1"):
    return rt.db(conf).execute(f"SELECT id, kind, state, attempts, next_attempt_at, last_error, message_id "
                               f"FROM outbox WHERE {where} ORDER BY id").fetchall()


def text_of(msg):
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def send_reply(conf, ref, text):
    """An operator's reply to the young person (relay send), sent at once."""
    return run(conf, "send", ref, input=text)


def main():
    with Sandbox() as sb, TokenServer(key=KEY, email=rt.SERVICE, tenant="example.org") as ts, \
            GraphServer(key=KEY, mailboxes=[rt.SERVICE], url_host="localhost",
                        tls=(os.path.join(sb.cert_dir, "localhost.pem"),
                             os.path.join(sb.cert_dir, "localhost.key"))) as g:
        work = os.path.join(sb.dir, "relay")
        os.makedirs(work, exist_ok=True)
        rt.write_private(os.path.join(work, "oauth.secret"), ts.client_secret + "\n")
        conf = rt.make_config(sb, work, extra=f"""
[oauth]
provider = microsoft
tenant = example.org
client_id = {ts.client_id}
client_secret_file = oauth.secret
token_url = {ts.token_url}
graph_url = {g.url}
ca_file = {sb.ca_file}
timeout = {TIMEOUT}
""")
        rt.edit_config(conf, "[smtp]\n", "[smtp]\ntransport = graph\n")

        # --- relay check: a token, then a probe Graph refuses as malformed ------
        r = run(conf, "check")
        check("check exits 0 with transport = graph", r.returncode == 0, r.stdout + r.stderr)
        check("check reports Graph OK", re.search(r"^OK\s+smtp graph https://localhost:\d+", r.stdout, re.M)
              is not None, r.stdout)
        check("the token was asked for Graph's scope",
              any(q.get("scope") == "https://graph.microsoft.com/.default" for q in ts.requests),
              [q.get("scope") for q in ts.requests])
        check("check's probe was refused as malformed and nothing was sent",
              [q["status"] for q in g.requests] == [400] and not g.sent, g.requests)

        # --- a young person writes: forward and auto-reply go through Graph -------
        first = rt.mail(f"Sam <{YOUNG}>", rt.SERVICE, "Can I talk to someone",
                        "Hi, something happened at a party and I don't know who to tell.\n",
                        msgid="first.1@example.net")
        deliver(sb, first, YOUNG)
        issued = ts.issued
        r = run(conf, "poll")
        check("poll exits 0", r.returncode == 0, r.stderr[-2000:])
        fwds = g.delivered_to(rt.ADVISERS[0])
        check("the forward went through Graph to both advisers", len(fwds) == 1 and
              len(g.delivered_to(rt.ADVISERS[1])) == 1, [s["recipients"] for s in g.sent])
        check("nothing went through Postfix", len(sb.messages(rt.ADVISERS[0])) == 0)
        autos = g.delivered_to(YOUNG)
        check("the auto-reply went through Graph", len(autos) == 1, len(autos))
        check("every request: POST sendMail for the service's mailbox, text/plain, a bearer token",
              all(q["path"] == f"/v1.0/users/{rt.SERVICE.replace('@', '%40')}/sendMail"
                  and q["content_type"] == "text/plain" and q["auth"].startswith("Bearer ")
                  for q in g.requests[1:]), g.requests)
        check("one token for every message of the poll (tokens live in the process's memory only)",
              ts.issued == issued + 1 and len(g.requests) == 3, (ts.issued, issued))
        ids = {m for (_, _, _, _, _, _, m) in rows(conf)}
        if fwds and autos:
            fwd, auto = fwds[0], autos[0]
            check("our Message-ID survives (forward)", fwd["Message-ID"].strip("<>") in ids, (fwd["Message-ID"], ids))
            check("our Message-ID survives (auto-reply)", auto["Message-ID"].strip("<>") in ids, auto["Message-ID"])
            check("In-Reply-To survives", auto["In-Reply-To"] == "<first.1@example.net>", auto["In-Reply-To"])
            check("the reply tag survives in Reply-To", re.search(r"rusafe\+RUS-", str(fwd["Reply-To"])) is not None,
                  fwd["Reply-To"])
            check("Auto-Submitted survives", fwd["Auto-Submitted"] == "auto-generated", fwd["Auto-Submitted"])
            check("Return-Path is the mailbox (no envelope sender through Graph)",
                  fwd["Return-Path"] == f"<{rt.SERVICE}>", fwd["Return-Path"])
            check("no Bcc was needed: the To header names every envelope recipient",
                  all(not s["bcc"] for s in g.sent), [s["bcc"] for s in g.sent])
            check("the young person's address is not in the forward", YOUNG.encode() not in
                  fwd.as_bytes().lower())
            ref = re.search(r"\[(RUS-[0-9A-Z]{5})\]", str(fwd["Subject"])).group(1)

            # --- an adviser replies through Postfix; the reply goes through Graph ----
            rt.adviser_replies(sb, rt.ADVISERS[0], fwd, "Hi Sam, thank you for telling us. You did the right "
                                                        "thing.\n")
            r = run(conf, "poll")
            got = g.delivered_to(YOUNG)
            check("the adviser's reply reached the young person through Graph", len(got) == 2 and
                  "You did the right thing" in text_of(got[-1]), [text_of(x)[:60] for x in got])
            if len(got) == 2:
                check("the reply threads on the young person's email",
                      got[-1]["In-Reply-To"] == "<first.1@example.net>" and
                      "first.1@example.net" in str(got[-1]["References"]), got[-1]["References"])
                check("the reply comes from the service", rt.SERVICE in str(got[-1]["From"]), got[-1]["From"])
            receipts = [m for m in g.delivered_to(rt.ADVISERS[0]) if "replied to" in text_of(m)]
            check("the advisers got a receipt through Graph, threaded on the forward", len(receipts) == 1 and
                  receipts[0]["In-Reply-To"] == fwd["Message-ID"], [m["Subject"] for m in receipts])
            check("every outbox row is sent", all(s == "sent" for (_, _, s, _, _, _, _) in rows(conf)), rows(conf))
        else:
            ref = None

        if ref:
            errors(sb, conf, ts, g, ref)
            daemon(sb, conf, g)

        logs = "\n".join(LOGS)
        check("the -v logs name Graph's answers", "Graph: HTTP" in logs, logs[-1500:])
        check("no sanitizer or valgrind report in any run", re.search(r"^==\d+== |AddressSanitizer|LeakSanitizer|"
                                                                     r"runtime error:", logs, re.M) is None,
              "\n".join(l for l in logs.splitlines() if l.startswith("==") or "Sanitizer" in l)[:2000])
        check("no access token in the -v logs", "eyJ" not in logs and "Bearer" not in logs)
        check("no client secret in the -v logs", ts.client_secret not in logs)
        check("no recipient address from Graph's error text in the logs", "x@example.invalid" not in logs)
    done()


def last_row(conf):
    return rows(conf, "kind = 'reply'")[-1]


def errors(sb, conf, ts, g, ref):
    young_before = len(g.delivered_to(YOUNG))

    # --- 400: permanent; the advisers hear at once --------------------------------
    g.fault("400")
    notices_before = len([m for m in g.delivered_to(rt.ADVISERS[0]) if "could NOT be delivered" in text_of(m)])
    send_reply(conf, ref, "Reply that Graph refuses.\n")
    row = last_row(conf)
    check("400: the reply is failed", row[2] == "failed" and "ErrorInvalidRecipients" in (row[5] or ""), row)
    check("400: Graph's text is kept without the address", "<address>" in (row[5] or "") and
          "x@example.invalid" not in (row[5] or ""), row[5])
    run(conf, "poll")
    notices = [m for m in g.delivered_to(rt.ADVISERS[0]) if "could NOT be delivered" in text_of(m)]
    check("400: the advisers got the undeliverable notice", len(notices) == notices_before + 1,
          [text_of(m)[:80] for m in g.delivered_to(rt.ADVISERS[0])])

    # --- 503 without Retry-After: temporary, the outbox's backoff --------------------
    g.fault("503")
    send_reply(conf, ref, "Reply after a 503.\n")
    row = last_row(conf)
    check("503: the reply waits (pending, one attempt)", row[2] == "pending" and row[3] == 1 and
          "HTTP 503" in (row[5] or ""), row)
    time.sleep(1.6)
    run(conf, "poll")
    row = last_row(conf)
    check("503: sent on the next attempt", row[2] == "sent", row)

    # --- 429 with Retry-After: the wait is honoured ------------------------------------
    # Long enough that the poll below starts before it runs out, under valgrind too.
    wait = 20 if SLOW else 4
    g.fault("429", retry_after=wait)
    t0 = int(time.time())
    send_reply(conf, ref, "Reply after a 429.\n")
    row = last_row(conf)
    check(f"429: the reply waits at least Retry-After ({wait} s; the backoff alone is ~1 s)",
          row[2] == "pending" and row[4] >= t0 + wait and f"asked to wait {wait} s" in (row[5] or ""), (row, t0))
    n = len(g.requests)
    time.sleep(1.6)
    run(conf, "poll")
    check("429: not tried again before Retry-After", len(g.requests) == n and last_row(conf)[2] == "pending",
          [q["status"] for q in g.requests[n:]])
    # Until the time the relay wrote down: under valgrind the send itself can
    # start seconds after t0, and its wait counts from then.
    time.sleep(max(0, max(t0 + wait, last_row(conf)[4]) + 1 - time.time()))
    run(conf, "poll")
    check("429: sent once Retry-After has passed", last_row(conf)[2] == "sent", last_row(conf))

    # --- 401 once: the token is forgotten and renewed once ---------------------------
    issued, n = ts.issued, len(g.requests)
    g.fault("401")
    send_reply(conf, ref, "Reply after a 401.\n")
    check("401: sent with a renewed token (the process's first, then one more)",
          last_row(conf)[2] == "sent" and ts.issued == issued + 2,
          (last_row(conf), ts.issued, issued))
    check("401: asked again once", [q["status"] for q in g.requests[n:n + 2]] == [401, 202],
          [q["status"] for q in g.requests[n:]])

    # --- 401 twice: no session; nothing lost, the row waits with the instruction -----
    g.fault("401", count=2)
    r = send_reply(conf, ref, "Reply after two 401s.\n")
    row = last_row(conf)
    check("401 twice: the reply waits, no attempt counted", row[2] == "pending" and row[3] == 0 and
          "token just issued" in (row[5] or ""), row)
    run(conf, "poll")
    check("401 twice: sent by the next poll", last_row(conf)[2] == "sent", last_row(conf))

    # --- 403: the access policy leaves the mailbox out --------------------------------
    g.policy = set()
    r = send_reply(conf, ref, "Reply while the access policy excludes the mailbox.\n")
    row = last_row(conf)
    check("403: the reply waits with the instruction naming New-ApplicationAccessPolicy",
          row[2] == "pending" and row[3] == 0 and "New-ApplicationAccessPolicy" in (row[5] or "") and
          "ErrorAccessDenied" in (row[5] or ""), row)
    r = run(conf, "check")
    check("403: relay check fails with the instruction", r.returncode != 0 and
          re.search(r"^FAIL\s+smtp graph .*New-ApplicationAccessPolicy", r.stdout, re.M) is not None, r.stdout)
    g.policy = {rt.SERVICE}
    run(conf, "poll")
    check("403: sent once the policy includes the mailbox", last_row(conf)[2] == "sent", last_row(conf))

    # --- a timeout after Graph took it: tried again (a duplicate, never a loss) -------
    g.fault("hang", delay=TIMEOUT + 2)
    send_reply(conf, ref, "Reply whose answer never comes.\n")
    row = last_row(conf)
    check("timeout: the reply waits (temporary, one attempt)", row[2] == "pending" and row[3] == 1 and
          "timed out" in (row[5] or ""), row)
    time.sleep(2.0)
    run(conf, "poll")
    row = last_row(conf)
    dup = [m for m in g.delivered_to(YOUNG) if "answer never comes" in text_of(m)]
    check("timeout: sent on the next attempt; Graph has it twice (same Message-ID)", row[2] == "sent" and
          len(dup) == 2 and dup[0]["Message-ID"] == dup[1]["Message-ID"], (row, len(dup)))
    check("the young person got every reply that was sent", len(g.delivered_to(YOUNG)) >= young_before + 5)


def daemon(sb, conf, g):
    """The running relay sends through Graph beside its intake (outbox_pump)."""
    import subprocess
    log = os.path.join(os.path.dirname(conf), "run.log")
    before = len(g.delivered_to(rt.ADVISERS[0]))
    with open(log, "w") as out:
        proc = subprocess.Popen([rt.RELAY, "-v", "-c", conf, "run"], stdout=out, stderr=subprocess.STDOUT)
        try:
            time.sleep(8.0 if SLOW else 2.0)
            deliver(sb, rt.mail(YOUNG, rt.SERVICE, "Re: Can I talk to someone", "I'm at home now.\n",
                                msgid="follow.1@example.net", in_reply_to="first.1@example.net"), YOUNG)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(g.delivered_to(rt.ADVISERS[0])) == before:
                time.sleep(0.2)
        finally:
            rt.stop(proc)
    got = g.delivered_to(rt.ADVISERS[0])[before:]
    check("daemon: the follow-up was forwarded through Graph", any("at home now" in text_of(m) for m in got),
          [text_of(m)[:60] for m in got])
    check("daemon: it threads on the first forward", any(m["In-Reply-To"] and "forward" in m["In-Reply-To"]
                                                        for m in got), [m["In-Reply-To"] for m in got])
    with open(log) as f:
        LOGS.append(f.read())


if __name__ == "__main__":
    main()
