"""Answers to the auto-reply and repeated Message-IDs, end to end on real
Dovecot and Postfix (tests/sandbox).

A young person's answer to our auto-reply is a person's message, whether it
names the auto-reply only in In-Reply-To or only in References (their first
message had no Message-ID); an out-of-office answering the auto-reply is
still automatic and starts no loop. Messages are de-duplicated by what they
are: two different messages sharing a Message-ID are both kept and
forwarded, in one batch and across batches; the same message taken twice
(the same bytes, or a copy with other Received/Delivered-To headers, or a
UIDVALIDITY rescan) is stored once. A database from before (keys "mid:…",
"sha256:…") takes nothing in twice either.
"""
import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402

ADVISER = rt.ADVISERS[0]


class Suite:
    def __init__(self, sb):
        self.sb = sb
        self.conf = rt.make_config(sb, os.path.join(sb.dir, "relay-threads"))

    def poll(self):
        r = rt.relay(self.conf, "poll")
        check("relay poll exits 0", r.returncode == 0, r.stderr[-2000:])
        return r

    def q(self, sql, *args):
        db = rt.db(self.conf)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def one(self, sql, *args):
        return self.q(sql, *args)[0][0]

    def forwards(self, words):
        """Forwards in the adviser's mailbox that carry words."""
        return [m for m in self.sb.messages(ADVISER) if words in rt.body(m)]

    def wait_forward(self, words, count=1, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            got = self.forwards(words)
            if len(got) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.1)

    def settle(self):
        """Lets Postfix deliver anything still on its way, before counting what did not come."""
        time.sleep(1.0)

    def first_contact(self, young, text, msgid):
        """A young person's first message, polled; returns the auto-reply they got."""
        self.sb.append(rt.SERVICE, rt.mail(young, rt.SERVICE, "Can I talk to someone", text, msgid=msgid))
        self.poll()
        auto = self.sb.wait_for(young, 1)[-1]
        check(f"{young}: first message forwarded", len(self.wait_forward(text.strip())) == 1)
        return auto

    def conversation_of(self, words):
        rows = self.q("SELECT conversation_id, kind FROM message WHERE body LIKE ?", f"%{words}%")
        return rows


# --- case 4: answers to the auto-reply -------------------------------------------

def reply_in_reply_to_only(s):
    young = "ash.young@example.net"
    auto = s.first_contact(young, "first words from ash\n", "ash.1@example.net")
    check("a: auto-reply threads on the first message", auto["In-Reply-To"] == "<ash.1@example.net>",
          auto["In-Reply-To"])
    outbox = s.one("SELECT count(*) FROM outbox")
    reply = rt.mail(young, rt.SERVICE, "Re: " + str(auto["Subject"]), "ash typed an answer\n",
                    msgid="ash.2@example.net", in_reply_to=str(auto["Message-ID"]).strip("<>"))
    check("a: the answer has no References", b"References:" not in reply)
    s.sb.append(rt.SERVICE, reply)
    s.poll()
    fwd = s.wait_forward("ash typed an answer")
    check("a: the answer to the auto-reply is forwarded", len(fwd) == 1, len(fwd))
    rows = s.conversation_of("ash typed an answer")
    first = s.conversation_of("first words from ash")
    check("a: stored as the young person's message", [k for _, k in rows] == ["inbound"], rows)
    check("a: in the first message's conversation", rows and first and rows[0][0] == first[0][0], (rows, first))
    s.settle()
    check("a: no second auto-reply", len(s.sb.messages(young)) == 1, len(s.sb.messages(young)))
    kinds = [k for (k,) in s.q("SELECT kind FROM outbox WHERE id > ? ORDER BY id", outbox)]
    check("a: only a forward was queued", kinds == ["forward"], kinds)


def reply_references_only_autoreply(s):
    young = "bea.young@example.net"
    auto = s.first_contact(young, "first words from bea, no message id\n", None)
    check("b: auto-reply has nothing to thread on", auto["In-Reply-To"] is None, auto["In-Reply-To"])
    aid = str(auto["Message-ID"]).strip("<>")
    s.sb.append(rt.SERVICE, rt.mail(young, rt.SERVICE, "Re: " + str(auto["Subject"]), "bea typed an answer\n",
                                    msgid="bea.2@example.net", in_reply_to=aid, references=[aid]))
    s.poll()
    fwd = s.wait_forward("bea typed an answer")
    check("b: the answer naming only the auto-reply is forwarded", len(fwd) == 1, len(fwd))
    rows = s.conversation_of("bea typed an answer")
    first = s.conversation_of("first words from bea")
    check("b: stored as the young person's message", [k for _, k in rows] == ["inbound"], rows)
    check("b: in the first message's conversation", rows and first and rows[0][0] == first[0][0], (rows, first))
    if fwd:
        first_fwd = s.forwards("first words from bea")
        check("b: the forward keeps the conversation's reference",
              first_fwd and str(fwd[0]["Subject"])[:11] == str(first_fwd[0]["Subject"])[:11],
              (fwd[0]["Subject"], first_fwd and first_fwd[0]["Subject"]))


def out_of_office_answers_autoreply(s):
    young = "cal.young@example.net"
    auto = s.first_contact(young, "first words from cal\n", "cal.1@example.net")
    aid = str(auto["Message-ID"]).strip("<>")
    advisers = len(s.sb.messages(ADVISER))
    outbox = s.one("SELECT count(*) FROM outbox")
    # The subject is what a person would write: only the header says automatic.
    s.sb.append(rt.SERVICE, rt.mail(young, rt.SERVICE, "Re: " + str(auto["Subject"]),
                                    "I am away until Monday and will read your email then.\n",
                                    msgid="cal.ooo@example.net", in_reply_to=aid,
                                    extra_headers=["Auto-Submitted: auto-replied"]))
    s.poll()
    # A second round: the responder would answer anything we sent it.
    s.poll()
    s.settle()
    rows = s.conversation_of("I am away until Monday")
    check("c: the out-of-office is kept as automatic", [k for _, k in rows] == ["automatic"], rows)
    check("c: the out-of-office is not forwarded", len(s.sb.messages(ADVISER)) == advisers,
          (len(s.sb.messages(ADVISER)), advisers))
    check("c: nothing is sent back (no loop)", len(s.sb.messages(young)) == 1, len(s.sb.messages(young)))
    check("c: nothing queued", s.one("SELECT count(*) FROM outbox") == outbox)


# --- case 5: what a message is, not what it claims ------------------------------

SHARED = "shared.1@example.net"


def shared_message_id(s):
    dan, eve, fay = "dan.young@example.net", "eve.young@example.net", "fay.young@example.net"
    s.sb.append(rt.SERVICE, rt.mail(dan, rt.SERVICE, "hello", "dan wrote this\n", msgid=SHARED))
    s.sb.append(rt.SERVICE, rt.mail(eve, rt.SERVICE, "a question", "eve wrote something else\n", msgid=SHARED))
    r = s.poll()
    check("d: both taken in one batch", "2 new messages" in r.stderr, r.stderr[-800:])
    check("d: the first of one batch is forwarded", len(s.wait_forward("dan wrote this")) == 1)
    check("d: the second of one batch, same Message-ID, is forwarded",
          len(s.wait_forward("eve wrote something else")) == 1)
    s.sb.append(rt.SERVICE, rt.mail(fay, rt.SERVICE, "hi", "fay wrote later\n", msgid=SHARED))
    s.poll()
    check("d: a later batch's message with the same Message-ID is forwarded",
          len(s.wait_forward("fay wrote later")) == 1)
    rows = s.q("SELECT m.kind, c.contact FROM message m JOIN conversation c ON c.id = m.conversation_id "
               "WHERE m.message_id = ? ORDER BY m.id", SHARED)
    check("d: all three kept, each in its sender's conversation",
          rows == [("inbound", dan), ("inbound", eve), ("inbound", fay)], rows)
    # A reply naming the shared id names no one conversation: eve's joins eve's.
    s.sb.append(rt.SERVICE, rt.mail(eve, rt.SERVICE, "Re: a question", "eve follows up\n",
                                    msgid="eve.2@example.net", in_reply_to=SHARED))
    s.poll()
    check("d: eve's follow-up is forwarded", len(s.wait_forward("eve follows up")) == 1)
    rows = s.q("SELECT c.contact FROM message m JOIN conversation c ON c.id = m.conversation_id "
               "WHERE m.body LIKE '%eve follows up%'")
    check("d: a reply to a shared Message-ID joins its sender's conversation", rows == [(eve,)], rows)
    eve_fwd = s.forwards("eve wrote something else")
    follow = s.forwards("eve follows up")
    check("d: ... with the same reference as eve's first forward",
          eve_fwd and follow and str(follow[0]["Subject"])[:11] == str(eve_fwd[0]["Subject"])[:11],
          (eve_fwd and eve_fwd[0]["Subject"], follow and follow[0]["Subject"]))


def same_message_twice(s):
    gus = "gus.young@example.net"
    raw = rt.mail(gus, rt.SERVICE, "twice", "gus sent this once\n", msgid="gus.1@example.net")
    s.sb.append(rt.SERVICE, raw)
    s.sb.append(rt.SERVICE, raw)
    s.poll()
    check("e: the same bytes twice in one batch: forwarded once", len(s.wait_forward("gus sent this once")) == 1)
    s.settle()
    check("e: ... and not a second time", len(s.forwards("gus sent this once")) == 1)
    check("e: ... stored once", s.one("SELECT count(*) FROM message WHERE body LIKE '%gus sent this once%'") == 1)

    # One delivery copied to two of the service's addresses: only the trace differs.
    hal = "hal.young@example.net"
    body = rt.mail(hal, "help@example.org", "copied", "hal wrote to two addresses\n", msgid="hal.1@example.net")
    copy1 = (b"Return-Path: <hal.young@example.net>\r\nDelivered-To: rusafe@example.org\r\n"
             b"Received: from mx.example.net by mail.example.org (Postfix) with ESMTPS id 4A1;\r\n"
             b"\tSat, 21 Nov 2026 10:00:02 +0000\r\n" + body)
    copy2 = (b"Return-Path: <hal.young@example.net>\r\nDelivered-To: help@example.org\r\n"
             b"X-Original-To: help@example.org\r\n"
             b"Received: from mx.example.net by mail.example.org (Postfix) with ESMTPS id 4B7;\r\n"
             b"\tSat, 21 Nov 2026 10:00:03 +0000\r\n" + body)
    s.sb.append(rt.SERVICE, copy1)
    s.poll()
    check("e: the first copy is forwarded", len(s.wait_forward("hal wrote to two addresses")) == 1)
    s.sb.append(rt.SERVICE, copy2)
    r = s.poll()
    s.settle()
    check("e: the second copy (other Received/Delivered-To) is not forwarded again",
          len(s.forwards("hal wrote to two addresses")) == 1)
    check("e: ... nor stored again",
          s.one("SELECT count(*) FROM message WHERE body LIKE '%hal wrote to two addresses%'") == 1)
    check("e: ... and the skip is logged", "already received was skipped" in r.stderr, r.stderr[-800:])

    # The same without a Message-ID: the copies differ in their bytes only by the trace.
    ivy = "ivy.young@example.net"
    body = rt.mail(ivy, rt.SERVICE, "no id", "ivy has no message id\n")
    s.sb.append(rt.SERVICE, b"Delivered-To: rusafe@example.org\r\n" + body)
    s.sb.append(rt.SERVICE, b"Delivered-To: help@example.org\r\nReceived: by lmtp; x\r\n" + body)
    s.poll()
    check("e: a copy without Message-ID: forwarded once", len(s.wait_forward("ivy has no message id")) == 1)
    s.settle()
    check("e: ... not twice", len(s.forwards("ivy has no message id")) == 1)
    check("e: ... stored once", s.one("SELECT count(*) FROM message WHERE body LIKE '%ivy has no message id%'") == 1)


    # Neither Message-ID nor Date: nothing but the trace tells two sendings
    # of one text apart, and both are taken (a copy costs a forward, never a message).
    kim = "kim.young@example.net"
    for when in ("10:00:01", "10:04:09"):
        s.sb.append(rt.SERVICE, (f"Received: by mx.example.net; Sat, 21 Nov 2026 {when} +0000\r\n"
                                 f"From: {kim}\r\nTo: {rt.SERVICE}\r\nSubject: ok\r\n\r\nkim says ok\r\n").encode())
    s.poll()
    check("e: the same text sent twice with neither Message-ID nor Date: both forwarded",
          len(s.wait_forward("kim says ok", 2)) == 2)


def counts(s):
    return (s.one("SELECT count(*) FROM message"), s.one("SELECT count(*) FROM outbox"),
            len(s.sb.messages(ADVISER)))


def new_uidvalidity(s, value):
    r = s.sb.doveadm("mailbox", "update", "-u", rt.SERVICE, "--uid-validity", str(value), "INBOX")
    check(f"doveadm set UIDVALIDITY {value}", r.returncode == 0, r.stderr)


def rescan(s):
    before = counts(s)
    new_uidvalidity(s, 4242)
    r = s.poll()
    check("f: the relay noticed and rescanned", "UIDVALIDITY changed" in r.stderr, r.stderr[-800:])
    s.settle()
    after = counts(s)
    check("f: a rescan stores, queues and forwards nothing", after == before, (before, after))
    dup = s.q("SELECT message_id, count(*) FROM message WHERE message_id IS NOT NULL AND kind = 'inbound' "
              "GROUP BY message_id, body HAVING count(*) > 1")
    check("f: no message stored twice", dup == [], dup)


def old_database(s):
    """A database written by a relay before identities: each message known by
    "mid:<Message-ID>" or, without one, "sha256:<its bytes>"."""
    db = rt.db(s.conf)
    rows = db.execute("SELECT id, message_id, raw FROM message WHERE kind IN ('inbound', 'automatic') "
                      "AND raw IS NOT NULL ORDER BY id").fetchall()
    seen = set()
    legacy = 0
    for mid, message_id, raw in rows:
        if message_id in seen:
            continue   # an old relay kept only the first message of an id
        seen.add(message_id)
        db.execute("DELETE FROM inbound_key WHERE key LIKE 'msg-sha256:%' AND message = ?", (mid,))
        key = "mid:" + message_id if message_id else "sha256:" + hashlib.sha256(raw).hexdigest()
        db.execute("INSERT OR IGNORE INTO inbound_key(key, message) VALUES (?, ?)", (key, mid))
        legacy += 1
    # One whose text retention has since removed.
    purged = db.execute("SELECT id FROM message WHERE message_id = 'gus.1@example.net'").fetchone()[0]
    db.execute("UPDATE message SET raw = NULL WHERE id = ?", (purged,))
    db.commit()
    left = db.execute("SELECT count(*) FROM inbound_key WHERE key LIKE 'msg-sha256:%'").fetchone()[0]
    db.close()
    check("g: the database now looks like an old relay's", legacy >= 10, legacy)

    before = counts(s)
    new_uidvalidity(s, 4343)
    r = s.poll()
    check("g: rescanned", "UIDVALIDITY changed" in r.stderr, r.stderr[-800:])
    s.settle()
    after = counts(s)
    check("g: after the upgrade, a rescan stores and forwards nothing", after == before, (before, after))
    now = s.one("SELECT count(*) FROM inbound_key WHERE key LIKE 'msg-sha256:%'")
    check("g: messages known by their old keys are known by their identity now", now > left, (left, now))

    # An old "mid:" key does not stop a different message that reuses the id.
    jon = "jon.young@example.net"
    s.sb.append(rt.SERVICE, rt.mail(jon, rt.SERVICE, "mine", "jon reused an old id\n", msgid="ash.1@example.net"))
    s.poll()
    check("g: a different message with a Message-ID known by an old key is forwarded",
          len(s.wait_forward("jon reused an old id")) == 1)


def main():
    with Sandbox() as sb:
        s = Suite(sb)
        rt.run_parts(s, reply_in_reply_to_only, reply_references_only_autoreply, out_of_office_answers_autoreply,
                     shared_message_id, same_message_twice, rescan, old_database)
    done()


if __name__ == "__main__":
    main()
