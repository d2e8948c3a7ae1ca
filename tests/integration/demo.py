"""make demo: a whole conversation across both sides, on real local servers.

Every run starts from empty mailboxes and a new database (the previous run's
sandbox is stopped and removed), and waits for exactly the messages this run
produces: a mailbox that ends up with more or fewer fails the demo.

    tests/demo                         the relay's own clock
    tests/demo --at 2026-12-02T11:00   the relay's clock pinned to that UK time
                                       (office hours and out of hours answer
                                       differently; both must work)
RELAY_DEMO_DIR puts the demo's files elsewhere than demo/ (the test suite
runs the demo in a directory of its own).
"""
import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import time
import zoneinfo

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "doubles"))
from lib import Sandbox  # noqa: E402
import relaytest as rt  # noqa: E402
from sms_gateway import Gateway  # noqa: E402

TWILIO_SID = "AC" + "0" * 32

YOUNG = "sam.young@example.net"
DEMO_DIR = os.environ.get("RELAY_DEMO_DIR") or os.path.join(rt.ROOT, "demo")
CLOCK = {}   # the relay's environment: RELAY_TEST_NOW when --at is given


class Mailboxes:
    """What each mailbox should hold by now in this run, from empty."""

    def __init__(self, sb):
        self.sb = sb
        self.expected = {}

    def arrive(self, user, n=1):
        """Waits for user's next n messages and returns the newest; more than
        expected is as much a failure as fewer."""
        want = self.expected.get(user, 0) + n
        self.expected[user] = want
        msgs = self.sb.wait_for(user, want)
        if len(msgs) != want:
            sys.exit("demo: %s holds %d messages, expected %d" % (user, len(msgs), want))
        return msgs[-1]

    def settle(self):
        """After the last step: nothing more arrived anywhere."""
        time.sleep(1)
        for user, want in sorted(self.expected.items()):
            got = len(self.sb.messages(user))
            if got != want:
                sys.exit("demo: %s ended with %d messages, expected %d" % (user, got, want))


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
    r = rt.relay(conf, *args, env=CLOCK)
    out = (r.stdout + r.stderr).strip()
    if out:
        print("  " + out.replace("\n", "\n  "))
    if r.returncode != 0:
        sys.exit("relay %s failed (exit %d)" % (" ".join(args), r.returncode))
    return r


def pin_clock(at):
    """--at YYYY-MM-DDTHH:MM, UK time: the relay's clock for every command.
    Only the test build honours the pin, so the demo then runs
    build/relay-test; without --at it runs build/relay, the production build
    that make install installs (the one the newcomer is told to try)."""
    when = datetime.datetime.fromisoformat(at).replace(tzinfo=zoneinfo.ZoneInfo("Europe/London"))
    CLOCK["RELAY_TEST_NOW"] = str(int(when.timestamp()))
    return when


def choose_binary(at):
    if "RELAY_BIN" not in os.environ:
        rt.RELAY = os.path.join(rt.ROOT, "build", "relay-test" if at else "relay")
    r = subprocess.run([rt.RELAY, "--version"], capture_output=True, text=True)
    print("  (%s: %s)" % (os.path.relpath(rt.RELAY, rt.ROOT), r.stdout.strip()))
    if at and "test build" not in r.stdout:
        sys.exit("demo: --at pins the clock through RELAY_TEST_NOW, which only a test build honours "
                 "(make all builds build/relay-test)")


def main():
    ap = argparse.ArgumentParser(description="make demo: the relay on a local sandbox of real servers")
    ap.add_argument("--at", help="pin the relay's clock to this UK time (YYYY-MM-DDTHH:MM)")
    args = ap.parse_args()
    choose_binary(args.at)
    os.makedirs(DEMO_DIR, exist_ok=True)
    sandbox_dir = os.path.join(DEMO_DIR, "sandbox")
    work = os.path.join(DEMO_DIR, "relay")
    # From empty: the previous run's servers stopped, its mail and database gone.
    if os.path.exists(sandbox_dir):
        Sandbox(sandbox_dir).down(remove=True)
    shutil.rmtree(work, ignore_errors=True)
    if args.at:
        print("The relay's clock is pinned to %s UK time" % pin_clock(args.at).strftime("%A %d %B %Y %H:%M"))
    sb = Sandbox(sandbox_dir)
    say("Starting a sandbox: Dovecot (IMAP) and Postfix (SMTP) on loopback, TLS from a throwaway CA")
    sb.up()
    box = Mailboxes(sb)
    try:
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
        box.arrive(rt.SERVICE)
        say("relay poll: fetch, thread, forward to the advisers, auto-reply")
        run(conf, "poll")
        fwd = box.arrive(rt.ADVISERS[0])
        box.arrive(rt.ADVISERS[1])
        show(fwd, "the adviser (%s)" % rt.ADVISERS[0])
        show(box.arrive(YOUNG), "the young person")

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
        box.arrive(rt.SERVICE)
        run(conf, "poll")
        show(box.arrive(YOUNG), "the young person")
        show(box.arrive(rt.ADVISERS[0]), "the adviser (the receipt)")
        box.arrive(rt.ADVISERS[1])

        say("The young person answers in the same thread")
        last = sb.messages(YOUNG)[-1]
        sb.send(YOUNG, [rt.SERVICE], rt.mail(YOUNG, rt.SERVICE, "Re: Can I talk to someone",
                                             "Yes, I'm at home now. Thank you.\n", msgid="demo.follow@example.net",
                                             in_reply_to=last["Message-ID"].strip("<>")))
        box.arrive(rt.SERVICE)
        run(conf, "poll")
        show(box.arrive(rt.ADVISERS[0]), "the adviser")
        box.arrive(rt.ADVISERS[1])

        say("Meanwhile a young person texts the service's number (through the Twilio double)")
        gw.add_inbound("07700 900123", "hi can u help me, im scared to go home")
        run(conf, "poll")
        fwd_sms = box.arrive(rt.ADVISERS[0])
        box.arrive(rt.ADVISERS[1])
        show(fwd_sms, "the adviser")
        print("  --- the young person's phone received ---\n  %s" % gw.sent[-1]["body"])

        say("An adviser answers the text from their email, with Outlook's curly quotes")
        rt.adviser_replies(sb, rt.ADVISERS[1], fwd_sms,
                           "You\u2019re doing the right thing \u2013 are you safe where you are now?\n\n"
                           "From: R-U-Safe?\nSent: today\nTo: Advisers\nSubject: " + fwd_sms["Subject"] + "\n")
        box.arrive(rt.SERVICE)
        run(conf, "poll")
        print("  --- the young person's phone received ---\n  %s" % gw.sent[-1]["body"])
        show(box.arrive(rt.ADVISERS[1]), "the advisers (the receipt)")
        box.arrive(rt.ADVISERS[0])
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
        box.settle()
        if len(gw.sent) != 2:
            sys.exit("demo: the young person's phone got %d texts, expected 2" % len(gw.sent))

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
