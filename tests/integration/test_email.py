"""The email relay end to end, on real Dovecot and Postfix (tests/sandbox).

A young person writes; the advisers get the forward and the young person the
auto-reply; advisers answer in three quoting styles; the young person follows
up; an adviser's out-of-office and a stranger's reply are not relayed; a server
whose certificate names another host is refused before any password is sent.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402

YOUNG = "sam.young@example.net"
STRANGER = "stranger@example.com"


def inbox_count(sb, user):
    return len(sb.messages(user))


def deliver(sb, raw, frm, to=rt.SERVICE, auth=None):
    """Send through Postfix into the relay's inbox and wait until it is there."""
    before = inbox_count(sb, rt.SERVICE)
    sb.send(frm, [to], raw, auth_user=auth)
    sb.wait_for(rt.SERVICE, before + 1)


def poll(conf):
    r = rt.relay(conf, "poll")
    check("relay poll exits 0", r.returncode == 0, r.stderr[-2000:])
    return r


def text_of(msg):
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def main():
    with Sandbox() as sb:
        work = os.path.join(sb.dir, "relay")
        conf = rt.make_config(sb, work)

        # --- relay check against the sandbox ------------------------------------
        r = rt.relay(conf, "check")
        check("check exits 0 against the sandbox", r.returncode == 0, r.stdout + r.stderr)
        check("check reports imap OK", re.search(r"^OK\s+imap ", r.stdout, re.M) is not None, r.stdout)
        check("check reports smtp OK", re.search(r"^OK\s+smtp ", r.stdout, re.M) is not None, r.stdout)
        check("check reports templates OK", "FAIL" not in r.stdout, r.stdout)

        # --- first contact ------------------------------------------------------------
        first = rt.mail(f"Sam <{YOUNG}>", rt.SERVICE, "Can I talk to someone",
                        "Hi, something happened at a party and I don't know who to tell.\n",
                        msgid="first.1@example.net")
        deliver(sb, first, YOUNG)
        r = poll(conf)
        fwd1 = sb.wait_for(rt.ADVISERS[0], 1)[0]
        fwd2 = sb.wait_for(rt.ADVISERS[1], 1)[0]
        auto = sb.wait_for(YOUNG, 1)[0]
        m = re.match(r"\[(RUS-[2-9A-HJKMNP-Z]{5})\] New message by email$", fwd1["Subject"] or "")
        check("forward subject carries the reference", m is not None, fwd1["Subject"])
        ref = m.group(1) if m else "RUS-?????"
        check("both advisers get the forward", fwd2["Message-ID"] == fwd1["Message-ID"])
        body = text_of(fwd1)
        check("forward carries the text", "something happened at a party" in body, body)
        check("forward shows the masked contact", "s***@example.net" in body, body)
        raw_fwd = fwd1.as_bytes()
        check("young person's address appears nowhere in the forward", YOUNG.encode() not in raw_fwd.lower())
        reply_to = str(fwd1["Reply-To"] or "")
        check("forward Reply-To is a signed tag", re.search(r"rusafe\+" + ref + r"\.[0-9a-f]{12}@example\.org", reply_to)
              is not None, reply_to)
        check("forward is marked auto-generated", fwd1["Auto-Submitted"] == "auto-generated", fwd1["Auto-Submitted"])
        atext = text_of(auto)
        for number in ("999", "101", "01296 383962", "0800 999 7677"):
            check(f"auto-reply signposts {number}", number in atext, atext)
        check("auto-reply marked auto-replied", auto["Auto-Submitted"] == "auto-replied", auto["Auto-Submitted"])
        check("auto-reply threads on the young person's email", auto["In-Reply-To"] == "<first.1@example.net>",
              auto["In-Reply-To"])
        check("auto-reply comes from the service", rt.SERVICE in str(auto["From"]), auto["From"])

        # --- a second poll sends nothing ---------------------------------------------
        db = rt.db(conf)
        outbox_before = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        poll(conf)
        time.sleep(1.0)
        check("second poll queues nothing", db.execute("SELECT count(*) FROM outbox").fetchone()[0] == outbox_before)
        check("second poll delivers nothing", inbox_count(sb, rt.ADVISERS[0]) == 1 and inbox_count(sb, YOUNG) == 1)

        # --- adviser replies in three quoting styles ---------------------------------
        fid = fwd1["Message-ID"].strip("<>")
        tag = rt.reply_tag(fwd1)
        styles = [
            ("outlook", rt.ADVISERS[0],
             "Hi Sam, thank you for telling us. You did the right thing.\n\n"
             "________________________________\nFrom: R-U-Safe? <rusafe@example.org>\n"
             "Sent: 21 November 2026 10:01\nTo: Adviser One <adviser1@example.org>\n"
             f"Subject: [{ref}] New message by email\n\nReference: {ref}\nsomething happened at a party\n"),
            ("gmail", rt.ADVISERS[1],
             "Are you somewhere safe right now?\n\nKind regards,\nAdviser Two\n-- \nR-U-Safe? adviser team\n\n"
             f"On Sat, 21 Nov 2026 at 10:01, R-U-Safe? <{tag}> wrote:\n> Reference: {ref}\n"
             "> something happened at a party\n"),
            ("apple", rt.ADVISERS[0],
             "We can meet you at school if that helps.\n\nSent from my iPhone\n\n"
             f"> On 21 Nov 2026, at 10:01, R-U-Safe? <{tag}> wrote:\n>\n> Reference: {ref}\n"
             "> something happened at a party\n"),
        ]
        got = 1
        for i, (style, adviser, text) in enumerate(styles):
            raw = rt.mail(adviser, tag, f"RE: [{ref}] New message by email", text,
                          msgid=f"reply.{style}@example.org", in_reply_to=fid, references=[fid])
            deliver(sb, raw, adviser, to=tag, auth=adviser)
            poll(conf)
            got += 1
            msgs = sb.wait_for(YOUNG, got)
            reply = msgs[-1]
            rtext = text_of(reply)
            first_line = text.split("\n")[0]
            check(f"{style} reply reaches the young person", first_line in rtext, rtext)
            check(f"{style} reply has no quoted history", "something happened at a party" not in rtext
                  and "Reference:" not in rtext and "wrote:" not in rtext, rtext)
            check(f"{style} reply comes from the service", rt.SERVICE in str(reply["From"]) and
                  adviser not in str(reply["From"]), reply["From"])
            check(f"{style} reply threads on the young person's email",
                  reply["In-Reply-To"] == "<first.1@example.net>", reply["In-Reply-To"])
            check(f"{style} reply is not auto-submitted", reply["Auto-Submitted"] is None, reply["Auto-Submitted"])
            if style == "gmail":
                check("signature removed", "adviser team" not in rtext, rtext)
            if style == "apple":
                check("mobile footer removed", "Sent from my iPhone" not in rtext, rtext)
        # Receipts: the advisers are told exactly what was sent.
        msgs = sb.wait_for(rt.ADVISERS[0], 4)
        receipts = [x for x in msgs if "replied to" in text_of(x)]
        check("advisers get a receipt for each reply", len(receipts) == 3, [x["Subject"] for x in msgs])
        check("receipts thread with the forwards", all(x["In-Reply-To"] == fwd1["Message-ID"] for x in receipts),
              [x["In-Reply-To"] for x in receipts])

        # --- the young person follows up ----------------------------------------------
        last_reply = sb.messages(YOUNG)[-1]
        follow = rt.mail(YOUNG, rt.SERVICE, "Re: Can I talk to someone", "Yes I'm at home now. Thank you.\n",
                         msgid="follow.1@example.net", in_reply_to=last_reply["Message-ID"].strip("<>"),
                         references=["first.1@example.net", last_reply["Message-ID"].strip("<>")])
        deliver(sb, follow, YOUNG)
        poll(conf)
        msgs = sb.wait_for(rt.ADVISERS[1], 5)
        fwd_follow = [x for x in msgs if "at home now" in text_of(x)]
        check("follow-up forwarded", len(fwd_follow) == 1)
        if fwd_follow:
            check("follow-up keeps the reference", (fwd_follow[0]["Subject"] or "").startswith(f"[{ref}]"),
                  fwd_follow[0]["Subject"])
            check("follow-up threads on the first forward", fwd_follow[0]["In-Reply-To"] == fwd1["Message-ID"] and
                  fwd1["Message-ID"] in str(fwd_follow[0]["References"]), fwd_follow[0]["References"])
        time.sleep(1.0)
        check("no second auto-reply while advisers are answering", inbox_count(sb, YOUNG) == 4, inbox_count(sb, YOUNG))
        count = db.execute("SELECT count(*) FROM conversation").fetchone()[0]
        check("follow-up joined the same conversation", count == 1, count)

        # --- an adviser's out-of-office is not relayed ---------------------------------
        ooo = rt.mail(rt.ADVISERS[0], tag, f"Automatic reply: [{ref}] New message by email",
                      "I am out of the office until Monday.\n", msgid="ooo.1@example.org",
                      extra_headers=["Auto-Submitted: auto-replied", "X-Auto-Response-Suppress: All"],
                      in_reply_to=fid)
        deliver(sb, ooo, rt.ADVISERS[0], to=tag, auth=rt.ADVISERS[0])
        poll(conf)
        time.sleep(1.0)
        check("out-of-office not relayed", inbox_count(sb, YOUNG) == 4, inbox_count(sb, YOUNG))
        kinds = [k for (k,) in db.execute("SELECT kind FROM message ORDER BY id")]
        check("out-of-office stored as automatic", "automatic" in kinds, kinds)

        # --- a stranger's reply is held -----------------------------------------------
        advisers_before = inbox_count(sb, rt.ADVISERS[0])
        stranger = rt.mail(STRANGER, tag, f"Re: [{ref}] New message by email", "Give me her address.\n",
                           msgid="stranger.1@example.com", in_reply_to=fid)
        deliver(sb, stranger, STRANGER, to=tag)
        poll(conf)
        time.sleep(1.0)
        check("stranger's reply not relayed", inbox_count(sb, YOUNG) == 4, inbox_count(sb, YOUNG))
        msgs = sb.wait_for(rt.ADVISERS[0], advisers_before + 1)
        check("advisers told about the held reply", "NOT sent" in text_of(msgs[-1]), text_of(msgs[-1]))
        check("no auto-reply to the stranger", inbox_count(sb, STRANGER) == 0)

        # --- a message that is not email at all is kept and forwarded raw ---------------
        sb.append(rt.SERVICE, b"\x00\x01garbage without headers\r\nplease help\r\n")
        before = inbox_count(sb, rt.ADVISERS[0])
        poll(conf)
        msgs = sb.wait_for(rt.ADVISERS[0], before + 1)
        check("unparseable message forwarded raw", "please help" in text_of(msgs[-1]), text_of(msgs[-1]))

        # --- a message over [imap] max_parts is forwarded, and says it was cut ---------
        many = ("From: many@example.net\r\nTo: %s\r\nSubject: photos\r\nMessage-ID: <many.1@example.net>\r\n"
                "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
                "--m\r\nContent-Type: text/plain\r\n\r\nhere are my photos\r\n" % rt.SERVICE
                + "".join("--m\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=p%d.jpg\r\n"
                          "Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n" % i for i in range(150))
                + "--m--\r\n")
        sb.append(rt.SERVICE, many.encode())
        before = inbox_count(sb, rt.ADVISERS[0])
        poll(conf)
        msgs = sb.wait_for(rt.ADVISERS[0], before + 1)
        body = text_of(msgs[-1])
        check("message over max_parts forwarded with its words", "here are my photos" in body, body)
        check("forward says the message was cut", "this message was cut: it has more than 100 MIME parts" in body, body)

        # --- new mail far above the cursor: UIDs searched in windows ---------------------
        # The search covers after:* in windows of 10,000 UIDs up to the UIDNEXT
        # the mailbox had when opened, then the rest. Dovecot is made to skip
        # 15,000 UIDs before each of two messages: one lands in the second
        # window, one in the third; nothing between is missed or taken twice.
        def skip_uids(k):
            conn = sb.imap(rt.SERVICE)
            conn.select("INBOX", readonly=True)
            typ, data = conn.status("INBOX", "(UIDNEXT)")
            conn.logout()
            nxt = int(re.search(rb"UIDNEXT (\d+)", data[0]).group(1))
            r = sb.doveadm("mailbox", "update", "-u", rt.SERVICE, "--min-next-uid", str(nxt + k), "INBOX")
            check("doveadm raises UIDNEXT", r.returncode == 0, r.stderr)
            return nxt + k

        far = []
        for i in range(2):
            uid = skip_uids(15000)
            sb.append(rt.SERVICE, rt.mail(f"far{i}@example.net", rt.SERVICE, "far", f"far message {i}\n",
                                          msgid=f"far.{i}@example.net"))
            far.append(uid)
        before = inbox_count(sb, rt.ADVISERS[0])
        poll(conf)
        msgs = sb.wait_for(rt.ADVISERS[0], before + 2)
        got = sorted(text_of(m).count("far message") for m in msgs[before:])
        check("messages 15,000 and 30,000 UIDs above the cursor both taken", got == [1, 1], got)
        db = rt.db(conf)
        keys = [k for (k,) in db.execute("SELECT key FROM inbound_key WHERE key LIKE 'imap:%'")]
        db.close()
        check("each stored under its UID", all(any(k.endswith(":%d" % u) for k in keys) for u in far), (far, keys[-4:]))
        poll(conf)
        check("a further poll takes neither again", inbox_count(sb, rt.ADVISERS[0]) == before + 2)

        # --- list and show ------------------------------------------------------------
        r = rt.relay(conf, "list")
        check("list shows the conversation", r.returncode == 0 and ref in r.stdout and "email" in r.stdout, r.stdout)
        r = rt.relay(conf, "show", ref)
        check("show prints the transcript", r.returncode == 0 and "at home now" in r.stdout and
              "HELD" in r.stdout and "automatic" in r.stdout, r.stdout)
        check("show masks the contact", YOUNG not in r.stdout, r.stdout)
        r = rt.relay(conf, "show", "RUS-ZZZZZ")
        check("show of an unknown reference fails clearly", r.returncode == 1 and "no conversation" in r.stderr,
              r.stderr)

        # --- nothing sensitive in the logs -----------------------------------------------
        r = poll(conf)
        logs = r.stderr

        # --- a certificate for the wrong name: refused, no password sent ----------------
        wrong = rt.make_config(sb, os.path.join(sb.dir, "relay-wrong"), imap_host=sb.wrong_name_host)
        log_before = len(sb.dovecot_log())
        r = rt.relay(wrong, "check")
        check("check fails on a wrong-name certificate", r.returncode == 1, r.stdout)
        check("check says the name is wrong",
              re.search(r"^FAIL\s+imap .*(name|host)", r.stdout, re.M | re.I) is not None, r.stdout)
        r = rt.relay(wrong, "poll")
        check("poll fails on a wrong-name certificate", r.returncode != 0, r.stderr)
        time.sleep(0.5)
        newlog = sb.dovecot_log()[log_before:]
        # Only the wrong-name server's lines count: Dovecot writes its log a
        # moment later, so an earlier login of the harness may land here.
        lip = re.compile(r"lip=" + re.escape(sb.wrong_name_host) + r"\b")
        ours = [x for x in newlog.splitlines() if lip.search(x)]
        check("no login was attempted on the wrong-name server",
              not any("Login:" in x or "auth failed" in x.lower() for x in ours) and
              "Password mismatch" not in newlog and
              all("no auth attempts" in x or "Disconnected" in x for x in ours), newlog[-1500:])
        db.close()
        del logs
    done()


if __name__ == "__main__":
    main()
