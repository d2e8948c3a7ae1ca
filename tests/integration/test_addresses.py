"""Unusual sender addresses, end to end on real Dovecot and Postfix (issue 16,
cases 1 and 3).

One batch holds a message from each address that real mail systems deliver
(a quoted local part with a space, an internationalised domain, a trailing
dot, [IPv4] and [IPv6:] literals, a local part over 64 octets), an ordinary
one, and two that cannot be answered (a local part in UTF-8, no address at
all). One `relay poll` stores and forwards every one; each answerable one
gets an auto-reply that Postfix takes for the normalised (A-label) address;
the unanswerable ones are forwarded with a Note and get none; a second poll
has nothing left to do. Then advisers answer the unanswerable conversations
and an ordinary one after `relay purge` removed its contact: each reply is
held and refused back to the adviser, the young person gets nothing, and
later mail still flows.
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402

LONG_LOCAL = "l" * 70

# (name, From header, envelope recipient Postfix must log, or None: cannot be answered)
SENDERS = [
    ("quoted", 'Sam Young <"sam young"@example.org>', '"sam young"@example.org'),
    ("idn", "Sam <sam@b\u00fccher.example>", "sam@xn--bcher-kva.example"),
    ("trailing dot", "sam.dot@example.org.", "sam.dot@example.org"),
    ("ipv4 literal", "sam@[192.0.2.1]", "sam@[192.0.2.1]"),
    ("ipv6 literal", "<sam@[IPv6:2001:db8::1]>", "sam@[IPv6:2001:db8::1]"),
    ("long local part", LONG_LOCAL + "@example.org", LONG_LOCAL + "@example.org"),
    ("ordinary", "Olly <ordinary@example.net>", "ordinary@example.net"),
    ("utf8 local part", "S\u00e4m <s\u00e4m@example.org>", None),
    ("no usable address", "Sam on the bus", None),
    ("no from", None, None),
]


def token(name):
    return "token-" + name.replace(" ", "-")


def message(name, frm, n):
    text = ((f"From: {frm}\r\n" if frm else "") + f"To: {rt.SERVICE}\r\nSubject: please help {n}\r\n"
            f"Date: Sat, 21 Nov 2026 10:00:00 +0000\r\nMessage-ID: <addr.{n}@example.net>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
            f"\r\nI need to talk to someone. {token(name)}\r\n")
    return text.encode("utf-8")


def text_of(msg):
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def forwards_holding(sb, needle, timeout=10):
    """The forwards in the first adviser's mailbox that hold needle, waiting
    for Postfix (which delivers asynchronously) to bring at least one."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in sb.messages(rt.ADVISERS[0]) if needle in text_of(m)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def wait_postfix(sb, mark, rcpts, timeout=20):
    """Until Postfix has logged an outcome (status=) for each envelope recipient."""
    deadline = time.monotonic() + timeout
    while True:
        log = sb.postfix_log(mark)
        missing = [r for r in rcpts if not re.search(r"to=<" + re.escape(r) + r">.*status=", log)]
        if not missing or time.monotonic() > deadline:
            return missing, log
        time.sleep(0.2)


def wait_settled(sb, user, quiet=2.0, timeout=20):
    """Until user's mailbox has stopped growing for quiet seconds (bounces arriving)."""
    deadline = time.monotonic() + timeout
    last, since = len(sb.messages(user)), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.3)
        n = len(sb.messages(user))
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def conversation_of(db, name):
    row = db.execute("SELECT c.id, c.ref, c.contact FROM conversation c JOIN message m ON m.conversation_id = c.id "
                     "WHERE m.body LIKE ?", ("%" + token(name) + "%",)).fetchone()
    return row if row else (None, None, None)


def poll(conf, what, env=None):
    r = rt.relay(conf, "poll", env=env)
    check(f"{what}: relay poll exits 0", r.returncode == 0, r.stderr[-1500:])
    return r


def one_batch(sb, conf):
    """Case 1: every odd address in one batch."""
    for n, (name, frm, _) in enumerate(SENDERS):
        sb.append(rt.SERVICE, message(name, frm, n))
    mark = sb.mark()
    poll(conf, "one batch")
    db = rt.db(conf)
    for name, frm, rcpt in SENDERS:
        conv, ref, contact = conversation_of(db, name)
        check(f"{name}: stored", conv is not None, frm)
        fwd = forwards_holding(sb, token(name))
        check(f"{name}: forwarded to the advisers", len(fwd) == 1, len(fwd))
        autoreplies = db.execute("SELECT rcpt, state FROM outbox WHERE conversation_id = ? AND kind = 'autoreply'",
                                 (conv,)).fetchall() if conv else []
        if rcpt:
            check(f"{name}: one auto-reply queued for the normal form", autoreplies == [(rcpt + "\n", "sent")],
                  autoreplies)
            check(f"{name}: forward has no address note", fwd and "no reply can be sent" not in text_of(fwd[0]),
                  fwd and text_of(fwd[0])[:600])
        else:
            check(f"{name}: no auto-reply", autoreplies == [], autoreplies)
            check(f"{name}: the forward says no reply can be sent",
                  bool(fwd) and "no reply can be sent to the sender" in text_of(fwd[0]), fwd and text_of(fwd[0])[:800])
    missing, log = wait_postfix(sb, mark, [r for _, _, r in SENDERS if r])
    check("Postfix took every auto-reply for the normalised address (to=<...> in its log)", missing == [],
          (missing, log[-1500:]))
    check("no envelope recipient in U-label, with a trailing dot or needless quotes",
          "b\u00fccher" not in log and "example.org.>" not in log, log[-1500:])
    ordinary = sb.wait_for("ordinary@example.net", 1)
    check("the ordinary young person gets the auto-reply", len(ordinary) == 1, len(ordinary))

    # bounces from the sandbox's undeliverable domains come back as automatic mail
    wait_settled(sb, rt.SERVICE)
    counts = lambda: (db.execute("SELECT count(*) FROM outbox").fetchone()[0],  # noqa: E731
                      db.execute("SELECT count(*) FROM message WHERE kind = 'inbound'").fetchone()[0])
    before = counts()
    poll(conf, "second poll")
    check("second poll: nothing new sent or stored as a young person's message", counts() == before,
          (before, counts()))
    check("second poll: nothing left unseen", sb.unseen(rt.SERVICE) == 0, sb.unseen(rt.SERVICE))
    db.close()


def adviser_answers(sb, conf, name, what_refusal_says, env=None):
    db = rt.db(conf)
    conv, ref, _ = conversation_of(db, name)
    fwd = forwards_holding(sb, token(name))
    outbox_before = db.execute("SELECT count(*) FROM outbox WHERE conversation_id = ? AND kind = 'reply'",
                               (conv,)).fetchone()[0]
    notices_before = len(sb.messages(rt.ADVISERS[1]))
    rt.adviser_replies(sb, rt.ADVISERS[1], fwd[0], f"Hello, we are here for you. reply-to-{token(name)}\n")
    poll(conf, f"{name}: adviser reply", env=env)
    msgs = sb.wait_for(rt.ADVISERS[1], notices_before + 1)
    refusals = [m for m in msgs if "was NOT sent" in text_of(m) and ref in text_of(m)]
    check(f"{name}: the adviser gets a refusal", len(refusals) == 1, [m["Subject"] for m in msgs])
    check(f"{name}: the refusal says why", refusals and what_refusal_says in text_of(refusals[0]),
          refusals and text_of(refusals[0]))
    held = db.execute("SELECT count(*) FROM message WHERE conversation_id = ? AND kind = 'held' AND body LIKE ?",
                      (conv, "%reply-to-" + token(name) + "%")).fetchone()[0]
    check(f"{name}: the adviser's reply is stored, held", held == 1, held)
    after = db.execute("SELECT count(*) FROM outbox WHERE conversation_id = ? AND kind = 'reply'",
                       (conv,)).fetchone()[0]
    check(f"{name}: nothing is queued for the young person", after == outbox_before, (outbox_before, after))
    db.close()


def unreachable_replies(sb, conf):
    """Case 3: advisers answer conversations that cannot be answered."""
    adviser_answers(sb, conf, "no usable address", "cannot be answered")
    adviser_answers(sb, conf, "no from", "had no sender address")
    adviser_answers(sb, conf, "utf8 local part", "not plain ASCII")

    # the same typed at the server: refused on the terminal, nothing queued
    db = rt.db(conf)
    conv, ref, _ = conversation_of(db, "no from")
    queued = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    r = subprocess.run([rt.RELAY, "-c", conf, "send", ref], input="Are you safe?\n", capture_output=True,
                       text=True, timeout=60)
    check("relay send to a conversation without an address: refused with the reason",
          r.returncode != 0 and "had no sender address" in r.stderr, (r.returncode, r.stderr[-500:]))
    check("relay send: nothing queued", db.execute("SELECT count(*) FROM outbox").fetchone()[0] == queued)
    db.close()

    # an old forward answered after relay purge removed the contact
    db = rt.db(conf)
    _, ref, _ = conversation_of(db, "ordinary")
    db.close()
    r = rt.relay(conf, "close", ref)
    check("purged: close", r.returncode == 0, r.stderr)
    later = {"RELAY_TEST_NOW": str(int(time.time()) + 366 * 86400)}
    r = rt.relay(conf, "purge", env=later)
    check("purged: purge removed the conversation's contact", r.returncode == 0 and
          r.stdout.startswith("1 conversation"), r.stdout + r.stderr)
    young_before = len(sb.messages("ordinary@example.net"))
    # the purge removed the text the forward is found by: answer the forward itself
    fwd = [m for m in sb.messages(rt.ADVISERS[0]) if token("ordinary") in text_of(m)][0]
    notices_before = len(sb.messages(rt.ADVISERS[1]))
    rt.adviser_replies(sb, rt.ADVISERS[1], fwd, "Hello again, are you still there?\n")
    poll(conf, "purged: adviser reply")
    msgs = sb.wait_for(rt.ADVISERS[1], notices_before + 1)
    refusals = [m for m in msgs[notices_before:] if "was NOT sent" in text_of(m) and ref in text_of(m)]
    check("purged: the adviser gets a refusal", len(refusals) == 1, [m["Subject"] for m in msgs])
    check("purged: the refusal says why", refusals and "removed after the retention period" in text_of(refusals[0]),
          refusals and text_of(refusals[0]))
    time.sleep(1.0)
    check("purged: the young person gets nothing", len(sb.messages("ordinary@example.net")) == young_before,
          len(sb.messages("ordinary@example.net")))

    # later mail still flows
    sb.append(rt.SERVICE, message("later", "Lee <later@example.net>", 99))
    poll(conf, "later mail")
    check("later mail: forwarded", len(forwards_holding(sb, token("later"))) == 1)
    check("later mail: auto-reply arrives", len(sb.wait_for("later@example.net", 1)) == 1)
    check("later mail: nothing left unseen", sb.unseen(rt.SERVICE) == 0, sb.unseen(rt.SERVICE))


def postfix_relays_for_logins(sb):
    """The sandbox's Postfix refuses domains other than its three test domains,
    even from a logged-in client. This suite's own sandbox takes any domain
    from the relay (logged in) and hands it to Dovecot, as a smarthost would
    take it and deliver: the envelope recipient is then in Postfix's log."""
    pf = sb.env["POSTFIX_CONFIG_DIR"]
    subprocess.run(["postconf", "-c", pf, "-e",
                    "smtpd_recipient_restrictions = permit_sasl_authenticated, reject_unauth_destination",
                    f"default_transport = lmtp:inet:127.0.0.1:{sb.lmtp_port}"], check=True)
    subprocess.run(["postfix", "-c", pf, "reload"], check=True, capture_output=True)


def main():
    with Sandbox() as sb:
        postfix_relays_for_logins(sb)
        work = os.path.join(sb.dir, "relay")
        conf = rt.make_config(sb, work)
        for part in (one_batch, unreachable_replies):
            try:
                part(sb, conf)
            except Exception as e:  # one part's failure must not hide the others'
                check(f"{part.__name__} ran to the end", False, repr(e))
    done()


if __name__ == "__main__":
    main()
