"""One message must never stop the line (issue 16): each received message is
handled on its own, and one that cannot be handled is set aside — kept as
received with its reason, forwarded to the advisers marked "could not be
handled automatically", acknowledged — while the rest of its batch is
handled as usual; `relay retry REF` hands it back once the cause is fixed.

The failure used here is one a service manager can cause on a live line: an
auto-reply template edited with a mistake (an unknown placeholder), which
only the messages that need that auto-reply run into. On the relay before
this change one such message rolled back its whole batch, and every poll
after stopped at it. Real Dovecot and Postfix, and the Twilio double."""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "doubles"))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402
from sms_gateway import Gateway  # noqa: E402

FIRST = "first.writer@example.net"      # writes before the mistake, and again after it
NEW = "new.writer@example.net"          # first writes after it: needs the broken auto-reply
ODD = '"sam young"@example.org'          # an odd but legal address in the same batch
TWILIO_SID = "AC" + "0" * 32
AUTOREPLIES = ("first_contact", "out_of_hours", "urgent")


def poll(conf, what):
    r = rt.relay(conf, "poll")
    check(f"{what}: relay poll exits 0", r.returncode == 0, r.stderr[-2000:])
    return r


def break_templates(tdir, channel):
    for name in AUTOREPLIES:
        with open(os.path.join(tdir, channel, name + ".txt"), "a") as f:
            f.write("\n{{no_such_placeholder}}\n")


def mend_templates(tdir, channel):
    for name in AUTOREPLIES:
        shutil.copy(os.path.join(rt.ROOT, "templates", channel, name + ".txt"), os.path.join(tdir, channel))


def subjects(sb, user, since):
    return [str(m["Subject"]) for m in sb.messages(user)[since:]]


def unseen(sb):
    conn = sb.imap(rt.SERVICE)
    try:
        conn.select("INBOX", readonly=True)
        typ, data = conn.uid("SEARCH", "UNSEEN")
        return data[0].split()
    finally:
        conn.logout()


def email_part(sb, work, conf, tdir):
    adviser = rt.ADVISERS[0]
    # Before the mistake: FIRST writes and is answered as usual.
    sb.append(rt.SERVICE, rt.mail(FIRST, rt.SERVICE, "hello", "Can I ask something?\n", msgid="a1@example.net"))
    poll(conf, "before")
    fwd_first = sb.wait_for(adviser, 1)[-1]
    sb.wait_for(FIRST, 1)
    seen = len(sb.messages(adviser))

    # The mistake, then one batch: a new writer (needs the broken auto-reply),
    # FIRST again (no auto-reply due), an adviser's answer to FIRST, an odd address.
    break_templates(tdir, "email")
    sb.append(rt.SERVICE, rt.mail(NEW, rt.SERVICE, "please help", "Token NEW-ONE: I don't feel safe.\n",
                                  msgid="b1@example.net"))
    sb.append(rt.SERVICE, rt.mail(FIRST, rt.SERVICE, "Re: hello", "Token FIRST-TWO: it's about school.\n",
                                  msgid="a2@example.net"))
    tag = rt.reply_tag(fwd_first)
    sb.append(rt.SERVICE, rt.stamped(rt.mail(adviser, tag, "RE: " + str(fwd_first["Subject"]), "Token ADVISER: of course.\n",
                                             in_reply_to=str(fwd_first["Message-ID"]).strip("<>"))))
    sb.append(rt.SERVICE, rt.mail(ODD, rt.SERVICE, "odd", "Token ODD-ONE: hi\n", msgid="c1@example.net"))
    r = poll(conf, "the mixed batch")
    check("the set-aside message is logged as such", "could not be handled automatically" in r.stderr,
          r.stderr[-2000:])

    got = sb.wait_for(adviser, seen + 4)   # NEW set aside, FIRST's forward, the receipt, ODD
    new_subjects = [str(m["Subject"]) for m in got[seen:]]
    aside = [m for m in got[seen:] if "Could not be handled automatically" in str(m["Subject"])]
    check("the advisers get one set-aside forward", len(aside) >= 1, new_subjects)
    if aside:
        body = rt.body(aside[0])
        check("set-aside forward says why (the template's mistake)", "no_such_placeholder" in
              str(aside[0]["Subject"]) + body, str(aside[0]["Subject"]))
        check("set-aside forward shows what could be read", "Token NEW-ONE" in body, body[:2000])
        check("set-aside forward quotes the message as it arrived", "Message-ID: <b1@example.net>" in body,
              body[:3000])
        check("set-aside forward masks the contact", NEW not in body.split("The message as it arrived")[0],
              body[:600])
        check("set-aside forward can be answered (signed reply tag)", "rusafe+RUS-" in str(aside[0]["Reply-To"]))
    bodies = "\n".join(rt.body(m) for m in got[seen:])
    check("FIRST's message in the same batch is forwarded", "Token FIRST-TWO" in bodies, new_subjects)
    check("the odd address's message in the same batch is forwarded", "Token ODD-ONE" in bodies, new_subjects)
    young = sb.wait_for(FIRST, 2)
    check("the adviser's answer in the same batch reaches the young person",
          "Token ADVISER" in rt.body(young[-1]), rt.body(young[-1])[:500])
    check("nothing is left unseen on the server", unseen(sb) == [], unseen(sb))
    check("the new writer got no broken auto-reply", len(sb.messages(NEW)) == 0)

    db = rt.db(conf)
    rows = db.execute("SELECT m.id, m.detail, c.ref, m.raw FROM message m JOIN conversation c "
                      "ON c.id = m.conversation_id WHERE m.kind = 'setaside'").fetchall()
    new = [row for row in rows if b"Token NEW-ONE" in row[3]]
    check("the new writer's message is set aside, kept as received", len(new) == 1, [r[:3] for r in rows])
    ref = new[0][2] if new else "RUS-?????"
    check("its reason is kept", bool(new) and "no_such_placeholder" in (new[0][1] or ""), [r[:3] for r in rows])
    check("its reason names no reference that was undone", bool(new) and not (new[0][1] or "").startswith("RUS-"),
          [r[:3] for r in rows])
    check("nothing else is set aside but (before its fix) the odd address",
          all(b"Token NEW-ONE" in row[3] or b"Token ODD-ONE" in row[3] for row in rows), [r[:3] for r in rows])
    db.close()

    # Not taken again, not retried on its own.
    before = len(sb.messages(adviser))
    poll(conf, "the next poll")
    check("the next poll forwards nothing again", len(sb.messages(adviser)) == before)

    r = rt.relay(conf, "list")
    line = [ln for ln in r.stdout.splitlines() if ln.startswith(ref)]
    check("relay list flags the conversation as set-aside", bool(line) and "set-aside" in line[0], r.stdout)
    r = rt.relay(conf, "show", ref)
    check("relay show shows the set-aside entry", "SET ASIDE" in r.stdout, r.stdout)

    # Retry while the cause is still there: it stays set aside.
    r = rt.relay(conf, "retry", ref)
    check("relay retry with the cause unfixed exits 1", r.returncode == 1, r.stdout + r.stderr)
    check("... and says it still cannot be handled", "still cannot" in r.stdout, r.stdout)

    # Mended: relay retry hands it back.
    mend_templates(tdir, "email")
    r = rt.relay(conf, "retry", ref)
    check("relay retry exits 0 once the cause is fixed", r.returncode == 0, r.stdout + r.stderr)
    check("relay retry says one was handled", "1 set-aside message handled now" in r.stdout, r.stdout)
    auto = sb.wait_for(NEW, 1)
    check("the young person now gets the auto-reply", "999" in rt.body(auto[-1]), rt.body(auto[-1])[:300])
    got = sb.wait_for(adviser, before + 1)
    check("the advisers now get the ordinary forward", "Token NEW-ONE" in rt.body(got[-1]) and
          "New message by email" in str(got[-1]["Subject"]), str(got[-1]["Subject"]))
    db = rt.db(conf)
    kinds = [k for (k,) in db.execute("SELECT m.kind FROM message m JOIN conversation c ON c.id = m.conversation_id "
                                      "WHERE c.ref = ? ORDER BY m.id", (ref,))]
    db.close()
    check("the set-aside entry is marked retried and the message handled", kinds[:2] == ["retried", "inbound"], kinds)
    r = rt.relay(conf, "retry", ref)
    check("a second retry has nothing to do", r.returncode == 0 and "nothing is set aside" in r.stdout, r.stdout)
    r = rt.relay(conf, "retry", "RUS-ZZZZZ")
    check("retry of an unknown reference exits 1", r.returncode == 1, r.stdout + r.stderr)


def text_part(sb, work, tdir):
    adviser = rt.ADVISERS[0]
    with Gateway("twilio", username=TWILIO_SID, password="tok", account=TWILIO_SID,
                 number="+447700900000") as gw:
        conf = rt.make_config(sb, work, templates=tdir, extra=rt.twilio_section(gw, work, TWILIO_SID))
        seen = len(sb.messages(adviser))
        gw.add_inbound("07700 900111", "Token SMS-FIRST hello")
        poll(conf, "texts before")
        sb.wait_for(adviser, seen + 1)
        seen += 1
        check("texts: the first number gets its auto-reply", len(gw.sent) == 1, gw.sent)

        break_templates(tdir, "sms")
        gw.add_inbound("07700 900222", "Token SMS-NEW are you there")
        gw.add_inbound("07700 900111", "Token SMS-AGAIN me again")
        poll(conf, "texts with the mistake")
        got = sb.wait_for(adviser, seen + 2)
        bodies = "\n".join(str(m["Subject"]) + rt.body(m) for m in got[seen:])
        check("texts: the one that cannot be handled is forwarded as set aside",
              "Could not be handled automatically" in bodies and "Token SMS-NEW" in bodies, bodies[:1500])
        check("texts: the other text of the same poll is forwarded", "Token SMS-AGAIN" in bodies, bodies[:1500])
        check("texts: no broken auto-reply is sent", len(gw.sent) == 1, gw.sent)
        before = len(sb.messages(adviser))
        poll(conf, "texts, next poll")
        check("texts: the gateway's texts are not taken again", len(sb.messages(adviser)) == before)
        db = rt.db(conf)
        ref = db.execute("SELECT c.ref FROM message m JOIN conversation c ON c.id = m.conversation_id "
                         "WHERE m.kind = 'setaside' AND m.channel = 'sms'").fetchone()
        db.close()
        check("texts: the text is kept set aside", ref is not None)
        mend_templates(tdir, "sms")
        r = rt.relay(conf, "retry", ref[0] if ref else "RUS-?????")
        check("texts: relay retry hands it back", r.returncode == 0, r.stdout + r.stderr)
        check("texts: the young person now gets the auto-reply", len(gw.sent) == 2 and
              gw.sent[-1]["to"].endswith("7700900222"), gw.sent)


def old_templates_part(sb, work, tdir):
    """A templates directory copied before email/set_aside existed: the
    set-aside message still reaches the advisers, with the ordinary
    forward and a note, and the line goes on."""
    adviser = rt.ADVISERS[1]
    os.remove(os.path.join(tdir, "email", "set_aside.txt"))
    break_templates(tdir, "email")
    conf = rt.make_config(sb, work, templates=tdir)
    seen = len(sb.messages(adviser))
    sb.append(rt.SERVICE, rt.mail("old.dir@example.net", rt.SERVICE, "hi", "Token OLD-DIR hello\n",
                                  msgid="old1@example.net"))
    poll(conf, "old templates")
    got = sb.wait_for(adviser, seen + 1)
    body = rt.body(got[-1])
    check("old templates: the message is forwarded with the ordinary template", "Token OLD-DIR" in body and
          "New message by email" in str(got[-1]["Subject"]), str(got[-1]["Subject"]))
    check("old templates: the forward says it could not be handled automatically",
          "could not be handled automatically" in body, body[:800])
    db = rt.db(conf)
    n = db.execute("SELECT count(*) FROM message WHERE kind = 'setaside'").fetchone()[0]
    db.close()
    check("old templates: it is kept set aside", n == 1, n)
    check("old templates: nothing is left unseen", unseen(sb) == [], unseen(sb))


def main():
    with Sandbox() as sb:
        work = os.path.join(sb.dir, "relay")
        tdir = os.path.join(sb.dir, "templates")
        shutil.copytree(os.path.join(rt.ROOT, "templates"), tdir)
        conf = rt.make_config(sb, work, templates=tdir)
        try:
            email_part(sb, work, conf, tdir)
        except Exception as e:  # one part's failure must not hide the other's
            check("email part ran to the end", False, repr(e))
        try:
            text_part(sb, os.path.join(sb.dir, "relay-sms"), tdir)
        except Exception as e:
            check("text part ran to the end", False, repr(e))
        old = os.path.join(sb.dir, "templates-old")
        shutil.copytree(os.path.join(rt.ROOT, "templates"), old)
        try:
            old_templates_part(sb, os.path.join(sb.dir, "relay-old"), old)
        except Exception as e:
            check("old templates part ran to the end", False, repr(e))
    done()


if __name__ == "__main__":
    main()
