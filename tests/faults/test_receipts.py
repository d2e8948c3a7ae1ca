"""Receipts (relay/receipts.h): a relay killed after the SMTP server took a
message but before the relay recorded it leaves the message's receipt in a
file beside the database; whoever sends next records it as sent instead of
sending it again. A receipt matches only its own message (id and Message-ID),
and a live relay's file is left to it.

Real Dovecot and Postfix (tests/sandbox); the receipt files are written here
as a killed relay leaves them."""
import fcntl
import glob
import os
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402


def delivered(sb, message_id):
    """How many copies of message_id the first adviser holds."""
    return sum(1 for m in sb.messages(rt.ADVISERS[0]) if m["Message-ID"] == message_id)


def pending_forwards(conf):
    with rt.db(conf) as db:
        return db.execute("SELECT id, message_id FROM outbox WHERE state = 'pending' AND kind = 'forward' "
                          "ORDER BY id").fetchall()


def main():
    with Sandbox() as sb:
        work = os.path.join(sb.dir, "relay-receipts")
        closed = rt.free_port()
        conf = rt.make_config(sb, work, smtp_port=closed)
        dbpath = os.path.join(work, "relay.db")
        for i in range(4):
            sb.append(rt.SERVICE, rt.mail(f"yp{i}@example.net", rt.SERVICE, f"receipts {i}",
                                           f"please help, message {i}"))
        # The SMTP server is away: everything is stored and queued.
        r = rt.relay(conf, "poll")
        rows = pending_forwards(conf)
        check("queued while the server is away", len(rows) == 4, (r.returncode, len(rows), r.stderr[-400:]))
        check("a clean exit leaves no receipt file", glob.glob(dbpath + ".receipts-*") == [],
              glob.glob(dbpath + ".receipts-*"))

        # A relay killed mid-session left receipts: row 0 (its own Message-ID),
        # row 1 by id but another message's Message-ID (a restored database),
        # and a line cut short by the kill.
        (id0, mid0), (id1, mid1), (id2, mid2), (id3, mid3) = rows
        dead = dbpath + ".receipts-99999999"
        with open(dead, "w") as f:
            f.write(f"{id0} {mid0}\n{id1} <not-this-one@example.org>\n{id2} {mid2[:5]}")
        os.chmod(dead, 0o600)
        # A live relay's file (locked): left alone.
        live = dbpath + ".receipts-99999998"
        held = open(live, "w")
        held.write(f"{id3} {mid3}\n")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX)

        rt.edit_config(conf, f"port = {closed}", f"port = {sb.smtp_port}")
        r = rt.relay(conf, "poll")
        check("poll with the server back", r.returncode == 0, r.stderr[-800:])
        check("the receipt is recorded, said once",
              "1 message the mail server took just before a relay stopped is now recorded as sent" in r.stderr,
              r.stderr[-800:])
        with rt.db(conf) as db:
            state = dict(db.execute("SELECT id, state FROM outbox").fetchall())
            attempts0 = db.execute("SELECT attempts, sent_at IS NOT NULL FROM outbox WHERE id = ?",
                                   (id0,)).fetchone()
            audit = db.execute("SELECT count(*) FROM audit WHERE action = 'sent forward'").fetchone()[0]
        check("receipted row: sent", state[id0] == "sent", state[id0])
        check("receipted row: one attempt, a time", attempts0 == (1, 1), attempts0)
        check("receipted row: not sent again", delivered(sb, f"<{mid0}>") + delivered(sb, mid0) == 0,
              delivered(sb, mid0))
        check("another Message-ID: the row is sent normally", state[id1] == "sent" and
              delivered(sb, f"<{mid1}>") + delivered(sb, mid1) == 1)
        check("a cut line: the row is sent normally", state[id2] == "sent" and
              delivered(sb, f"<{mid2}>") + delivered(sb, mid2) == 1)
        check("every forward recorded sent in the audit trail", audit == 4, audit)
        check("the settled file is removed", not os.path.exists(dead))
        check("a live relay's file is left alone", os.path.exists(live))
        check("a live relay's receipt is not applied by another: its row went normally", state[id3] == "sent")

        # The live relay is gone: its file is settled (the row is already
        # sent, so nothing changes) and removed.
        fcntl.flock(held, fcntl.LOCK_UN)
        held.close()
        sb.append(rt.SERVICE, rt.mail("yp9@example.net", rt.SERVICE, "one more", "another message"))
        r = rt.relay(conf, "poll")
        check("next poll", r.returncode == 0, r.stderr[-800:])
        check("the gone relay's file is removed", not os.path.exists(live))
        check("nothing said for receipts already recorded", "recorded as sent" not in r.stderr, r.stderr[-400:])
        check("the row stays sent once", delivered(sb, f"<{mid3}>") + delivered(sb, mid3) == 1)
        check("no receipt file left", glob.glob(dbpath + ".receipts-*") == [], glob.glob(dbpath + ".receipts-*"))

        # A receipt file that cannot be read stops nothing else.
        bad = dbpath + ".receipts-99999997"
        os.mkdir(bad)
        sb.append(rt.SERVICE, rt.mail("yp10@example.net", rt.SERVICE, "and another", "a third"))
        r = rt.relay(conf, "poll")
        with rt.db(conf) as db:
            left = db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
        check("an unreadable receipt file: named in the log", "receipts-99999997" in r.stderr, r.stderr[-600:])
        check("an unreadable receipt file: what is due still goes", left == 0, left)
        os.rmdir(bad)
    return done()


if __name__ == "__main__":
    sys.exit(main())
