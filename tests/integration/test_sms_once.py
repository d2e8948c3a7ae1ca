"""A text is sent at most once, for each provider (Twilio, Esendex, SMS
Gateway for Android): a send the gateway took but answered after the
timeout, or answered with more than the relay reads, is looked up in the
gateway's list of sent messages and recorded, not sent again; a send that
never reached the gateway is sent again, once. And a slow gateway does not
hold up the intake: emails and texts from young people are taken and
forwarded while every send runs out of time."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "doubles"))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402
from sms_gateway import Gateway  # noqa: E402

SERVICE_NUMBER = "+447700900000"
ACCOUNTS = {"twilio": "AC" + "0" * 32, "esendex": "EX0000001", "android": None}
# The send timeout is at most [sms] timeout: 2 s here, for the relay before
# and after send_timeout alike. A "late" answer comes after 4 s.
SMS_SETTINGS = "poll_interval = 5\nmax_parts = 4\ntimeout = 2\n"
# Under valgrind (tests/run's third pass) the relay is several times slower.
SLOW = 3 if "valgrind" in rt.RELAY else 1
SEND_PATHS = {"twilio": "/2010-04-01/Accounts/", "esendex": "/v1.0/messagedispatcher", "android": "/message"}


def sent_to(gw, number):
    return [m for m in gw.sent if m.get("to", "").lstrip("+") == number.lstrip("+")]


def gateway(provider):
    user = ACCOUNTS[provider] or "relay"
    return Gateway(provider, username=user, password="token-123", account=ACCOUNTS[provider],
                   number=SERVICE_NUMBER)


def poll(conf):
    """One poll; it must exit 0 (under valgrind, 99 is a memory error)."""
    r = rt.relay(conf, "poll", timeout=300)
    check("poll exits 0", r.returncode == 0, (r.returncode, r.stderr[-1500:]))


def polls(conf, n, gap=1.3):
    """n polls, gap seconds apart (retry_min is 1 s: the retry is due)."""
    for i in range(n):
        if i:
            time.sleep(gap)
        poll(conf)


def autoreply_row(conf, number):
    db = rt.db(conf)
    try:
        return db.execute("SELECT state, provider_id, delivery FROM outbox WHERE channel='sms' AND rcpt=? "
                          "AND kind='autoreply' ORDER BY id", (number,)).fetchall()
    finally:
        db.close()


def once_story(sb, provider):
    p = provider
    with gateway(provider) as gw:
        work = os.path.join(sb.dir, "once-" + provider)
        conf = rt.make_config(sb, work, extra=rt.sms_section(gw, work, SMS_SETTINGS))

        # --- taken, answered after the timeout --------------------------------------------
        number = "+447700900201"
        gw.fault("late", count=1, seconds=4, method="POST", path_prefix=SEND_PATHS[provider])
        gw.add_inbound("07700 900201", "hi is anyone there")
        poll(conf)
        check(f"{p} late: the gateway took the auto-reply once", len(sent_to(gw, number)) == 1, [g["id"] for g in gw.sent])
        rows = autoreply_row(conf, number)
        check(f"{p} late: with no answer in time the text waits, marked to be looked up",
              len(rows) == 1 and rows[0][0] == "pending" and rows[0][2] == "unconfirmed", rows)
        polls(conf, 2)
        got = sent_to(gw, number)
        check(f"{p} late: exactly one text at the gateway after the retries", len(got) == 1, [g["id"] for g in got])
        rows = autoreply_row(conf, number)
        check(f"{p} late: the auto-reply is recorded sent, with the gateway's id",
              len(rows) == 1 and rows[0][0] == "sent" and got and rows[0][1] == got[0]["id"], (rows, [g["id"] for g in got]))

        # --- taken, answered with more than the relay reads ------------------------------
        number = "+447700900202"
        gw.fault("long", count=1, method="POST", path_prefix=SEND_PATHS[provider])
        gw.add_inbound("07700 900202", "can i talk to someone")
        polls(conf, 2)
        got = sent_to(gw, number)
        check(f"{p} long answer: exactly one text at the gateway", len(got) == 1, [g["id"] for g in got])
        rows = autoreply_row(conf, number)
        check(f"{p} long answer: recorded sent with the gateway's id",
              len(rows) == 1 and rows[0][0] == "sent" and got and rows[0][1] == got[0]["id"], (rows, [g["id"] for g in got]))

        # --- never reached the gateway: sent again, once -----------------------------------
        if provider == "twilio":
            number = "+447700900203"
            gw.fault("stall", count=1, method="POST", path_prefix=SEND_PATHS[provider])
            gw.add_inbound("07700 900203", "hello?")
            polls(conf, 2)
            got = sent_to(gw, number)
            check("twilio stalled send: sent again after the look-up found nothing, exactly once",
                  len(got) == 1, [g["id"] for g in got])
            rows = autoreply_row(conf, number)
            check("twilio stalled send: recorded sent", len(rows) == 1 and rows[0][0] == "sent", rows)

        # --- two identical texts to one number are two texts --------------------------------
        if provider == "esendex":
            number = "+447700900204"
            gw.add_inbound("07700 900204", "HELP")
            poll(conf)
            gw.fault("late", count=1, seconds=4, method="POST", path_prefix=SEND_PATHS[provider])
            gw.add_inbound("07700 900204", "HELP")
            polls(conf, 2)
            got = sent_to(gw, number)
            bodies = [g["body"] for g in got]
            check("esendex: a second identical HELP text, answered late, is not taken for the first",
                  len(got) == 2 and len(set(bodies)) == 1, bodies)


def count(conf, sql, *args):
    import sqlite3
    if not os.path.exists(os.path.join(os.path.dirname(conf), "relay.db")):
        return 0
    db = rt.db(conf)
    try:
        return db.execute(sql, args).fetchone()[0]
    except sqlite3.OperationalError:   # the daemon is still making its tables
        return 0
    finally:
        db.close()


def intake_story(sb):
    """Eight auto-replies wait while every send is answered late; the daemon
    keeps taking in and forwarding young people's emails and texts."""
    with gateway("twilio") as gw:
        work = os.path.join(sb.dir, "slow-intake")
        conf = rt.make_config(sb, work, extra=rt.sms_section(gw, work, SMS_SETTINGS))
        gw.fault("late", count=1000, seconds=6, method="POST", path_prefix=SEND_PATHS["twilio"])
        for i in range(8):
            gw.add_inbound("07700 9003%02d" % i, "hello from number %d" % i)
        log = os.path.join(work, "run.log")
        with open(log, "w") as out:
            proc = subprocess.Popen([rt.RELAY, "-c", conf, "run"], stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 20 * SLOW
            while time.monotonic() < deadline and \
                    count(conf, "SELECT count(*) FROM outbox WHERE kind='autoreply' AND channel='sms'") < 8:
                time.sleep(0.1)
            time.sleep(0.5)   # the first sends are under way
            waits = []
            for i in range(4):
                sent_before = count(conf, "SELECT count(*) FROM outbox WHERE kind='forward' AND state='sent'")
                t0 = time.monotonic()
                sb.append(rt.SERVICE, rt.mail("young%d@example.net" % i, rt.SERVICE, "question %d" % i,
                                              "Can I ask something?\n", msgid="slow.%d@example.net" % i))
                if i == 2:
                    gw.add_inbound("07700 900399", "are you there")
                deadline = t0 + 30
                while time.monotonic() < deadline and count(
                        conf, "SELECT count(*) FROM outbox WHERE kind='forward' AND state='sent'") <= sent_before:
                    time.sleep(0.1)
                waits.append(round(time.monotonic() - t0, 1))
                time.sleep(max(0.0, 3 - (time.monotonic() - t0)))
            check("slow gateway: each email is taken and forwarded within 10 s while the texts wait",
                  max(waits) < 10 * SLOW, waits)
            deadline = time.monotonic() + 10 * SLOW
            while time.monotonic() < deadline and count(
                    conf, "SELECT count(*) FROM message WHERE kind='inbound' AND channel='sms'") < 9:
                time.sleep(0.1)
            check("slow gateway: a young person's text is taken in while the sends are slow",
                  count(conf, "SELECT count(*) FROM message WHERE kind='inbound' AND channel='sms'") == 9)
            check("slow gateway: no text sent twice meanwhile",
                  all(len(sent_to(gw, "+4477009003%02d" % i)) <= 1 for i in range(8)),
                  [len(sent_to(gw, "+4477009003%02d" % i)) for i in range(8)])
        finally:
            rt.stop(proc)
        check("slow gateway: the daemon exits 0 on SIGTERM", proc.returncode == 0,
              (proc.returncode, open(log).read()[-1500:]))


def main():
    with Sandbox() as sb:
        for provider in ("twilio", "esendex", "android"):
            try:
                once_story(sb, provider)
            except Exception as e:  # one provider's failure must not hide the others
                check(f"{provider}: story ran to the end", False, repr(e))
        try:
            intake_story(sb)
        except Exception as e:
            check("slow-intake story ran to the end", False, repr(e))
    done()


if __name__ == "__main__":
    main()
