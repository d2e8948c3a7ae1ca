"""Who may answer a young person (issue 20), end to end on real Dovecot and Postfix.

A reply with an allowed adviser's address in From reaches a young person only
when the service's receiving server proved it: the topmost
Authentication-Results field of [advisers] authserv_id (the sandbox's Postfix
writes one on every message: a DKIM pass of the login's domain, or dkim=none)
carries a DMARC pass or a DKIM pass aligned with From. Spoofed, forged,
foreign and unaligned results are held and the advisers told, and nothing of
them (text or #commands) reaches the conversation.

A reply tag, or a forward's Message-ID, is honoured while its conversation is
open and for reopen_days after it closed (a reply then reopens it); later
replies are held and the adviser told to use `relay send`. A tag signed under
an earlier key is recognised by its headers alone, under the same rule.
`relay check` says which rule applies, and warns loudly about
`authentication = none`.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402

ADVISER = rt.ADVISERS[0]
OTHER = rt.ADVISERS[1]          # every held notice reaches the whole team
ATTACKER = "former.adviser@example.com"
DAY = 86400
NOW = int(time.time())


def text_of(msg):
    return rt.body(msg)


def poll(conf, what, when=None):
    r = rt.relay(conf, "poll", env={"RELAY_TEST_NOW": str(when)} if when else None)
    check(f"{what}: poll exits 0", r.returncode == 0, r.stderr[-2000:])
    return r


def into_inbox(sb, send):
    """Runs send() and waits until one more message is in the relay's inbox."""
    before = len(sb.messages(rt.SERVICE))
    send()
    sb.wait_for(rt.SERVICE, before + 1)


def by_smtp(sb, raw, to, envelope, login=None):
    into_inbox(sb, lambda: sb.send(envelope, [to], raw, auth_user=login))


def by_append(sb, raw):
    into_inbox(sb, lambda: sb.append(rt.SERVICE, raw))


def state_of(conf, ref):
    db = rt.db(conf)
    row = db.execute("SELECT state FROM conversation WHERE ref = ?", (ref,)).fetchone()
    db.close()
    return row[0] if row else None


def held_count(conf):
    db = rt.db(conf)
    n = db.execute("SELECT count(*) FROM message WHERE kind = 'held'").fetchone()[0]
    db.close()
    return n


def start(sb, conf, young, words, when=None):
    """A young person writes; returns the advisers' forward."""
    before = len(sb.messages(ADVISER))
    by_smtp(sb, rt.mail(young, rt.SERVICE, "please help", words + "\n"), rt.SERVICE, young)
    poll(conf, f"{young} writes", when)
    for m in sb.wait_for(ADVISER, before + 1)[before:]:
        if words in text_of(m):
            return m
    raise AssertionError(f"no forward for {young}")


def reply(fwd, text, frm=ADVISER, to=None, top=()):
    """An answer to fwd (to its tag unless told), with header fields top put
    above the message's own, as a sender could."""
    raw = rt.mail(frm, to or rt.reply_tag(fwd), "RE: " + str(fwd["Subject"]), text,
                  in_reply_to=str(fwd["Message-ID"]).strip("<>"))
    return "".join(f + "\r\n" for f in top).encode() + raw


def expect_held(sb, conf, young, what, send, words, when=None):
    """send() delivers a reply that must not reach young: held, stored as
    such, and the whole team told (why containing words)."""
    young_before, team_before, held_before = len(sb.messages(young)), len(sb.messages(OTHER)), held_count(conf)
    send()
    poll(conf, what, when)
    notices = sb.wait_for(OTHER, team_before + 1)[team_before:]
    time.sleep(0.5)
    check(f"{what}: not relayed to the young person", len(sb.messages(young)) == young_before,
          [text_of(m)[:200] for m in sb.messages(young)[young_before:]])
    check(f"{what}: stored as held", held_count(conf) == held_before + 1, held_count(conf) - held_before)
    notice = "\n".join(text_of(m) for m in notices)
    check(f"{what}: the advisers are told it was NOT sent", "NOT sent" in notice, notice[:1500])
    check(f"{what}: ... and why", all(w in notice for w in words), notice[:1500])


def expect_relayed(sb, conf, young, what, send, token, when=None):
    before = len(sb.messages(young))
    send()
    poll(conf, what, when)
    got = sb.wait_for(young, before + 1)[before:]
    check(f"{what}: relayed to the young person", any(token in text_of(m) for m in got),
          [text_of(m)[:300] for m in got])


def expect_refused(sb, conf, young, what, send, words, when):
    """send() delivers an adviser's reply to a conversation past its time:
    held, and the adviser told what to do instead."""
    young_before, adviser_before, held_before = len(sb.messages(young)), len(sb.messages(ADVISER)), held_count(conf)
    send()
    poll(conf, what, when)
    got = sb.wait_for(ADVISER, adviser_before + 1)[adviser_before:]
    time.sleep(0.5)
    check(f"{what}: not relayed to the young person", len(sb.messages(young)) == young_before,
          [text_of(m)[:200] for m in sb.messages(young)[young_before:]])
    check(f"{what}: stored as held", held_count(conf) == held_before + 1, held_count(conf) - held_before)
    notice = "\n".join(text_of(m) for m in got)
    check(f"{what}: the adviser is told it was NOT sent, and what to do",
          "NOT sent" in notice and all(w in notice for w in words), notice[:1500])


def spoofing(sb, conf):
    young = "sam.auth@example.net"
    fwd = start(sb, conf, young, "Token START: is anyone there?")
    ref = str(fwd["Subject"]).split("]")[0].strip("[")
    tag = rt.reply_tag(fwd)
    dmarc_pass = f"Authentication-Results: {rt.AUTHSERV_ID}; dmarc=pass header.from=example.org"

    expect_held(sb, conf, young, "spoofed From, no Authentication-Results",
                lambda: by_append(sb, reply(fwd, "#close\nToken SPOOF-NONE: meet me after school.\n")),
                ["wrote no Authentication-Results", rt.AUTHSERV_ID])
    check("a spoofed #close is not carried out", state_of(conf, ref) == "open", state_of(conf, ref))

    expect_held(sb, conf, young, "spoofed From, the server's field says dkim=none",
                lambda: by_smtp(sb, reply(fwd, "Token SPOOF-FAIL: meet me.\n"), tag, ATTACKER),
                ["dkim=none"])
    expect_held(sb, conf, young, "spoofed From, the server's field says dmarc=fail",
                lambda: by_append(sb, rt.stamped(reply(fwd, "Token SPOOF-DMARC: meet me.\n"),
                                                 result="dmarc=fail header.from={domain}")),
                ["dmarc=fail (example.org)"])
    expect_held(sb, conf, young, "a forged pass below the server's own field",
                lambda: by_smtp(sb, reply(fwd, "#block\nToken SPOOF-FORGED: meet me.\n", top=[dmarc_pass]),
                                tag, ATTACKER),
                ["dkim=none"])
    db = rt.db(conf)
    blocked = db.execute("SELECT count(*) FROM contact WHERE blocked_until > 0").fetchone()[0]
    db.close()
    check("a forged #block is not carried out", blocked == 0, blocked)
    expect_held(sb, conf, young, "a pass from another authserv-id",
                lambda: by_append(sb, reply(fwd, "Token SPOOF-OTHER: meet me.\n", top=[
                    "Authentication-Results: mx.attacker.example; dmarc=pass header.from=example.org"])),
                ["wrote no Authentication-Results"])
    expect_held(sb, conf, young, "our authserv-id's pass below the message's own fields",
                lambda: by_append(sb, reply(fwd, "Token SPOOF-BELOW: meet me.\n").replace(
                    b"\r\nSubject:", ("\r\n" + dmarc_pass + "\r\nSubject:").encode(), 1)),
                ["below the message's own header fields"])
    expect_held(sb, conf, young, "a DKIM pass not aligned with From (logged in as another domain)",
                lambda: by_smtp(sb, reply(fwd, "Token SPOOF-UNALIGNED: meet me.\n"), tag, ATTACKER, login=ATTACKER),
                ["dkim=pass (example.com)", "no DMARC pass and no DKIM signature of example.org"])
    expect_held(sb, conf, young, "spoofed From to the plain address, threaded by In-Reply-To",
                lambda: by_append(sb, reply(fwd, "Token SPOOF-PLAIN: meet me.\n", to=rt.SERVICE)),
                ["wrote no Authentication-Results"])

    expect_relayed(sb, conf, young, "a genuine DMARC pass",
                   lambda: by_append(sb, rt.stamped(reply(fwd, "Token GENUINE-DMARC: we are here.\n"),
                                                    result="dmarc=pass (p=reject) header.from={domain}")),
                   "Token GENUINE-DMARC")
    expect_relayed(sb, conf, young, "a genuine reply through the service's server (aligned DKIM)",
                   lambda: by_smtp(sb, reply(fwd, "Token GENUINE-DKIM: we are here.\n"), tag, ADVISER, login=ADVISER),
                   "Token GENUINE-DKIM")
    leaked = [t for m in sb.messages(young) for t in ("SPOOF", "meet me") if t in text_of(m)]
    check("nothing spoofed ever reached the young person", not leaked, leaked)


def lifecycle(sb, conf):
    # Closed, then answered within reopen_days (30): relayed, and reopened.
    young = "lee.auth@example.net"
    fwd = start(sb, conf, young, "Token LEE: can I ask something?")
    ref = str(fwd["Subject"]).split("]")[0].strip("[")
    tag = rt.reply_tag(fwd)
    by_smtp(sb, reply(fwd, "#close\n"), tag, ADVISER, login=ADVISER)
    poll(conf, "#close")
    check("#close closes the conversation", state_of(conf, ref) == "closed", state_of(conf, ref))
    later = NOW + 10 * DAY
    expect_relayed(sb, conf, young, "a reply 10 days after #close",
                   lambda: by_smtp(sb, reply(fwd, "Token LEE-10: still there?\n"), tag, ADVISER, login=ADVISER),
                   "Token LEE-10", when=later)
    check("... reopens the conversation", state_of(conf, ref) == "open", state_of(conf, ref))
    by_smtp(sb, reply(fwd, "#close\n"), tag, ADVISER, login=ADVISER)
    poll(conf, "#close again", later)
    check("#close closes it again", state_of(conf, ref) == "closed", state_of(conf, ref))
    expect_refused(sb, conf, young, "a reply to the tag 31 days after #close",
                   lambda: by_smtp(sb, reply(fwd, "Token LEE-41: hello again\n"), tag, ADVISER, login=ADVISER),
                   ["closed more than 30 days ago", f"relay send {ref}"], when=later + 31 * DAY)
    check("... and it stays closed", state_of(conf, ref) == "closed", state_of(conf, ref))

    # Never closed by hand: a year later, by In-Reply-To to the plain address.
    young = "kai.auth@example.net"
    fwd = start(sb, conf, young, "Token KAI: hello")
    ref = str(fwd["Subject"]).split("]")[0].strip("[")
    expect_refused(sb, conf, young, "a reply by In-Reply-To to a forward a year later",
                   lambda: by_smtp(sb, reply(fwd, "Token KAI-YEAR: remember me?\n", to=rt.SERVICE), rt.SERVICE,
                                   ADVISER, login=ADVISER),
                   [f"relay send {ref}"], when=NOW + 366 * DAY)


def key_change(sb, conf, work):
    young = "max.auth@example.net"
    fwd = start(sb, conf, young, "Token MAX: hi")
    tag = rt.reply_tag(fwd)
    rt.write_private(os.path.join(work, "secret"), "a-new-signing-key-after-a-rotation-0123456789\n")
    expect_relayed(sb, conf, young, "an old tag (earlier key) threaded on the forward, while open",
                   lambda: by_smtp(sb, reply(fwd, "Token MAX-OLDKEY: we are here\n"), tag, ADVISER, login=ADVISER),
                   "Token MAX-OLDKEY")
    expect_refused(sb, conf, young, "an old tag (earlier key) after reopen_days",
                   lambda: by_smtp(sb, reply(fwd, "Token MAX-LATE: hello?\n"), tag, ADVISER, login=ADVISER),
                   ["relay send"], when=NOW + 400 * DAY)
    expect_held(sb, conf, young, "an old tag with nothing else to thread on",
                lambda: by_smtp(sb, rt.mail(ADVISER, tag, "RE: " + str(fwd["Subject"]), "Token MAX-BARE: hi\n"), tag,
                                ADVISER, login=ADVISER),
                ["signature is not valid"], when=NOW + 400 * DAY)


def checks(sb, conf, work):
    r = rt.relay(conf, "check")
    check("check: says replies must be authenticated, and by whom",
          any(x.startswith("OK") and "advisers" in x and rt.AUTHSERV_ID in x for x in r.stdout.splitlines()),
          r.stdout)
    none = rt.make_config(sb, os.path.join(sb.dir, "relay-none"))
    rt.edit_config(none, f"authserv_id = {rt.AUTHSERV_ID}\n", "authentication = none\n")
    r = rt.relay(none, "check")
    warn = [x for x in r.stdout.splitlines() if x.startswith("WARN")]
    check("check: authentication = none is a warning line", len(warn) == 1 and "authentication = none" in warn[0]
          and "anyone" in warn[0], r.stdout)
    check("check: ... that does not fail the check", r.returncode == 0, r.stdout)
    missing = rt.make_config(sb, os.path.join(sb.dir, "relay-missing"))
    rt.edit_config(missing, f"authserv_id = {rt.AUTHSERV_ID}\n", "")
    r = rt.relay(missing, "check")
    check("check: the default needs authserv_id, and says so",
          r.returncode != 0 and "authserv_id is required" in r.stdout + r.stderr, r.stdout + r.stderr)
    r = rt.relay(missing, "poll")
    check("poll: refuses to start without it", r.returncode != 0 and "authserv_id" in r.stderr, r.stderr[-500:])


def with_fields(raw, fields):
    """raw with header fields added at the end of its header block (where
    Exchange Online puts its X-MS-Exchange-Organization-* fields)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    return head + b"".join(b"\r\n" + f.encode() for f in fields) + sep + body


EXO_PASS = ("Authentication-Results: spf=pass (sender IP is 40.107.1.2) smtp.mailfrom=example.org; dkim=pass "
            "(signature was verified) header.d=example.org;dmarc=pass action=none header.from=example.org;"
            "compauth=pass reason=100")


def exchange_online(sb, work):
    """[advisers] authentication = exchange: Exchange Online writes its
    Authentication-Results without an authserv-id, and none inside the
    tenant, where X-MS-Exchange-Organization-AuthAs: Internal says the
    sender signed in to a mailbox of the organisation."""
    conf = rt.make_config(sb, work + "-exchange")
    rt.edit_config(conf, f"authserv_id = {rt.AUTHSERV_ID}\n", "authentication = exchange\n")
    r = rt.relay(conf, "check")
    check("exchange: check says what proves a reply",
          any(x.startswith("OK") and "advisers" in x and "AuthAs: Internal" in x for x in r.stdout.splitlines()),
          r.stdout)
    young = "kim.exo@example.net"
    fwd = start(sb, conf, young, "Token EXO-START: hello?")
    internal = ["X-MS-Exchange-Organization-AuthAs: Internal", "X-MS-Exchange-Organization-AuthMechanism: 04"]
    expect_relayed(sb, conf, young, "exchange: a reply from inside the organisation (AuthAs: Internal)",
                   lambda: by_append(sb, with_fields(reply(fwd, "Token EXO-INTERNAL: we are here.\n"), internal)),
                   "EXO-INTERNAL")
    expect_held(sb, conf, young, "exchange: a spoof with no Exchange fields at all",
                lambda: by_append(sb, reply(fwd, "Token EXO-SPOOF: meet me.\n")),
                ["outside the organisation", "authentication = exchange"])
    expect_held(sb, conf, young, "exchange: a spoof from outside whose pass is written below its own fields",
                lambda: by_append(sb, with_fields(reply(fwd, "Token EXO-BELOW: meet me.\n"),
                                                  [EXO_PASS, "X-MS-Exchange-Organization-AuthAs: Anonymous"])),
                ["outside the organisation"])
    expect_relayed(sb, conf, young, "exchange: a reply from outside with Exchange's own DMARC pass on top",
                   lambda: by_append(sb, with_fields(reply(fwd, "Token EXO-DMARC: we are here.\n", top=[EXO_PASS]),
                                                     ["X-MS-Exchange-Organization-AuthAs: Anonymous"])),
                   "EXO-DMARC")


def main():
    with Sandbox() as sb:
        work = os.path.join(sb.dir, "relay")
        conf = rt.make_config(sb, work)

        def relay_check(s):
            checks(s, conf, work)

        def spoofed_replies(s):
            spoofing(s, conf)

        def expiring_tags(s):
            lifecycle(s, conf)

        def signing_key_changed(s):
            key_change(s, conf, work)

        def exchange(s):
            exchange_online(s, work)

        rt.run_parts(sb, relay_check, spoofed_replies, expiring_tags, signing_key_changed, exchange)
    done()


if __name__ == "__main__":
    main()
