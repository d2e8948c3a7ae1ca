"""Server faults, each shown to lose nothing: SMTP 4xx at RCPT and DATA, 5xx,
a connection dropped mid-DATA and a stalled server (Postfix's smtp-sink); an
IMAP UIDVALIDITY reset (doveadm); the database held busy by another process;
an IMAP server that accepts and never answers, which must not hold up texts."""
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "doubles"))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402
from sms_gateway import Gateway  # noqa: E402

SID = "AC" + "3" * 32


free_port = rt.free_port


def plain_smtp(conf, port):
    """Points the configuration at a plain SMTP server on loopback, no login."""
    text = open(conf).read()
    text = re.sub(r"\[smtp\].*?\n\[", lambda m: (
        f"[smtp]\nhost = 127.0.0.1\nport = {port}\nsecurity = none\nfrom = R-U-Safe? <{rt.SERVICE}>\ntimeout = 3\n\n["),
        text, flags=re.S)
    open(conf, "w").write(text)


class Sink:
    """Postfix's smtp-sink with fault flags, dumping what it accepts."""

    def __init__(self, port, dump, *flags):
        os.makedirs(dump, exist_ok=True)
        os.chmod(dump, 0o777)
        args = ["smtp-sink", "-u", "nobody", "-d", os.path.join(dump, "%Y%m%d%H%M%S."), *flags,
                f"127.0.0.1:{port}", "64"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def outbox(db, state=None):
    q = "SELECT count(*) FROM outbox" + (" WHERE state = ?" if state else "")
    return db.execute(q, (state,) if state else ()).fetchone()[0]


def smtp_faults(sb):
    work = os.path.join(sb.dir, "relay-sink")
    conf = rt.make_config(sb, work)
    port = free_port()
    plain_smtp(conf, port)
    db = rt.db(conf)
    dump = os.path.join(sb.dir, "sink-dump")

    def dumped():
        return len([f for f in os.listdir(dump) if not f.startswith(".")]) if os.path.isdir(dump) else 0

    n = 0
    for flags, name, state in ((("-r", "RCPT"), "4xx at RCPT", "pending"), (("-r", "DATA"), "4xx at DATA", "pending"),
                               (("-q", "DATA"), "dropped at DATA", "pending"),
                               (("-q", "MAIL"), "dropped at MAIL", "pending"),
                               (("-q", "RCPT"), "dropped at RCPT", "pending"),
                               (("-W", "RCPT:20"), "stalled at RCPT", "pending")):
        n += 1
        sb.append(rt.SERVICE, rt.mail(f"sink{n}@example.net", rt.SERVICE, "hi", f"fault {name}\n",
                                      msgid=f"sink{n}@example.net"))
        sink = Sink(port, dump, *flags)
        t0 = time.monotonic()
        r = rt.relay(conf, "poll")
        took = time.monotonic() - t0
        sink.stop()
        check(f"smtp {name}: the poll ends without a crash", r.returncode in (0, 1), (r.returncode, r.stderr[-400:]))
        if name == "dropped at RCPT":
            # libESMTP 1.1.0 crashes here (pipelined replies outstanding); the session's own process takes it
            check("smtp dropped at RCPT: the broken session is logged, the relay carries on",
                  "the session broke off" in r.stderr, r.stderr[-600:])
        stored = db.execute("SELECT count(*) FROM message WHERE body LIKE ?", (f"fault {name}%",)).fetchone()[0]
        check(f"smtp {name}: the message is stored", stored == 1, stored)
        check(f"smtp {name}: its forward and auto-reply wait, not lost", outbox(db, "pending") == 2,
              db.execute("SELECT kind, state, last_error FROM outbox").fetchall())
        if name.startswith("stalled"):
            print(f"info: poll against a stalled SMTP server returned after {took:.1f}s (timeout 3s a phase)")
            check("smtp stalled: the poll ends by itself", r.returncode in (0, 1))
        sink = Sink(port, dump)
        time.sleep(1.2)   # past retry_min
        before = dumped()
        rt.relay(conf, "poll")
        time.sleep(0.3)
        sink.stop()
        check(f"smtp {name}: sent once the server is well", outbox(db, "pending") == 0 and dumped() == before + 2,
              (outbox(db, "pending"), dumped() - before))

    # A permanent refusal: kept as failed, the advisers alerted, and no loop
    # even though the alert itself is refused too.
    sb.append(rt.SERVICE, rt.mail("refused@example.net", rt.SERVICE, "hi", "permanent fault\n",
                                  msgid="perm@example.net"))
    sink = Sink(port, dump, "-f", "RCPT")
    for _ in range(3):
        rt.relay(conf, "poll")
        time.sleep(1.2)
    sink.stop()
    failed = db.execute("SELECT kind FROM outbox WHERE state = 'failed' ORDER BY id").fetchall()
    kinds = [k for (k,) in failed]
    check("smtp 5xx: forward and auto-reply kept as failed", "forward" in kinds and "autoreply" in kinds, kinds)
    check("smtp 5xx: the advisers are alerted about the auto-reply", "notice" in kinds, kinds)
    total = outbox(db)
    rt.relay(conf, "poll")
    check("smtp 5xx: no loop of alerts", outbox(db) == total, (total, outbox(db)))
    db.close()


def uidvalidity(sb):
    work = os.path.join(sb.dir, "relay-uidv")
    conf = rt.make_config(sb, work)
    user = "rusafe@example.org"
    # Start from an empty inbox: mail that predates a relay's first poll is
    # history it skips, and a rescan would take it in (see the closing note).
    conn = sb.imap(user)
    conn.select("INBOX")
    conn.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
    conn.expunge()
    conn.logout()
    db = rt.db(conf)
    before = len(sb.messages(rt.ADVISERS[0]))
    for i in range(3):
        sb.append(user, rt.mail(f"uv{i}@example.net", user, "hi", f"uidvalidity {i}\n", msgid=f"uv{i}@example.net"))
    rt.relay(conf, "poll")
    forwards = len(sb.wait_for(rt.ADVISERS[0], before + 3)) - before
    r = sb.doveadm("mailbox", "update", "-u", user, "--uid-validity", "4242", "INBOX")
    check("uidvalidity: doveadm changed it", r.returncode == 0, r.stderr)
    sb.append(user, rt.mail("uv9@example.net", user, "hi", "uidvalidity after the reset\n", msgid="uv9@example.net"))
    r = rt.relay(conf, "poll")
    check("uidvalidity: the relay noticed and rescanned", "UIDVALIDITY changed" in r.stderr, r.stderr[-800:])
    time.sleep(1.0)
    msgs = sb.messages(rt.ADVISERS[0])[before:]
    texts = [m.get_body(("plain",)).get_content() for m in msgs]
    check("uidvalidity: the new message is forwarded", sum("after the reset" in t for t in texts) == 1)
    check("uidvalidity: nothing forwarded twice", len(msgs) == forwards + 1, (len(msgs), forwards))
    rows = db.execute("SELECT count(*) FROM message WHERE body LIKE 'uidvalidity%'").fetchone()[0]
    check("uidvalidity: no duplicate rows", rows == 4, rows)
    db.close()


def busy_database(sb):
    work = os.path.join(sb.dir, "relay-busy")
    conf = rt.make_config(sb, work)
    rt.relay(conf, "list")   # creates the database
    sb.append(rt.SERVICE, rt.mail("busy@example.net", rt.SERVICE, "hi", "while the database is busy\n",
                                  msgid="busy@example.net"))
    holder = sqlite3.connect(os.path.join(work, "relay.db"), isolation_level=None, timeout=1,
                             check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    threading.Timer(3.0, lambda: holder.execute("COMMIT")).start()
    t0 = time.monotonic()
    r = rt.relay(conf, "poll")
    waited = time.monotonic() - t0
    holder.close()
    print(f"info: poll waited {waited:.1f}s for a database held by another process for 3s")
    check("busy database: the poll waits and succeeds", r.returncode == 0, r.stderr[-800:])
    db = rt.db(conf)
    check("busy database: the message is stored", db.execute(
        "SELECT count(*) FROM message WHERE body LIKE 'while the database%'").fetchone()[0] == 1)
    db.close()


def stalled_imap(sb):
    """An IMAP server that accepts and never answers must not hold up texts."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    with Gateway("twilio", username=SID, password="tok", account=SID, number="+447700900000") as gw:
        work = os.path.join(sb.dir, "relay-stall")
        conf = rt.make_config(sb, work, imap_host="localhost", imap_port=port, extra=rt.twilio_section(gw, work, SID))
        before = len(sb.messages(rt.ADVISERS[1]))
        gw.add_inbound("07700 900777", "text while the inbox is stalled")
        t0 = time.monotonic()
        r = rt.relay(conf, "poll", timeout=120)
        took = time.monotonic() - t0
        print(f"info: poll with a silent IMAP server returned after {took:.1f}s ([imap] timeout 5s)")
        check("stalled imap: the poll reports the inbox failure", r.returncode == 1 and "imap" in r.stderr,
              r.stderr[-600:])
        msgs = sb.wait_for(rt.ADVISERS[1], before + 1, timeout=20)
        check("stalled imap: the text is still forwarded",
              any("inbox is stalled" in m.get_body(("plain",)).get_content() for m in msgs[before:]))
        check("stalled imap: the auto-reply text still sent", any(m["to"] == "+447700900777" for m in gw.sent))
    listener.close()


def stale_alert(sb):
    """A reply the gateway keeps refusing with 500: queued, retried, and after
    alert_after_hours the advisers are told once."""
    with Gateway("twilio", username=SID, password="tok", account=SID, number="+447700900000") as gw:
        work = os.path.join(sb.dir, "relay-stale")
        conf = rt.make_config(sb, work, extra=rt.twilio_section(gw, work, SID))
        adviser = rt.ADVISERS[0]
        before = len(sb.messages(adviser))
        gw.add_inbound("07700 900888", "please text me back")
        rt.relay(conf, "poll")
        fwd = [m for m in sb.wait_for(adviser, before + 1) if "text me back" in m.get_body(("plain",)).get_content()][-1]
        gw.fault("500", count=10000)
        rt.adviser_replies(sb, adviser, fwd, "We are here for you.\n")
        rt.relay(conf, "poll")
        db = rt.db(conf)
        pending = db.execute("SELECT count(*) FROM outbox WHERE kind = 'reply' AND state = 'pending'").fetchone()[0]
        check("stale: the refused reply stays queued", pending == 1, pending)
        seen = len(sb.wait_for(adviser, before + 2))   # forward, receipt
        later = int(time.time()) + 5 * 3600
        rt.relay(conf, "poll", env={"RELAY_TEST_NOW": str(later)})
        msgs = sb.wait_for(adviser, seen + 1, timeout=15)
        alert = msgs[-1].get_body(("plain",)).get_content()
        check("stale: the advisers are alerted after 4 hours", "NOT reached the young person" in alert, alert)
        rt.relay(conf, "poll", env={"RELAY_TEST_NOW": str(later + 3600)})
        time.sleep(1.0)
        check("stale: the alert is not repeated", len(sb.messages(adviser)) == seen + 1)
        pending = db.execute("SELECT count(*) FROM outbox WHERE kind = 'reply' AND state = 'pending'").fetchone()[0]
        check("stale: the reply is still queued", pending == 1, pending)
        db.close()


def main():
    with Sandbox() as sb:
        rt.run_parts(sb, smtp_faults, uidvalidity, busy_database, stalled_imap, stale_alert)
    done()


if __name__ == "__main__":
    main()
