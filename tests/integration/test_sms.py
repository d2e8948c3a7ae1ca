"""Text messages end to end, for each provider (Twilio, Esendex, SMS Gateway
for Android): the relay polls the gateway double, forwards to advisers on real
Postfix/Dovecot, texts the auto-reply, relays advisers' email replies as texts,
refuses a reply that is too long, honours STOP/START/HELP, and loses or
duplicates nothing when the gateway answers 429/500 or drops the connection."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "doubles"))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402
from sms_gateway import Gateway  # noqa: E402

NUMBER = "07700 900123"          # Ofcom's drama range
E164 = "+447700900123"
SERVICE_NUMBER = "+447700900000"
ACCOUNTS = {"twilio": "AC" + "0" * 32, "esendex": "EX0000001", "android": None}


SMS_SETTINGS = "poll_interval = 5\nmax_parts = 4\ntimeout = 3\n"


def sent_to(gw, number):
    return [m for m in gw.sent if m.get("to", "").lstrip("+") == number.lstrip("+")]


def texts(msg):
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def story(sb, provider):
    p = provider
    user = ACCOUNTS[provider] or "relay"
    with Gateway(provider, username=user, password="token-123", account=ACCOUNTS[provider],
                 number=SERVICE_NUMBER) as gw:
        work = os.path.join(sb.dir, "relay-" + provider)
        os.makedirs(work, exist_ok=True)
        conf = rt.make_config(sb, work, extra=rt.sms_section(gw, work, SMS_SETTINGS))
        adviser = rt.ADVISERS[0]
        seen = len(sb.messages(adviser))

        r = rt.relay(conf, "check")
        check(f"{p}: check reports the gateway OK", re.search(r"^OK\s+sms " + provider, r.stdout, re.M) is not None,
              r.stdout + r.stderr)

        # --- first text: forward, masked number, auto-reply by text -----------------------
        gw.add_inbound(NUMBER, "hi i need to talk to someone about my boyfriend")
        r = rt.relay(conf, "poll")
        check(f"{p}: poll exits 0", r.returncode == 0, r.stderr[-1500:])
        msgs = sb.wait_for(adviser, seen + 1)
        fwd = msgs[-1]
        seen = len(msgs)
        m = re.match(r"\[(RUS-\w{5})\] New message by text$", fwd["Subject"] or "")
        check(f"{p}: forward subject says text", m is not None, fwd["Subject"])
        body = texts(fwd)
        check(f"{p}: forward carries the text", "about my boyfriend" in body, body)
        check(f"{p}: forward masks the number", "+44 7*** ***123" in body, body)
        raw = fwd.as_string()
        check(f"{p}: the full number appears nowhere in the forward",
              "7700900123" not in raw and "900123" not in raw and "7700 900123" not in raw)
        replies = sent_to(gw, E164)
        check(f"{p}: one auto-reply texted", len(replies) == 1, gw.sent)
        if replies:
            check(f"{p}: auto-reply signposts 999", "999" in replies[0]["body"], replies[0])
        if provider == "esendex":
            check("esendex: text acknowledged (marked read) after commit", len(gw.acks) == 1, gw.acks)
            check("esendex: characterset sent", all(s.get("characterset") in ("Auto", "Unicode") for s in gw.sent),
                  gw.sent)

        # --- a second poll sends nothing -------------------------------------------------
        n = len(gw.sent)
        rt.relay(conf, "poll")
        check(f"{p}: second poll sends nothing", len(gw.sent) == n, gw.sent[n:])

        # --- adviser reply by email becomes a GSM text ---------------------------------
        rt.adviser_replies(sb, adviser, fwd,
                           "You\u2019re not in trouble \u2013 we\u2019re here to help\u2026 Can you talk now?\n\n"
                           "________________________________\nFrom: R-U-Safe? <rusafe@example.org>\n"
                           "Sent: 21 November 2026 10:01\nSubject: " + fwd["Subject"] + "\n\nhi i need to talk\n")
        rt.relay(conf, "poll")
        replies = sent_to(gw, E164)
        check(f"{p}: adviser's reply texted", len(replies) == 2, replies)
        if len(replies) == 2:
            t = replies[-1]["body"]
            check(f"{p}: reply converted to GSM-7 (quotes, dash, ellipsis)",
                  t.startswith("You're not in trouble - we're here to help... Can you talk now?"), t)
            check(f"{p}: reply has no quoted history", "Sent:" not in t and "hi i need" not in t, t)
        msgs = sb.wait_for(adviser, seen + 1)
        seen = len(msgs)
        check(f"{p}: receipt names the parts", "in 1 part" in texts(msgs[-1]), texts(msgs[-1]))

        # --- too long: refused, adviser told, nothing sent -------------------------------
        long_text = ("This is a long answer. " * 40).strip()
        rt.adviser_replies(sb, adviser, fwd, long_text)
        n = len(gw.sent)
        rt.relay(conf, "poll")
        check(f"{p}: over-long reply not sent", len(gw.sent) == n, gw.sent[n:])
        msgs = sb.wait_for(adviser, seen + 1)
        seen = len(msgs)
        note = texts(msgs[-1])
        check(f"{p}: adviser told how many parts it needed", re.search(r"need \d+ text message parts", note) is not None
              and "max_parts" in note, note)

        # --- STOP, then silence, then START, HELP -----------------------------------------
        gw.add_inbound(NUMBER, "STOP")
        rt.relay(conf, "poll")
        replies = sent_to(gw, E164)
        stop = replies[-1]["body"] if replies else ""
        check(f"{p}: STOP confirmation names 999 and Childline", "999" in stop and "Childline" in stop, stop)
        msgs = sb.wait_for(adviser, seen + 1)
        seen = len(msgs)
        check(f"{p}: advisers see the STOP", "STOP" in texts(msgs[-1]), texts(msgs[-1]))
        n = len(gw.sent)
        gw.add_inbound(NUMBER, "are you still there")
        rt.relay(conf, "poll")
        msgs = sb.wait_for(adviser, seen + 1)
        seen = len(msgs)
        check(f"{p}: after STOP the text is still forwarded", "still there" in texts(msgs[-1]))
        check(f"{p}: after STOP nothing automatic is texted", len(gw.sent) == n, gw.sent[n:])
        gw.add_inbound(NUMBER, "start")
        rt.relay(conf, "poll")
        check(f"{p}: START confirmed", len(gw.sent) == n + 1, gw.sent[n:])
        seen = len(sb.wait_for(adviser, seen + 1))
        gw.add_inbound(NUMBER, "Help")
        rt.relay(conf, "poll")
        check(f"{p}: HELP gets the signposting", len(gw.sent) == n + 2 and "0800 999 7677" in gw.sent[-1]["body"],
              gw.sent[n:])
        seen = len(sb.wait_for(adviser, seen + 1))

        # --- never to alphanumeric senders or short codes -------------------------------
        n = len(gw.sent)
        gw.add_inbound("BANK", "Your code is 1234")
        gw.add_inbound("88440", "Reply YES to win")
        rt.relay(conf, "poll")
        check(f"{p}: no auto-reply to alphanumeric senders or short codes", len(gw.sent) == n, gw.sent[n:])
        seen = len(sb.wait_for(adviser, seen + 2))

        # --- gateway trouble: 429, 500, a dropped response -------------------------------
        db = rt.db(conf)

        def inbound_count():
            return db.execute("SELECT count(*) FROM message WHERE kind='inbound' AND channel='sms'").fetchone()[0]

        before = inbound_count()
        gw.add_inbound("07700 900456", "first from a new number")
        gw.add_inbound("07700 900456", "second from a new number")
        gw.add_inbound("07700 900456", "third from a new number")
        for kind in ("429", "500", "drop"):
            gw.fault(kind, count=1)
            r = rt.relay(conf, "poll")
            check(f"{p}: poll during a gateway {kind} fails cleanly", r.returncode == 1, r.stderr[-800:])
            check(f"{p}: nothing taken in during the {kind}", inbound_count() == before,
                  inbound_count() - before)
        r = rt.relay(conf, "poll")
        check(f"{p}: poll after the faults succeeds", r.returncode == 0, r.stderr[-800:])
        check(f"{p}: all three texts taken in once", inbound_count() == before + 3, inbound_count() - before)
        rt.relay(conf, "poll")
        check(f"{p}: a further poll takes nothing twice", inbound_count() == before + 3)
        autos = sent_to(gw, "+447700900456")
        check(f"{p}: exactly one auto-reply to the new number", len(autos) == 1, autos)

        # a send that meets a 500 is retried and sent once
        gw.fault("500", count=1, path_prefix=None)
        gw.add_inbound("07700 900789", "hello")
        rt.relay(conf, "poll")      # fetch OK? the 500 hits the first request (the fetch)
        time.sleep(1.2)
        rt.relay(conf, "poll")
        time.sleep(1.2)
        rt.relay(conf, "poll")
        autos = sent_to(gw, "+447700900789")
        check(f"{p}: after a 500 the auto-reply is sent exactly once", len(autos) == 1, autos)

        # --- show: delivery states, masked number ----------------------------------------
        ref = m.group(1) if m else "RUS-?????"
        r = rt.relay(conf, "show", ref)
        check(f"{p}: show masks the number", "7700900123" not in r.stdout and "+44 7*** ***123" in r.stdout, r.stdout)
        check(f"{p}: show lists texts with parts and delivery", re.search(r"text, 1 part", r.stdout) is not None,
              r.stdout)
        check(f"{p}: show has the keywords", "keyword STOP" in r.stdout, r.stdout)
        db.close()

        # --- wrong credentials -----------------------------------------------------------------
        rt.write_private(os.path.join(work, "sms.password"), "wrong\n")
        r = rt.relay(conf, "check")
        check(f"{p}: check names refused credentials", r.returncode == 1 and
              re.search(r"^FAIL\s+sms .*credentials", r.stdout, re.M) is not None, r.stdout)


def opt_out_story(sb):
    """Twilio's 21610: the number opted out at the carrier; the relay marks it and tells the advisers."""
    with Gateway("twilio", username=ACCOUNTS["twilio"], password="token-123", account=ACCOUNTS["twilio"],
                 number=SERVICE_NUMBER) as gw:
        work = os.path.join(sb.dir, "relay-optout")
        os.makedirs(work, exist_ok=True)
        conf = rt.make_config(sb, work, extra=rt.sms_section(gw, work, SMS_SETTINGS))
        gw.opt_out("+447700900321")
        seen = len(sb.messages(rt.ADVISERS[1]))
        gw.add_inbound("07700900321", "hello?")
        rt.relay(conf, "poll")
        msgs = sb.wait_for(rt.ADVISERS[1], seen + 2)
        check("twilio 21610: advisers told the text could not be delivered",
              any("could NOT be delivered" in texts(x) and "opted out" in texts(x) for x in msgs[seen:]),
              [texts(x)[:200] for x in msgs[seen:]])
        db = rt.db(conf)
        row = db.execute("SELECT opted_out_at FROM contact WHERE address='+447700900321'").fetchone()
        check("twilio 21610: the number is marked opted out", row is not None and row[0] is not None, row)
        db.close()


def main():
    with Sandbox() as sb:
        for provider in ("twilio", "esendex", "android"):
            try:
                story(sb, provider)
            except Exception as e:  # one provider's failure must not hide the others
                check(f"{provider}: story ran to the end", False, repr(e))
        try:
            opt_out_story(sb)
        except Exception as e:
            check("twilio opt-out story ran to the end", False, repr(e))
    done()


if __name__ == "__main__":
    main()
