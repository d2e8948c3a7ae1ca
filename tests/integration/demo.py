"""make demo: a whole conversation across both sides, on real local servers."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "doubles"))
from lib import Sandbox  # noqa: E402
import relaytest as rt  # noqa: E402
from sms_gateway import Gateway  # noqa: E402

TWILIO_SID = "AC" + "0" * 32

YOUNG = "sam.young@example.net"
DEMO_DIR = os.path.join(rt.ROOT, "demo")


def say(text):
    print("\n\033[1m== %s\033[0m" % text)


def show(msg, who):
    body = msg.get_body(preferencelist=("plain",))
    print("  --- %s received ---" % who)
    for h in ("From", "To", "Reply-To", "Subject", "In-Reply-To"):
        if msg[h]:
            print("  %-12s %s" % (h + ":", msg[h]))
    print("  " + (body.get_content() if body else "").strip().replace("\n", "\n  "))


def run(conf, *args):
    r = rt.relay(conf, *args)
    out = (r.stdout + r.stderr).strip()
    if out:
        print("  " + out.replace("\n", "\n  "))
    if r.returncode != 0:
        sys.exit("relay %s failed (exit %d)" % (" ".join(args), r.returncode))
    return r


def main():
    os.makedirs(DEMO_DIR, exist_ok=True)
    sandbox_dir = os.path.join(DEMO_DIR, "sandbox")
    sb = Sandbox(sandbox_dir)
    sb.down(remove=False) if os.path.exists(os.path.join(sandbox_dir, "env.json")) else None
    say("Starting a sandbox: Dovecot (IMAP) and Postfix (SMTP) on loopback, TLS from a throwaway CA")
    sb.up()
    try:
        work = os.path.join(DEMO_DIR, "relay")
        if os.path.exists(os.path.join(work, "relay.db")):
            os.remove(os.path.join(work, "relay.db"))
        gw = Gateway("twilio", username=TWILIO_SID, password="demo-token", account=TWILIO_SID,
                     number="+447700900000").start()
        conf = rt.make_config(sb, work, extra=rt.twilio_section(gw, work, TWILIO_SID, password="demo-token"))
        print("  configuration: %s" % conf)
        print("  SMS gateway: a faithful double of Twilio's API at %s" % gw.url)

        say("relay check: configuration, templates, and a login to every server")
        run(conf, "check")

        say("A young person emails the service")
        sb.send(YOUNG, [rt.SERVICE], rt.mail(f"Sam <{YOUNG}>", rt.SERVICE, "Can I talk to someone",
                                             "Hi, something happened at a party and I don't know who to tell.\n",
                                             msgid="demo.first@example.net"))
        sb.wait_for(rt.SERVICE, 1)
        say("relay poll: fetch, thread, forward to the advisers, auto-reply")
        run(conf, "poll")
        fwd = sb.wait_for(rt.ADVISERS[0], 1)[-1]
        show(fwd, "the adviser (%s)" % rt.ADVISERS[0])
        show(sb.wait_for(YOUNG, 1)[-1], "the young person")

        say("The adviser replies from Outlook, quoting the forward")
        tag = rt.reply_tag(fwd)
        ref = re.search(r"\[(RUS-\w+)\]", fwd["Subject"]).group(1)
        reply = rt.mail(rt.ADVISERS[0], tag, "RE: " + fwd["Subject"],
                        "Hi Sam, thank you for telling us. You did the right thing.\n"
                        "Are you somewhere safe right now?\n\n"
                        "________________________________\nFrom: R-U-Safe? <rusafe@example.org>\n"
                        "Sent: 21 November 2026 10:01\nSubject: " + fwd["Subject"] + "\n\n(the forward)\n",
                        in_reply_to=fwd["Message-ID"].strip("<>"))
        sb.send(rt.ADVISERS[0], [tag], reply, auth_user=rt.ADVISERS[0])
        sb.wait_for(rt.SERVICE, 2)
        run(conf, "poll")
        show(sb.wait_for(YOUNG, 2)[-1], "the young person")
        show(sb.wait_for(rt.ADVISERS[0], 2)[-1], "the adviser (the receipt)")

        say("The young person answers in the same thread")
        last = sb.messages(YOUNG)[-1]
        sb.send(YOUNG, [rt.SERVICE], rt.mail(YOUNG, rt.SERVICE, "Re: Can I talk to someone",
                                             "Yes, I'm at home now. Thank you.\n", msgid="demo.follow@example.net",
                                             in_reply_to=last["Message-ID"].strip("<>")))
        sb.wait_for(rt.SERVICE, 3)
        run(conf, "poll")
        show(sb.wait_for(rt.ADVISERS[0], 3)[-1], "the adviser")

        say("Meanwhile a young person texts the service's number (through the Twilio double)")
        gw.add_inbound("07700 900123", "hi can u help me, im scared to go home")
        run(conf, "poll")
        fwd_sms = sb.wait_for(rt.ADVISERS[0], 4)[-1]
        show(fwd_sms, "the adviser")
        print("  --- the young person's phone received ---\n  %s" % gw.sent[-1]["body"])

        say("An adviser answers the text from their email, with Outlook's curly quotes")
        rt.adviser_replies(sb, rt.ADVISERS[1], fwd_sms,
                           "You\u2019re doing the right thing \u2013 are you safe where you are now?\n\n"
                           "From: R-U-Safe?\nSent: today\nTo: Advisers\nSubject: " + fwd_sms["Subject"] + "\n")
        run(conf, "poll")
        print("  --- the young person's phone received ---\n  %s" % gw.sent[-1]["body"])
        show(sb.wait_for(rt.ADVISERS[1], 6)[-1], "the advisers (the receipt)")
        sms_ref = re.search(r"\[(RUS-\w+)\]", fwd_sms["Subject"]).group(1)

        say("What the service sees: relay list, relay show " + ref + ", relay show " + sms_ref)
        run(conf, "list")
        run(conf, "show", ref)
        run(conf, "show", sms_ref)

        say("A manager at the server closes the email conversation, and looks at the figures: relay close, relay stats")
        run(conf, "close", ref)
        run(conf, "list", "--open")
        run(conf, "stats")
        gw.stop()

        say("Done")
        print("  The sandbox is still running in %s (mail under %s)." % (sandbox_dir, sb.mail_dir))
        print("  (The Twilio double ran inside this demo and has stopped; the relay's text polls will now fail")
        print("   until you run one: python3 tests/doubles/sms_gateway.py --provider twilio --port PORT.)")
        print("  Try:  build/relay -c %s list --urgent" % conf)
        print("        build/relay -c %s export %s        (a transcript for a referral)" % (conf, sms_ref))
        print("        echo 'Are you safe now?' | build/relay -c %s send %s" % (conf, ref))
        print("        build/relay -c %s --json stats" % conf)
        print("        build/relay -c %s run      (Ctrl-C stops it)" % conf)
        print("  Every command: build/relay --help, and man -l man/relay.8")
        print("  Stop the sandbox with: tests/sandbox/sandbox down %s" % sandbox_dir)
    except BaseException:
        sb.down(remove=False)
        raise


if __name__ == "__main__":
    main()
