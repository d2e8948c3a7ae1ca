"""The safeguarding policy end to end on real Dovecot and Postfix (and the
Twilio double): office hours at the acceptance times, urgent triage, adviser
commands (#note, #close then a new message, #block, an unknown command), and
a loop test against a responder that answers everything."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "doubles"))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402
from sms_gateway import Gateway  # noqa: E402

SID = "AC" + "1" * 32
# Europe/London times of the acceptance cases, as unix seconds.
THU_1731 = 1795109460      # Thursday 19 November 2026 17:31 GMT
THU_1729 = 1795109340      # Thursday 19 November 2026 17:29 GMT
JUL_1745 = 1784220300      # Thursday 16 July 2026 17:45 BST
JUL_1715 = 1784218500      # Thursday 16 July 2026 17:15 BST
DEC_28 = 1798459200        # Monday 28 December 2026 12:00 GMT (substitute bank holiday)


body = rt.body


def office_hours(sb):
    cases = [
        ("Thursday 17:31", THU_1731, "out", "tomorrow at 9am"),
        ("Thursday 17:29", THU_1729, "in", None),
        ("July Thursday 17:45 BST", JUL_1745, "out", "tomorrow at 9am"),
        ("July Thursday 17:15 BST", JUL_1715, "in", None),
        ("28 December 2026", DEC_28, "out", "tomorrow at 9am"),
    ]
    for i, (name, when, expect, next_open) in enumerate(cases):
        young = f"hours{i}@example.net"
        conf = rt.make_config(sb, os.path.join(sb.dir, f"relay-hours{i}"))
        sb.send(young, [rt.SERVICE], rt.mail(young, rt.SERVICE, "hello", "Is anyone there?\n"))
        sb.wait_for(rt.SERVICE, len(sb.messages(rt.SERVICE)))
        r = rt.relay(conf, "poll", env={"RELAY_TEST_NOW": str(when)})
        check(f"hours {name}: poll ok", r.returncode == 0, r.stderr[-800:])
        reply = body(sb.wait_for(young, 1)[-1])
        if expect == "out":
            check(f"hours {name}: the out-of-hours reply", "not working right now" in reply and "0800 999 7677" in reply,
                  reply)
            check(f"hours {name}: says when it opens ({next_open})", next_open in reply, reply)
        else:
            check(f"hours {name}: the in-hours reply", "will reply to you by email" in reply and
                  "not working right now" not in reply, reply)
        check(f"hours {name}: 999 always", "999" in reply, reply)


def urgent_text(sb):
    with Gateway("twilio", username=SID, password="tok", account=SID, number="+447700900000") as gw:
        work = os.path.join(sb.dir, "relay-urgent")
        conf = rt.make_config(sb, work, extra=rt.twilio_section(gw, work, SID))
        on_call = len(sb.messages(rt.URGENT))
        gw.add_inbound("07700 900555", "pleeease help hes outside my house")
        rt.relay(conf, "poll")
        fwd = sb.wait_for(rt.URGENT, on_call + 1)[-1]
        check("urgent: forward copied to urgent_to", fwd is not None)
        check("urgent: [URGENT] in the subject", (fwd["Subject"] or "").startswith("[URGENT] [RUS-"), fwd["Subject"])
        check("urgent: X-Priority 1", fwd["X-Priority"] == "1", fwd["X-Priority"])
        texts = [m for m in gw.sent if m["to"] == "+447700900555"]
        check("urgent: one text back at once", len(texts) == 1, texts)
        if texts:
            check("urgent: 999 first", texts[0]["body"].startswith("If you are in danger now call 999"), texts[0])
        gw.add_inbound("07700 900555", "he's still outside")
        rt.relay(conf, "poll")
        texts = [m for m in gw.sent if m["to"] == "+447700900555"]
        check("urgent: not repeated within the hour", len(texts) == 1, texts)
        later = str(int(time.time()) + 3700)
        gw.add_inbound("07700 900555", "hes outside again")
        rt.relay(conf, "poll", env={"RELAY_TEST_NOW": later})
        texts = [m for m in gw.sent if m["to"] == "+447700900555"]
        check("urgent: repeated after an hour", len(texts) == 2, texts)
        gw.add_inbound("07700 900556", "my little brother is outside in the garden")
        n = len(gw.sent)
        rt.relay(conf, "poll")
        check("near-miss: ordinary text is not urgent", "If you are in danger now" not in gw.sent[-1]["body"]
              if len(gw.sent) > n else True, gw.sent[n:])
        db = rt.db(conf)
        urgent = db.execute("SELECT count(*) FROM conversation WHERE urgent = 1").fetchone()[0]
        check("urgent: exactly one conversation marked urgent", urgent == 1, urgent)
        r = rt.relay(conf, "list")
        db.close()


def commands(sb):
    work = os.path.join(sb.dir, "relay-commands")
    conf = rt.make_config(sb, work, extra="reopen_days = 0\n".replace("reopen_days", "[policy]\nreopen_days"))
    young = "casey@example.net"
    adviser = rt.ADVISERS[0]
    sb.send(young, [rt.SERVICE], rt.mail(young, rt.SERVICE, "need advice", "Can I ask something?\n",
                                         msgid="cmd.1@example.net"))
    sb.wait_for(rt.SERVICE, len(sb.messages(rt.SERVICE)))
    rt.relay(conf, "poll")
    seen_young = len(sb.wait_for(young, 1))
    fwd = [m for m in sb.messages(adviser) if "Can I ask something" in body(m)][-1]
    ref = re.search(r"\[(RUS-\w{5})\]", fwd["Subject"]).group(1)

    def adviser_reply(text):
        rt.adviser_replies(sb, adviser, fwd, text)
        rt.relay(conf, "poll")

    # #note with an answer: the note stays with the advisers
    adviser_reply("#note Called her school, safeguarding lead informed\n\nOf course, ask away.\n")
    msgs = sb.wait_for(young, seen_young + 1)
    seen_young = len(msgs)
    check("#note: the answer reaches the young person", "ask away" in body(msgs[-1]), body(msgs[-1]))
    check("#note: the note does not", "school" not in body(msgs[-1]) and "#note" not in body(msgs[-1]),
          body(msgs[-1]))
    r = rt.relay(conf, "show", ref)
    check("#note: shown by relay show", "NOTE" in r.stdout and "safeguarding lead informed" in r.stdout, r.stdout)

    # an unknown command comes back to the adviser; nothing reaches the child
    advisers_before = len(sb.messages(adviser))
    adviser_reply("#clsoe\nBye for now\n")
    time.sleep(0.5)
    check("unknown command: nothing to the young person", len(sb.messages(young)) == seen_young)
    msgs = sb.wait_for(adviser, advisers_before + 1)
    check("unknown command: the adviser is told", "#clsoe" in body(msgs[-1]) and "NOT sent" in body(msgs[-1]),
          body(msgs[-1]))

    # #close, then the young person writes again: a new conversation naming the old one (reopen_days = 0)
    adviser_reply("#close\n")
    db = rt.db(conf)
    state = db.execute("SELECT state FROM conversation WHERE ref = ?", (ref,)).fetchone()[0]
    check("#close: conversation closed", state == "closed", state)
    time.sleep(1.1)
    advisers_before = len(sb.messages(adviser))
    sb.send(young, [rt.SERVICE], rt.mail(young, rt.SERVICE, "me again", "It's happening again.\n",
                                         msgid="cmd.2@example.net"))
    sb.wait_for(rt.SERVICE, len(sb.messages(rt.SERVICE)))
    rt.relay(conf, "poll")
    msgs = sb.wait_for(adviser, advisers_before + 1)
    new = msgs[-1]
    new_ref = re.search(r"\[(RUS-\w{5})\]", new["Subject"] or "")
    check("after #close: a new conversation", new_ref is not None and new_ref.group(1) != ref, new["Subject"])
    check("after #close: its forward names the previous reference", ref in body(new), body(new))
    check("after #close: a fresh auto-reply", len(sb.wait_for(young, seen_young + 1)) == seen_young + 1)
    seen_young = len(sb.messages(young))

    # #block: stored and shown, not forwarded or answered
    rt.adviser_replies(sb, adviser, new, "#block 7\n")
    rt.relay(conf, "poll")
    advisers_before = len(sb.messages(adviser))
    sb.send(young, [rt.SERVICE], rt.mail(young, rt.SERVICE, "hello?", "Blocked message text\n",
                                         msgid="cmd.3@example.net"))
    sb.wait_for(rt.SERVICE, len(sb.messages(rt.SERVICE)))
    rt.relay(conf, "poll")
    time.sleep(0.8)
    check("#block: not forwarded", len(sb.messages(adviser)) == advisers_before)
    check("#block: not answered", len(sb.messages(young)) == seen_young)
    stored = db.execute("SELECT count(*) FROM message WHERE body LIKE 'Blocked message text%'").fetchone()[0]
    check("#block: still stored", stored == 1, stored)
    db.close()


def lifecycle(sb):
    """#close then a message within reopen_days reopens; inactivity closes; #unblock."""
    conf = rt.make_config(sb, os.path.join(sb.dir, "relay-lifecycle"))
    young = "drew@example.net"
    adviser = rt.ADVISERS[1]
    sb.send(young, [rt.SERVICE], rt.mail(young, rt.SERVICE, "question", "First message.\n", msgid="life.1@example.net"))
    sb.wait_for(rt.SERVICE, len(sb.messages(rt.SERVICE)))
    rt.relay(conf, "poll")
    fwd = [m for m in sb.wait_for(adviser, len(sb.messages(adviser))) if "First message" in body(m)][-1]
    ref = re.search(r"\[(RUS-\w{5})\]", fwd["Subject"]).group(1)
    db = rt.db(conf)

    def command(text):
        rt.adviser_replies(sb, adviser, fwd, text)
        rt.relay(conf, "poll")

    def state():
        return db.execute("SELECT state FROM conversation WHERE ref = ?", (ref,)).fetchone()[0]

    command("#close\n")
    check("lifecycle: #close", state() == "closed", state())
    command("#reopen\n")
    check("lifecycle: #reopen", state() == "open", state())
    command("#close\n")
    sb.send(young, [rt.SERVICE], rt.mail(young, rt.SERVICE, "again", "Second message.\n", msgid="life.2@example.net"))
    sb.wait_for(rt.SERVICE, len(sb.messages(rt.SERVICE)))
    rt.relay(conf, "poll")
    check("lifecycle: writing within reopen_days reopens the same conversation", state() == "open", state())
    count = db.execute("SELECT count(*) FROM conversation WHERE contact = ?", (young,)).fetchone()[0]
    check("lifecycle: no second conversation", count == 1, count)
    command("#block\n")
    command("#unblock\n")
    advisers_before = len(sb.messages(adviser))
    sb.send(young, [rt.SERVICE], rt.mail(young, rt.SERVICE, "again", "Third message.\n", msgid="life.3@example.net"))
    sb.wait_for(rt.SERVICE, len(sb.messages(rt.SERVICE)))
    rt.relay(conf, "poll")
    check("lifecycle: after #unblock messages are forwarded again",
          any("Third message" in body(m) for m in sb.wait_for(adviser, advisers_before + 1)[advisers_before:]))
    later = str(int(time.time()) + 31 * 86400)
    rt.relay(conf, "poll", env={"RELAY_TEST_NOW": later})
    check("lifecycle: closed after 30 days without activity", state() == "closed", state())
    r = rt.relay(conf, "show", ref)
    check("lifecycle: show lists the commands", "#close" in r.stdout and "#reopen" in r.stdout and
          "#unblock" in r.stdout, r.stdout)
    db.close()


def loop(sb):
    """A responder that answers everything it receives, automatic or not, with no
    automatic headers at all: the exchange must stop by itself."""
    conf = rt.make_config(sb, os.path.join(sb.dir, "relay-loop"))
    bot = "responder@example.com"
    sb.send(bot, [rt.SERVICE], rt.mail(bot, rt.SERVICE, "Hello", "Hello from the responder\n",
                                       msgid="bot.0@example.com"))
    sb.wait_for(rt.SERVICE, len(sb.messages(rt.SERVICE)))
    answered = 0
    rounds = 0
    for rounds in range(1, 9):
        rt.relay(conf, "poll")
        time.sleep(0.6)
        inbox = sb.messages(bot)
        fresh = inbox[answered:]
        if not fresh:
            break
        for m in fresh:
            answered += 1
            before = len(sb.messages(rt.SERVICE))
            sb.send(bot, [rt.SERVICE], rt.mail(bot, rt.SERVICE, "Re: " + str(m["Subject"]),
                                               "Thank you for your message.\n", msgid=f"bot.{answered}@example.com",
                                               in_reply_to=str(m["Message-ID"]).strip("<>")))
            sb.wait_for(rt.SERVICE, before + 1)
    check("loop: the exchange stops by itself", rounds < 8, rounds)
    check("loop: the responder got exactly one auto-reply", answered == 1, answered)


def main():
    with Sandbox() as sb:
        rt.run_parts(sb, office_hours, urgent_text, commands, lifecycle, loop)
    done()


if __name__ == "__main__":
    main()
