"""Backscatter: spam with forged senders must not make the service mail
strangers. Past the overall auto-reply budget ([policy] autoreply_budget,
200 an hour by default) every message is still forwarded, but only an
urgent one is answered, and the advisers are told once. A bounce from an
ordinary address without multipart/report is known by its subject: it is
forwarded, never answered. Auto-replies are counted where they land: in
Postfix's log."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402

BUDGET = 200          # the default: no [policy] autoreply_budget in the configuration
SPOOFED = BUDGET + 10


def count(conf, sql, *args):
    db = rt.db(conf)
    try:
        return db.execute(sql, args).fetchone()[0]
    finally:
        db.close()


def delivered_to(log, pattern):
    """Envelope recipients matching pattern that Postfix logged an outcome for."""
    return {m.group(1) for m in re.finditer(r"to=<(" + pattern + r")>.*status=", log)}


def wait_postfix(sb, mark, pattern, want, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        got = delivered_to(sb.postfix_log(mark), pattern)
        if len(got) >= want or time.monotonic() > deadline:
            return got
        time.sleep(0.3)


def texts(msg):
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def flood(sb):
    work = os.path.join(sb.dir, "flood")
    conf = rt.make_config(sb, work)
    mark = sb.mark()
    adviser = rt.ADVISERS[0]
    conn = sb.imap(rt.SERVICE)   # one session for the whole flood
    try:
        for i in range(SPOOFED):
            typ, _ = conn.append("INBOX", None, None,
                                 rt.mail("spoof%03d@example.com" % i, rt.SERVICE, "Great offer %d" % i,
                                         "Buy now, limited time.\n", msgid="spoof.%d@example.com" % i))
            assert typ == "OK"
    finally:
        conn.logout()
    r = rt.relay(conf, "poll", timeout=600)
    check("flood: poll exits 0", r.returncode == 0, r.stderr[-1500:])
    check("flood: every message taken in",
          count(conf, "SELECT count(*) FROM message WHERE kind='inbound'") == SPOOFED)
    check("flood: every message forwarded to the advisers",
          count(conf, "SELECT count(*) FROM outbox WHERE kind='forward' AND state='sent'") == SPOOFED,
          count(conf, "SELECT count(*) FROM outbox WHERE kind='forward' AND state='sent'"))
    got = wait_postfix(sb, mark, r"spoof\d+@example\.com", BUDGET)
    time.sleep(1)
    got = delivered_to(sb.postfix_log(mark), r"spoof\d+@example\.com")
    check(f"flood: exactly {BUDGET} auto-replies left through Postfix, not {SPOOFED}", len(got) == BUDGET, len(got))

    # --- urgent beyond the budget: still answered -----------------------------------------
    mark = sb.mark()
    sb.append(rt.SERVICE, rt.mail("kid@example.net", rt.SERVICE, "please", "I want to kill myself tonight\n",
                                  msgid="urgent.1@example.net"))
    rt.relay(conf, "poll")
    got = wait_postfix(sb, mark, r"kid@example\.net", 1)
    check("flood: an urgent message beyond the budget is still answered", got == {"kid@example.net"}, got)
    msgs = sb.wait_for("kid@example.net", 1)
    check("flood: the answer is the urgent signposting", "999" in texts(msgs[-1]), texts(msgs[-1])[:300])

    # --- one more ordinary message: forwarded, not answered, advisers not told again -------
    mark = sb.mark()
    sb.append(rt.SERVICE, rt.mail("late@example.com", rt.SERVICE, "hello", "Anyone?\n", msgid="late.1@example.com"))
    rt.relay(conf, "poll")
    time.sleep(1)
    check("flood: past the budget an ordinary message gets no auto-reply",
          not delivered_to(sb.postfix_log(mark), r"late@example\.com"))
    check("flood: the message past the budget was forwarded",
          count(conf, "SELECT count(*) FROM outbox o JOIN message m ON m.id = o.message "
                      "WHERE o.kind='forward' AND o.state='sent' AND m.body LIKE 'Anyone?%'") == 1)
    # The notice, found where the advisers read it.
    deadline = time.monotonic() + 30
    while True:
        found = search(sb, adviser, "Automatic replies paused")
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    time.sleep(1)
    found = search(sb, adviser, "Automatic replies paused")
    check("flood: the advisers are told once that the budget was hit", len(found) == 1, len(found))
    if found:
        check("flood: the notice says what still happens", "still forwarded" in texts(found[0]) and
              "urgent" in texts(found[0]), texts(found[0])[:600])


def search(sb, user, phrase):
    """The messages in user's INBOX whose text holds phrase (IMAP SEARCH: no
    fetching of every forward)."""
    import email
    import email.policy
    conn = sb.imap(user)
    try:
        conn.select("INBOX", readonly=True)
        typ, data = conn.search("UTF-8", "TEXT", '"%s"' % phrase)
        out = []
        for num in (data[0] or b"").split():
            typ, msg = conn.fetch(num, "(BODY.PEEK[])")
            out.append(email.message_from_bytes(msg[0][1], policy=email.policy.default))
        return out
    finally:
        conn.logout()


def bounce(sb):
    """A bounce from an ordinary address, text/plain: forwarded (it may be a
    young person's), never answered."""
    work = os.path.join(sb.dir, "bounce")
    conf = rt.make_config(sb, work)
    mark = sb.mark()
    adviser = rt.ADVISERS[1]
    seen = len(sb.messages(adviser))
    sb.append(rt.SERVICE, rt.mail("postbox@example.com", rt.SERVICE, "Undelivered Mail Returned to Sender",
                                  "This is the mail system at host mx.example.com.\n\nI'm sorry to have to inform "
                                  "you that your message could not be delivered.\n", msgid="bounce.1@example.com"))
    sb.append(rt.SERVICE, rt.mail("other@example.com", rt.SERVICE, "Delivery Status Notification (Failure)",
                                  "Address not found.\n", msgid="bounce.2@example.com"))
    r = rt.relay(conf, "poll")
    check("bounce: poll exits 0", r.returncode == 0, r.stderr[-800:])
    msgs = sb.wait_for(adviser, seen + 2)
    time.sleep(1)
    check("bounce: no auto-reply to a bounce without multipart/report",
          not delivered_to(sb.postfix_log(mark), r"(?:postbox|other)@example\.com"),
          delivered_to(sb.postfix_log(mark), r"(?:postbox|other)@example\.com"))
    bodies = [texts(m) for m in msgs[seen:]]
    check("bounce: both are forwarded to the advisers, not lost",
          any("could not be delivered" in b for b in bodies) and any("Address not found" in b for b in bodies),
          [b[:200] for b in bodies])
    check("bounce: the forward says why there was no auto-reply",
          any("delivery failure report" in b for b in bodies), [b[:400] for b in bodies])


def main():
    with Sandbox() as sb:
        rt.run_parts(sb, bounce, flood)
    done()


if __name__ == "__main__":
    main()
