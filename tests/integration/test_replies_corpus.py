"""The reply-cleaning corpus end to end, on real Dovecot and Postfix.

A young person writes (tests/replies/young.txt); the advisers get the forward,
which must be the text the unit test cleans against (tests/replies/forward.txt).
Then every reply of the corpus (tests/replies/cases: the raw email as a mail
client writes it, with the forward's reference, reply address and Message-ID
filled in) lands in the relay's inbox at once and one poll handles them all, so
that each is cleaned against the forward, the young person's message and every
reply and receipt before it. Each case is then read where the young person
receives it: the reply in their mailbox must say exactly the case's text, or,
for a case that must be held, nothing reaches them and the adviser gets
email/cleaning_held with what would have been sent.

RELAY_TEST_QUICK=1 (the valgrind run) takes every fifth case.
"""
import base64
import email
import email.policy
import os
import quopri
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from lib import Sandbox, check, done, _quote  # noqa: E402
import relaytest as rt  # noqa: E402

YOUNG = "sam.young@example.net"
CORPUS = os.path.join(rt.ROOT, "tests", "replies")
MARK = re.compile(rb"\r\n%%%% (sent|held) %%%%\r\n")


def read_cases():
    """[(name, raw bytes with placeholders, "sent"|"held", want text)]"""
    out = []
    d = os.path.join(CORPUS, "cases")
    for name in sorted(os.listdir(d)):
        if not name.endswith(".eml"):
            continue
        data = open(os.path.join(d, name), "rb").read()
        while data.startswith(b"#"):
            data = data.split(b"\n", 1)[1]
        m = MARK.search(data)
        want = data[m.end():].decode("utf-8").replace("\r\n", "\n").rstrip("\n")
        out.append((name, data[:m.start()] + b"\r\n", m.group(1).decode(), want))
    return out


def fill(text, values):
    for k, v in values.items():
        text = text.replace("{{" + k + "}}", v)
    return text


def filled_message(raw, values):
    """The case's email with the placeholders filled in: in the headers as
    written, in each part's decoded text, which is encoded again as the client
    encoded it."""
    head, body = raw.split(b"\r\n\r\n", 1)
    msg = email.message_from_bytes(fill(head.decode("ascii"), values).encode() + b"\r\n\r\n" + body,
                                   policy=email.policy.compat32)
    for part in msg.walk():
        if part.is_multipart():
            continue
        charset = part.get_content_charset() or "us-ascii"
        text = fill(part.get_payload(decode=True).decode(charset), values).encode(charset)
        cte = (part["Content-Transfer-Encoding"] or "8bit").lower()
        if cte == "base64":
            payload = base64.encodebytes(text).decode()
        elif cte == "quoted-printable":
            payload = quopri.encodestring(text).decode()
        else:
            payload = text.decode("ascii", "surrogateescape")   # written back as these bytes
        part.set_payload(payload)
    return msg.as_bytes(policy=email.policy.compat32.clone(linesep="\r\n"))


def text_of(msg):
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content().replace("\r\n", "\n") if part else ""


def wait_for(sb, user, count, what):
    """user's messages once there are count of them (failing the check when
    they do not come)"""
    try:
        return sb.wait_for(user, count, timeout=60)
    except TimeoutError as e:
        check(what, False, str(e).split("\n")[0])
        return sb.messages(user)


def poll_until_sent(conf, db, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        r = rt.relay(conf, "poll", timeout=timeout)
        check("relay poll exits 0", r.returncode == 0, r.stderr[-2000:])
        pending = db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
        if pending == 0 or time.monotonic() > deadline or r.returncode != 0:
            return pending
        time.sleep(0.5)


def main():
    cases = read_cases()
    check("the corpus holds at least 200 cases", len(cases) >= 200, len(cases))
    if os.environ.get("RELAY_TEST_QUICK"):
        cases = cases[::5]
    with Sandbox() as sb:
        work = os.path.join(sb.dir, "relay")
        conf = rt.make_config(sb, work)
        # one adviser hears of each reply: half the receipts to deliver
        rt.edit_config(conf, "forward_to = " + ", ".join(rt.ADVISERS), "forward_to = " + rt.ADVISERS[0])
        db = rt.db(conf)

        # --- the young person writes; the forward is the corpus's history --------
        young = open(os.path.join(CORPUS, "young.txt"), encoding="utf-8").read()
        sb.send(YOUNG, [rt.SERVICE], rt.mail(f"Sam <{YOUNG}>", rt.SERVICE, "Can I talk to someone", young,
                                             msgid="corpus.first@example.net"))
        sb.wait_for(rt.SERVICE, 1)
        r = rt.relay(conf, "poll")
        check("first poll exits 0", r.returncode == 0, r.stderr[-2000:])
        fwd = sb.wait_for(rt.ADVISERS[0], 1)[0]
        sb.wait_for(YOUNG, 1)
        body = text_of(fwd).rstrip("\n")
        ref = re.search(r"Reference: (RUS-\S+)", body).group(1)
        values = {
            "reference": ref,
            "reply_to": rt.reply_tag(fwd),
            "forward_id": str(fwd["Message-ID"]).strip("<>"),
            "received": re.search(r"^Received:  (.*)$", body, re.M).group(1),
            "contact": re.search(r"^From:      (.*)$", body, re.M).group(1),
        }
        forward = fill(open(os.path.join(CORPUS, "forward.txt"), encoding="utf-8").read(), values).rstrip("\n")
        check("the forward is tests/replies/forward.txt (the unit test's history)", body == forward,
              f"got:\n{body}\nwant:\n{forward}")

        # --- every reply at once, one poll ----------------------------------------
        conn = sb.imap(rt.SERVICE)
        try:
            for name, raw, outcome, want in cases:
                typ, data = conn.append(_quote("INBOX"), None, None, rt.stamped(filled_message(raw, values)))
                check(f"{name}: appended", typ == "OK", data)
        finally:
            conn.logout()
        t0 = time.monotonic()
        pending = poll_until_sent(conf, db)
        check("every reply, receipt and notice sent", pending == 0, pending)
        print(f"corpus: {len(cases)} replies handled and sent in {time.monotonic() - t0:.1f} s")

        # --- each case where the young person receives it -----------------------
        sent = [c for c in cases if c[2] == "sent"]
        print("transcript:", db.execute("SELECT kind, count(*) FROM message GROUP BY kind").fetchall())
        for mid, detail in db.execute("SELECT message_id, detail FROM message WHERE kind = 'held'"):
            print("held:", mid, detail)
        print("outbox:", db.execute("SELECT kind, state, count(*) FROM outbox GROUP BY kind, state").fetchall())
        inbox = wait_for(sb, YOUNG, 1 + len(sent), "every reply to be sent reached the young person")
        print(f"corpus: delivered to the young person's mailbox {time.monotonic() - t0:.1f} s after the poll began")
        by_id = {str(m["Message-ID"]).strip("<>"): m for m in inbox}
        held = sum(1 for c in cases if c[2] == "held")
        notices = wait_for(sb, rt.ADVISERS[0], 1 + len(sent) + held,   # the forward, receipts, notices
                           "the adviser got the forward, a receipt for each reply sent and a notice for each held")
        right = 0
        for name, raw, outcome, want in cases:
            n = int(name[:3])
            row = db.execute("SELECT id, kind, detail FROM message WHERE message_id = ?",
                             (f"corpus-{n:03d}@example.org",)).fetchone()
            if not row:
                check(f"{name}: recorded", False)
                continue
            out = db.execute("SELECT message_id FROM outbox WHERE message = ? AND kind = 'reply'",
                             (row[0],)).fetchone()
            if outcome == "sent":
                got = text_of(by_id[out[0]]) if out and out[0] in by_id else None
                text = got.split("\n\nR-U-Safe?\n\nIf you are in danger", 1)[0] if got else None
                ok = row[1] == "reply" and text == want
                check(f"{name}: the young person receives exactly the adviser's words", ok,
                      f"kind {row[1]} ({row[2]}); got:\n{text}\nwant:\n{want}")
            else:
                told = [m for m in notices if "was NOT sent to the young person" in text_of(m) and
                        "would have been sent:\n" + "-" * 72 + "\n" + want + "\n" + "-" * 72
                        in text_of(m)]
                ok = row[1] == "held" and out is None and len(told) >= 1
                check(f"{name}: held, nothing sent, the adviser told what would have been sent", ok,
                      f"kind {row[1]} ({row[2]}); notices {len(told)}")
            right += ok
        print(f"corpus: {right} of {len(cases)} cases right end to end")
        check("the adviser's notices are the cleaning_held template",
              sum(1 for m in notices if "Your reply was held: please check it" in str(m["Subject"]) or
                  "was NOT sent to the young person" in text_of(m)) >= held)

        # --- urgent triage reads all of the young person's message ----------------
        # An adviser's words come back quoted: what the relay sent them is not
        # the young person's, even where it names a danger.
        tag = values["reply_to"]
        conn = sb.imap(rt.SERVICE)
        try:
            conn.append(_quote("INBOX"), None, None, rt.stamped(rt.mail(
                rt.ADVISERS[0], tag, f"RE: [{ref}] New message by email",
                "If he's outside your house again, call 999 straight away.\n", msgid="corpus.triage.1@example.org",
                in_reply_to=values["forward_id"])))
        finally:
            conn.logout()
        poll_until_sent(conf, db)
        urgent_before = len(sb.messages(rt.URGENT))

        def young_writes(n, text):
            sb.send(YOUNG, [rt.SERVICE], rt.mail(f"Sam <{YOUNG}>", rt.SERVICE, f"Re: [{ref}] Can I talk to someone",
                                                 text, msgid=f"corpus.young.{n}@example.net",
                                                 in_reply_to="corpus.first@example.net"))
            sb.wait_for(rt.SERVICE, len(cases) + 2 + n)
            poll_until_sent(conf, db)
            return db.execute("SELECT urgent FROM conversation WHERE ref = ?", (ref,)).fetchone()[0]

        urgent = young_writes(1, "ok thanks\n\nOn Sat, 21 Nov 2026 at 10:30, R-U-Safe? <rusafe@example.org> wrote:\n"
                                 "> If he's outside your house again, call 999 straight away.\n>\n> R-U-Safe?\n")
        check("triage: the adviser's words quoted back do not make it urgent", not urgent)
        urgent = young_writes(2, "this is what i sent my friend last night\n\n> i want to die and nobody would care\n")
        check("triage: words under '>' in a young person's message make it urgent", urgent)
        try:
            got = sb.wait_for(rt.URGENT, urgent_before + 1, timeout=20)
        except TimeoutError:
            got = sb.messages(rt.URGENT)
        check("triage: the urgent forward goes to the on-call address", len(got) == urgent_before + 1,
              [m["Subject"] for m in got])
        db.close()
    done()


if __name__ == "__main__":
    main()
