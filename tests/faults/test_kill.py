"""Kill -9 at random moments while a mixed burst of emails and texts arrives,
restarting each time; then count what was received, forwarded, lost and
duplicated. Nothing may be lost; a forward may be duplicated only by a kill
that fell between the server's acceptance and our commit.

Real Dovecot and Postfix (tests/sandbox) and the Twilio double. The figures are
printed in one line starting "faults:"."""
import os
import random
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "doubles"))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402
from sms_gateway import Gateway  # noqa: E402

SID = "AC" + "2" * 32
KILLS = int(os.environ.get("RELAY_FAULT_KILLS", "30"))
EMAILS = int(os.environ.get("RELAY_FAULT_EMAILS", "40"))
TEXTS = int(os.environ.get("RELAY_FAULT_TEXTS", "40"))


def text_of(msg):
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def main():
    rng = random.Random(int(os.environ.get("RELAY_FAULT_SEED", "20261121")))
    with Sandbox() as sb, Gateway("twilio", username=SID, password="tok", account=SID,
                                  number="+447700900000", page_size=5) as gw:
        work = os.path.join(sb.dir, "relay-kill")
        conf = rt.make_config(sb, work, extra=rt.twilio_section(gw, work, SID, extra="poll_interval = 5\n"))
        log = open(os.path.join(work, "run.log"), "w")
        emails = [f"E{i:03d}" for i in range(EMAILS)]
        texts = [f"S{i:03d}" for i in range(TEXTS)]
        pending_e, pending_t = list(emails), list(texts)
        kills = 0
        mid_work = 0     # kills after which the outbox still held unsent rows
        dbk = None

        def start():
            return subprocess.Popen([rt.RELAY, "-c", conf, "run"], stdout=log, stderr=subprocess.STDOUT)

        # The burst arrives while the daemon is killed again and again.
        for round_ in range(KILLS):
            for _ in range(rng.randint(1, 3)):
                if pending_e:
                    tok = pending_e.pop(0)
                    young = f"young{int(tok[1:]) % 10}@example.net"
                    sb.send(young, [rt.SERVICE], rt.mail(young, rt.SERVICE, "help", f"message token-{tok}\n",
                                                         msgid=f"{tok}@example.net"))
                if pending_t:
                    tok = pending_t.pop(0)
                    gw.add_inbound(f"07700 900{int(tok[1:]) % 10:03d}", f"text token-{tok}")
            proc = start()
            # Mostly inside the first cycle: connect, fetch, store, send.
            time.sleep(rng.uniform(0.02, 0.4))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            if dbk is None and os.path.exists(os.path.join(work, "relay.db")):
                dbk = rt.db(conf)
            if dbk is not None:
                try:
                    if dbk.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]:
                        mid_work += 1
                except Exception:
                    pass
        for tok in pending_e:
            young = f"young{int(tok[1:]) % 10}@example.net"
            sb.send(young, [rt.SERVICE], rt.mail(young, rt.SERVICE, "help", f"message token-{tok}\n",
                                                 msgid=f"{tok}@example.net"))
        for tok in pending_t:
            gw.add_inbound(f"07700 900{int(tok[1:]) % 10:03d}", f"text token-{tok}")

        # Then one daemon runs until everything is in and out.
        sb.wait_for(rt.SERVICE, EMAILS, timeout=30)
        proc = start()
        db = rt.db(conf)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            stored = db.execute("SELECT count(*) FROM message WHERE kind = 'inbound'").fetchone()[0]
            pending = db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
            if stored >= EMAILS + TEXTS and pending == 0:
                break
            time.sleep(0.5)
        time.sleep(6)   # a last text poll
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)

        rows = [r[0] for r in db.execute("SELECT body FROM message WHERE kind = 'inbound'")]
        found = {}
        for body in rows:
            for tok in re.findall(r"token-([ES]\d{3})", body or ""):
                found[tok] = found.get(tok, 0) + 1
        lost = [t for t in emails + texts if t not in found]
        dup_rows = sum(n - 1 for n in found.values() if n > 1)
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        failed = db.execute("SELECT count(*) FROM outbox WHERE state != 'sent'").fetchone()[0]
        db.close()

        # Forwards as the advisers received them.
        expected = EMAILS + TEXTS
        msgs = sb.wait_for(rt.ADVISERS[0], expected, timeout=60)
        time.sleep(2)
        msgs = sb.messages(rt.ADVISERS[0])
        fwd = {}
        for m in msgs:
            for tok in set(re.findall(r"token-([ES]\d{3})", text_of(m))):
                fwd[tok] = fwd.get(tok, 0) + 1
        not_forwarded = [t for t in emails + texts if t not in fwd]
        dup_fwd = sum(n - 1 for n in fwd.values() if n > 1)
        if dbk is not None:
            dbk.close()
        print(f"faults: kills={kills} (with unsent outbox rows after {mid_work}) messages_in={expected} stored={len(found)} forwarded={len(fwd)} "
              f"lost={len(lost)} duplicate_rows={dup_rows} duplicate_forwards={dup_fwd} "
              f"outbox_not_sent={failed} integrity={integrity}")
        check("at least 25 kills", kills >= 25, kills)
        check("nothing lost: every email and text stored", not lost, lost)
        check("no duplicate rows", dup_rows == 0, dup_rows)
        check("every message forwarded", not not_forwarded, not_forwarded)
        check("duplicate forwards at most the kills", dup_fwd <= kills, dup_fwd)
        check("every outbox row sent", failed == 0, failed)
        check("PRAGMA integrity_check ok", integrity == "ok", integrity)
        # A kill between a commit and its UID STORE leaves \Seen owed: the
        # last daemon pays it.
        unseen = sb.unseen(rt.SERVICE)
        check("every email \\Seen at the end", unseen == 0, unseen)
    done()


if __name__ == "__main__":
    main()
