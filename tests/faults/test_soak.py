"""The hostile-mix soak: SOAK_N messages (default 500) from tests/faults/soak_mail.py
delivered in random batches, by IMAP APPEND and through Postfix, and texts
through the Esendex double, while one `relay run` keeps running (never
restarted); then, after a bounded wait for the daemon to drain, the invariants:

- every message delivered is stored exactly once (a 'setaside' row, with its
  reason in detail, counts as stored; an exact copy delivered twice is stored once);
- every young person's message that is not automatic mail is forwarded exactly
  once (an outbox row of kind 'forward' whose message is its row), and sent;
  automatic mail is kept and not forwarded (unless set aside);
- nothing is left unseen on the IMAP server, no text unacknowledged (Esendex:
  marked read or deleted) at the gateway double;
- the daemon never exits and never stops taking mail: a canary email and a
  canary text delivered last are forwarded; it stops cleanly on SIGTERM;
- PRAGMA integrity_check is ok; no ASan, LSan or UBSan report in its output.

Seeded: the seed is printed, SOAK_SEED=S reruns that mix. The relay is
RELAY_BIN, by default build/relay-asan (make soak: build/relay-test, SOAK_N=5000).
SOAK_STALL (default 60) seconds without progress end the drain wait early,
SOAK_DRAIN (default 900) bounds it. SOAK_SKIP=kind,kind leaves kinds of
soak_mail.py out of the mix (to see past one failure). Counts are printed as "soak:" lines and one
"faults: soak" line; each broken invariant names the messages (token, kind,
how delivered, what became of it). On failure the daemon's log and the
manifest are copied to tests/tmp/soak/."""
import atexit
import email
import email.policy
import imaplib
import json
import os
import random
import re
import shutil
import signal
import smtplib
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
# The sanitizer build by default (make check builds it); `make faults` builds
# only the normal one, which is then used, and the first line says so.
ASAN_NOTE = ""
if "RELAY_BIN" not in os.environ:
    os.environ["RELAY_BIN"] = os.path.join(ROOT, "build", "relay-asan")
    if not os.access(os.environ["RELAY_BIN"], os.X_OK):
        os.environ["RELAY_BIN"] = os.path.join(ROOT, "build", "relay-test")
        ASAN_NOTE = " (build/relay-asan is not built: make asan-bins)"
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "doubles"))
sys.path.insert(0, HERE)
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402
from sms_gateway import Gateway  # noqa: E402
import soak_mail  # noqa: E402
from soak_mail import Plan, TOKEN_RE  # noqa: E402

N = int(os.environ.get("SOAK_N", "500"))
SEED = int(os.environ.get("SOAK_SEED") or (time.time_ns() // 1000) % 1000000007)
STALL = float(os.environ.get("SOAK_STALL", "60"))
DRAIN = float(os.environ.get("SOAK_DRAIN", "900"))
SHOW = 25   # messages named per broken invariant
SANITIZER = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: UndefinedBehavior")


def say(line):
    print("soak: " + line)
    sys.stdout.flush()


# --- delivery -----------------------------------------------------------------------------

class Imap:
    """One APPEND connection to the service's INBOX, made again when it breaks."""

    def __init__(self, sb):
        self.sb = sb
        self.conn = None

    def append(self, raw):
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = self.sb.imap(rt.SERVICE, timeout=60)
                typ, data = self.conn.append("INBOX", None, None, raw)
                if typ == "OK":
                    return None
                return "APPEND %s %r" % (typ, data)
            except (imaplib.IMAP4.error, OSError) as e:
                self.close()
                if attempt:
                    return "APPEND failed: %r" % e
        return "APPEND failed"

    def close(self):
        if self.conn is not None:
            try:
                self.conn.logout()
            except (imaplib.IMAP4.error, OSError):
                pass
        self.conn = None


class Smtp:
    """One unauthenticated SMTP session (young people and automatic mail arrive
    from outside, on port 25's rules), made again when it breaks."""

    def __init__(self, sb):
        self.sb = sb
        self.conn = None

    def send(self, envelope_from, raw):
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = self.sb.smtp(timeout=60)
                self.conn.sendmail(envelope_from, [rt.SERVICE], raw)
                return None
            except smtplib.SMTPResponseException as e:
                self.close()
                return "SMTP %d %r" % (e.smtp_code, e.smtp_error[:100])
            except (smtplib.SMTPException, OSError) as e:
                self.close()
                if attempt:
                    return "SMTP failed: %r" % e
        return "SMTP failed"

    def close(self):
        if self.conn is not None:
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
        self.conn = None


class Watcher:
    """New messages in one mailbox, by UID, oldest first."""

    def __init__(self, sb, user):
        self.sb, self.user, self.last = sb, user, 0

    def new(self):
        try:
            conn = self.sb.imap(self.user, timeout=30)
        except (imaplib.IMAP4.error, OSError):
            return []
        found = []
        try:
            typ, data = conn.select("INBOX", readonly=True)
            if typ != "OK" or int(data[0]) == 0:
                return []
            typ, data = conn.uid("FETCH", "%d:*" % (self.last + 1), "(UID BODY.PEEK[])")
            for part in data or []:
                if isinstance(part, tuple):
                    uid = int(re.search(rb"UID (\d+)", part[0]).group(1))
                    if uid > self.last:
                        found.append((uid, email.message_from_bytes(part[1], policy=email.policy.default)))
        except (imaplib.IMAP4.error, OSError):
            return []
        finally:
            try:
                conn.logout()
            except (imaplib.IMAP4.error, OSError):
                pass
        found.sort(key=lambda x: x[0])
        if found:
            self.last = found[-1][0]
        return [m for _, m in found]


def text_of(msg):
    try:
        part = msg.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""
    except Exception:   # a forward is ours, but be safe
        return ""


def env_sender(it):
    """The envelope sender for SMTP: bounces have none; addresses smtplib cannot
    carry without SMTPUTF8 are replaced (the relay reads From: first)."""
    if it.kind == "automatic" and it.sub.startswith("bounce"):
        return ""
    s = it.sender or ""
    if re.fullmatch(r"[A-Za-z0-9._+-]{1,64}@[A-Za-z0-9.-]+[A-Za-z]", s):
        return s
    return "odd-sender@example.net"


# --- the database -------------------------------------------------------------------------

def ro(conf):
    path = os.path.join(os.path.dirname(conf), "relay.db")
    if not os.path.exists(path):
        return None
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=30)
    db.text_factory = lambda b: b.decode("utf-8", "replace")
    return db


def query(conf, sql, args=()):
    db = ro(conf)
    if db is None:
        return []
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def first_token(*texts):
    for t in texts:
        if t:
            m = re.search(TOKEN_RE, t)
            if m:
                return "soak-" + m.group(1)
    return None


# --- the run ------------------------------------------------------------------------------

class Run:
    def __init__(self, sb, gw, conf, plan):
        self.sb, self.gw, self.conf, self.plan = sb, gw, conf, plan
        self.rng = random.Random(SEED + 1)
        self.imap, self.smtp = Imap(sb), Smtp(sb)
        self.advisers = Watcher(sb, rt.ADVISERS[0])
        self.forwards = []            # dicts: ref, tag, id, subject, token
        self.by_token = {}            # token -> record dict
        self.sms_ids = {}             # provider id -> token
        self.autoreplies = {}         # young address -> (id, subject)
        self.looked = {}              # young address -> when its mailbox was last read
        self.wrote = []               # ordinary young addresses that have written
        self.purged_refs = set()
        self.purged_young = set()
        self.snapshot = {}            # message row id -> token, taken before a purge
        self.dupable = []             # tokens of ordinary mail APPENDed (exact copies possible)
        self.reusable_ids = []        # Message-IDs of delivered mail (repeated_mid)
        self.refused = []             # items no server would take
        self.skipped = []             # items that found nothing to answer
        self.via = {"imap": 0, "smtp": 0, "gateway": 0}

    def record(self, it, via, dup_of=None):
        tok = dup_of or it.token
        rec = self.by_token.setdefault(tok, {"item": it, "deliveries": 0, "via": []})
        rec["deliveries"] += 1
        rec["via"].append(via)
        self.via[via if via in self.via else "gateway"] += 1

    # -- what the advisers have been sent --

    def read_forwards(self):
        for m in self.advisers.new():
            body = text_of(m)
            if "Reply to this email to answer the young person" not in body:
                continue
            ref = re.search(r"\[([A-Z]+-[A-Z0-9]+)\]", str(m["Subject"] or ""))
            tag = re.search(r"rusafe\+[^>\s]+@example\.org", str(m["Reply-To"] or ""))
            if not ref or not tag:
                continue
            self.forwards.append({"ref": ref.group(1), "tag": tag.group(0), "id": str(m["Message-ID"]).strip("<> "),
                                  "subject": str(m["Subject"]), "token": first_token(body)})

    def forward_for(self, it):
        r = it.rng
        if it.sub == "purged":
            pool = [f for f in self.forwards if f["ref"] in self.purged_refs]
        elif it.sub == "unaddressable":
            pool = [f for f in self.forwards if f["token"] in self.by_token and
                    self.by_token[f["token"]]["item"].kind in ("no_from", "odd_address")]
        else:
            pool = [f for f in self.forwards if f["ref"] not in self.purged_refs]
        return r.choice(pool) if pool else None

    # -- completing the answers --

    def context(self, it, final=False):
        """ctx for plan.email, or None when there is nothing to answer yet."""
        r = it.rng
        if it.kind == "autoreply_reply":
            cands = [y for y in self.wrote if y not in self.purged_young]
            r.shuffle(cands)
            for y in cands[:4]:
                if y not in self.autoreplies and time.monotonic() - self.looked.get(y, -60) > 5:
                    self.looked[y] = time.monotonic()
                    for m in self.sb.messages(y):
                        if "auto-replied" in str(m["Auto-Submitted"] or "") and m["Message-ID"]:
                            self.autoreplies[y] = (str(m["Message-ID"]).strip("<> "), str(m["Subject"] or ""))
                if y in self.autoreplies:
                    return {"young": y, "autoreply_id": self.autoreplies[y][0],
                            "autoreply_subject": self.autoreplies[y][1]}
            return None
        if it.kind == "adviser_reply":
            f = self.forward_for(it)
            if f is None and final:
                it.sub = "normal (none %s)" % it.sub
                f = self.forward_for(it)
            if f is None:
                return None
            it.answers = f["ref"]
            return {"adviser": r.choice(rt.ADVISERS), "tag": f["tag"], "forward_id": f["id"],
                    "forward_subject": f["subject"]}
        if it.kind == "repeated_mid":
            return {"reuse_id": r.choice(self.reusable_ids)} if self.reusable_ids else None
        if it.kind == "exact_dup":
            if not self.dupable:
                return None
            tok = r.choice(self.dupable)
            it.dup_of = tok
            return {"raw": self.by_token[tok]["raw"]}
        return {}

    def deliver(self, it, final=False):
        """True when delivered (or refused, or given up); False: try later."""
        if it.channel == "sms":
            sender, body, raw = self.plan.text(it)
            pid = self.gw.add_inbound(sender, body, body_bytes=raw)
            self.sms_ids[pid] = it.token
            it.provider_id = pid
            self.record(it, "gateway")
            return True
        ctx = self.context(it, final)
        if ctx is None:
            if final:
                self.skipped.append(it)
                return True
            return False
        raw = self.plan.email(it, ctx)
        via = it.via or self.rng.choice(["imap", "smtp"])
        if it.kind == "adviser_reply" and via == "smtp":
            try:
                self.sb.send(ctx["adviser"], [ctx["tag"]], raw, auth_user=ctx["adviser"])
                err = None
            except (smtplib.SMTPException, OSError) as e:
                err = repr(e)
        else:
            err = self.imap.append(raw) if via == "imap" else self.smtp.send(env_sender(it), raw)
            if err and via == "smtp":   # Postfix refused it: the client would try another way
                via, err = "imap", self.imap.append(raw)
        if err:
            it.refusal = err
            self.refused.append(it)
            return True
        self.record(it, via, dup_of=getattr(it, "dup_of", None))
        if it.kind == "exact_dup":
            return True
        rec = self.by_token[it.token]
        if it.kind == "ordinary" and via == "imap":
            rec["raw"] = raw
            self.dupable.append(it.token)
        if it.msgid and it.kind in ("ordinary", "attachment", "html_only", "odd_address"):
            self.reusable_ids.append(it.msgid)
        if it.kind in ("ordinary", "attachment", "html_only", "malformed", "autoreply_reply") and it.sender and \
                it.sender.startswith("young") and it.sender not in self.wrote:
            self.wrote.append(it.sender)
        return True

    # -- purging a conversation under the running daemon --

    def purge_one(self):
        """Closes and purges (relay close, relay purge with the clock a year and
        more ahead) one email conversation whose forward the advisers have, so
        that advisers can answer a purged conversation. Rows of it are mapped to
        their tokens first: purge removes subject, body and raw."""
        self.read_forwards()
        pool = [f for f in self.forwards if f["ref"] not in self.purged_refs and f["token"] in self.by_token
                and self.by_token[f["token"]]["item"].kind == "ordinary"]
        if not pool:
            return False
        f = self.rng.choice(pool)
        db = ro(self.conf)
        try:
            for row_id, subj, body, mid in db.execute(
                    "SELECT m.id, m.subject, substr(m.body, 1, 4096), m.message_id FROM message m JOIN conversation c "
                    "ON c.id = m.conversation_id WHERE c.ref = ?", (f["ref"],)):
                tok = first_token(subj, mid if mid and mid.endswith("@soak.example.net") else None)
                if tok:
                    self.snapshot[row_id] = tok
        finally:
            db.close()
        c = rt.relay(self.conf, "close", f["ref"])
        p = rt.relay(self.conf, "purge", env={"RELAY_TEST_NOW": str(int(time.time()) + 400 * 86400)})
        ok = c.returncode == 0 and p.returncode == 0
        say("purged %s (close exit %d, purge exit %d: %s)" % (f["ref"], c.returncode, p.returncode,
                                                              (p.stdout + p.stderr).strip().splitlines()[-1:]))
        for out in (c.stderr, p.stderr):
            if SANITIZER.search(out):
                self.cli_sanitizer = out[-3000:]
        self.purged_refs.add(f["ref"])
        self.purged_young.add(self.by_token[f["token"]]["item"].sender)
        return ok


class Daemon:
    def __init__(self, conf, log):
        self.log = log
        self.out = open(log, "ab")
        self.proc = subprocess.Popen([rt.RELAY, "-c", conf, "run"], stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.died_at = None

    def alive(self):
        if self.proc.poll() is not None and self.died_at is None:
            self.died_at = time.monotonic()
        return self.proc.poll() is None

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.out.close()
                return None
        self.out.close()
        return self.proc.returncode


def main():
    t0 = time.monotonic()
    say("seed=%d n=%d relay=%s%s (rerun: SOAK_SEED=%d SOAK_N=%d)" % (
        SEED, N, os.path.relpath(rt.RELAY, ROOT), ASAN_NOTE, SEED, N))
    if not check("the relay binary exists", os.access(rt.RELAY, os.X_OK), rt.RELAY + " (make all asan-bins)"):
        done()
    skip = [k for k in os.environ.get("SOAK_SKIP", "").replace(",", " ").split() if k]
    if skip:
        say("kinds left out (SOAK_SKIP): " + " ".join(skip))
    plan = Plan(SEED, N, skip=skip)
    kinds = {}
    for it in plan.items:
        kinds[it.kind] = kinds.get(it.kind, 0) + 1
    say("generated %d: %d emails, %d texts; attachments %.1f MiB" % (
        N, sum(1 for i in plan.items if i.channel == "email"), sum(1 for i in plan.items if i.channel == "sms"),
        plan.attachment_bytes / 1048576))
    say("generated per kind: " + " ".join("%s=%d" % kv for kv in sorted(kinds.items())))

    with Sandbox() as sb, Gateway("esendex", number="+447700900000", page_size=20) as gw:
        work = os.path.join(sb.dir, "relay-soak")
        conf = rt.make_config(sb, work, poll_interval=5,
                              extra=rt.sms_section(gw, work, "poll_interval = 5\ntimeout = 10\n"))
        log = os.path.join(work, "daemon.log")
        daemon = Daemon(conf, log)
        # Never left running, whatever happens to this script.
        atexit.register(lambda: daemon.proc.poll() is None and daemon.proc.kill())
        deadline = time.monotonic() + 60
        while "relay started" not in daemon.text() and daemon.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        if not check("the daemon started", "relay started" in daemon.text(), daemon.text()[-2000:]):
            daemon.stop()
            done()
        run = Run(sb, gw, conf, plan)
        run.cli_sanitizer = None

        # -- the mix, in random batches, while the daemon runs --
        pending = list(plan.items)
        waiting = []
        purge_at = sorted({max(1, N * 3 // 10), max(2, N * 6 // 10)})
        purges = 0
        delivered = 0
        t_deliver = time.monotonic()
        t_answers = None
        while pending or waiting:
            if not pending:
                t_answers = t_answers or time.monotonic()
                # Only answers are left: give the relay a moment, then give up on them.
                time.sleep(2)
                run.read_forwards()
                final = time.monotonic() - t_answers > 30 or not daemon.alive()
                if "purged" in [w.sub for w in waiting] and not run.purged_refs:
                    run.purge_one()
                waiting = [w for w in waiting if not run.deliver(w, final=final)]
                continue
            batch = pending[:run.rng.randint(1, 40)]
            pending = pending[len(batch):]
            run.read_forwards()
            again = []
            # Answers waiting for something to answer: a few are tried each batch.
            for it in waiting[:5] + batch:
                if not run.deliver(it):
                    again.append(it)
                else:
                    delivered += 1
            waiting = waiting[5:] + again
            run.smtp.close()
            if purges < len(purge_at) and delivered >= purge_at[purges]:
                if run.purge_one():
                    purges += 1
            daemon.alive()
            time.sleep(run.rng.uniform(0, 0.6))
        run.imap.close()
        say("delivered in %.0f s: imap=%d smtp=%d gateway=%d refused=%d nothing-to-answer=%d purged=%d" % (
            time.monotonic() - t_deliver, run.via["imap"], run.via["smtp"], run.via["gateway"], len(run.refused),
            len(run.skipped), len(run.purged_refs)))
        for it in run.refused:
            say("refused by the server: %s: %s" % (it.label(), it.refusal))

        # -- the canaries, last --
        canary, raw = plan.canary("soak-%06d" % (N + 1))
        err = Smtp(sb).send(canary.sender, raw)
        check("the canary email was accepted by Postfix", err is None, err)
        run.record(canary, "smtp")
        ctext = soak_mail.Item(N + 2, SEED, "text")
        ctext.token = "soak-%06d" % (N + 2)
        cid = gw.add_inbound("07700 900399", "%s the last text of the soak" % ctext.token)
        run.sms_ids[cid] = ctext.token
        run.record(ctext, "gateway")

        # -- a bounded wait for the daemon to drain --
        t_drain = time.monotonic()
        last, last_change = None, time.monotonic()
        while True:
            unseen = sb.unseen(rt.SERVICE)
            unacked = sum(1 for m in gw.messages() if m["direction"] == "Inbound" and m.get("in_inbox")
                          and not m.get("read_at"))
            counts = query(conf, "SELECT (SELECT count(*) FROM message), (SELECT count(*) FROM outbox WHERE "
                           "state = 'sent'), (SELECT count(*) FROM outbox WHERE state = 'pending' AND kind = 'forward')")
            canaries = query(conf, "SELECT count(*) FROM outbox o JOIN message m ON m.id = o.message WHERE "
                             "o.kind = 'forward' AND o.state = 'sent' AND (m.message_id = ? OR m.body LIKE ?)",
                             (canary.msgid, ctext.token + "%"))
            sig = (unseen, unacked, counts[0] if counts else None)
            if sig != last:
                last, last_change = sig, time.monotonic()
            alive = daemon.alive()
            if unseen == 0 and unacked == 0 and counts and counts[0][2] == 0 and canaries and canaries[0][0] == 2:
                time.sleep(3)   # a duplicate, late, would show by now
                break
            if not alive or time.monotonic() - last_change > STALL or time.monotonic() - t_drain > DRAIN:
                break
            time.sleep(2)
        drained = time.monotonic() - t_drain
        say("drain wait %.0f s (unseen=%s unacknowledged=%s [message rows, outbox sent, forwards pending]=%s)" % (
            drained, last[0], last[1], list(last[2]) if last[2] else None))

        # -- the invariants --
        alive = daemon.alive()
        died = daemon.died_at
        check("the daemon never exited", alive, "exit %s after %.0f s; log tail:\n%s" % (
            daemon.proc.returncode, (died or 0) - t0, daemon.text()[-3000:]) if not alive else "")
        evaluate(run, conf, sb, gw, canary, ctext)
        rc = daemon.stop()
        text = daemon.text()
        check("the daemon stopped cleanly on SIGTERM (exit 0)", rc == 0 or not alive, rc)
        found = SANITIZER.search(text)
        check("no ASan/LSan/UBSan report in the daemon's output", not found,
              text[max(0, found.start() - 200):found.start() + 3000] if found else "")
        check("no sanitizer report from relay close/purge", not run.cli_sanitizer, run.cli_sanitizer)
        cursor = query(conf, "SELECT position FROM cursor WHERE source = 'imap:INBOX'")
        first = (cursor[0][0] if cursor else 0) + 1 if sb.unseen(rt.SERVICE) > 0 else None
        for uid, tok in named_uids(sb, text, first):
            rec = run.by_token.get(tok)
            say("%s IMAP uid %s: %s" % ("the first message past the daemon's cursor is" if uid == first else
                                        "the daemon's log names", uid,
                                        rec["item"].label() + " via " + "+".join(rec["via"]) if rec else
                                        tok or "(no token: not one of ours)"))
        errors = len(re.findall(r"relay error: ", text))
        say("daemon log: %d lines, %d errors; most repeated errors and warnings: %s" % (
            text.count("\n"), errors, most_repeated(text)))
        say("elapsed %.0f s" % (time.monotonic() - t0))
        if not _all_passed():
            keep(run, log, conf)
    done()


def named_uids(sb, text, first=None):
    """(uid, token) of each message the daemon's log names by IMAP uid ("stopped
    at message uid 223"), and of uid first, so that a wedged inbox names its
    poison message."""
    uids = sorted({int(u) for u in re.findall(r"\buid (\d+)", text)} | ({first} if first else set()))[:10]
    if not uids:
        return []
    out = []
    try:
        conn = sb.imap(rt.SERVICE, timeout=30)
        conn.select("INBOX", readonly=True)
        for uid in uids:
            typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[HEADER.FIELDS (SUBJECT MESSAGE-ID)])")
            head = b"".join(p[1] for p in data or [] if isinstance(p, tuple))
            m = re.search(TOKEN_RE.encode(), head)
            out.append((uid, "soak-" + m.group(1).decode() if m else None))
        conn.logout()
    except (imaplib.IMAP4.error, OSError) as e:
        out.append(("?", "could not read the mailbox: %r" % e))
    return out


def most_repeated(text):
    lines = {}
    for ln in text.splitlines():
        if re.search(r"relay (error|warning): ", ln):
            key = re.sub(r"\d+", "N", ln.split(": ", 1)[-1])[:160]
            lines[key] = lines.get(key, 0) + 1
    top = sorted(lines.items(), key=lambda kv: -kv[1])[:3]
    return "; ".join("%dx %r" % (n, k) for k, n in top) or "none"


def _all_passed():
    import lib
    return lib._failed == 0


def keep(run, log, conf):
    dest = os.path.join(ROOT, "tests", "tmp", "soak")
    os.makedirs(dest, exist_ok=True)
    shutil.copy(log, os.path.join(dest, "daemon.log"))
    manifest = {tok: {"kind": r["item"].kind, "sub": r["item"].sub, "via": r["via"], "deliveries": r["deliveries"],
                      "msgid": r["item"].msgid, "sender": r["item"].sender} for tok, r in run.by_token.items()}
    with open(os.path.join(dest, "manifest.json"), "w") as f:
        json.dump({"seed": SEED, "n": N, "messages": manifest}, f, indent=1, ensure_ascii=False)
    db = os.path.join(os.path.dirname(conf), "relay.db")
    if os.path.getsize(db) < 300 * 1048576:
        shutil.copy(db, os.path.join(dest, "relay.db"))
    say("kept for debugging: %s (daemon.log, manifest.json, relay.db)" % os.path.relpath(dest, ROOT))


def decoded_text(data):
    """Every part of an outgoing message, decoded, as one text."""
    out = []
    try:
        for part in email.message_from_bytes(data, policy=email.policy.compat32).walk():
            payload = part.get_payload(decode=True)
            if payload:
                out.append(payload.decode("utf-8", "replace"))
    except Exception as e:   # our own output should parse; say so if not
        out.append("unparsable: %r" % e)
    return "\n".join(out)


def evaluate(run, conf, sb, gw, canary, ctext):
    db = ro(conf)
    if db is None:
        check("the relay made its database", False, conf)
        return
    rows, by_mid = {}, {}
    for rid, kind, channel, mid, subj, body, detail, contact, purged in db.execute(
            "SELECT m.id, m.kind, m.channel, m.message_id, m.subject, substr(m.body, 1, 4096), m.detail, c.contact, "
            "m.purged_at FROM message m LEFT JOIN conversation c ON c.id = m.conversation_id"):
        # The subject first (every email of the mix has its token there; a
        # reused Message-ID names another message), then our own Message-IDs;
        # the body only for texts: a bounce of our own mail quotes a young
        # person's subject in its text.
        own_mid = mid if mid and mid.endswith("@soak.example.net") else None
        if mid:
            by_mid.setdefault(mid, []).append(rid)
        # A purged row has lost its subject: what it was is in the snapshot
        # taken before the purge (its Message-ID may be one a later message
        # reused, and would name that one).
        token = run.snapshot.get(rid) if purged else None
        rows[rid] = {"kind": kind, "channel": channel, "detail": detail, "contact": contact,
                     "token": token or first_token(subj, own_mid, body if channel == "sms" and subj is None else None)}
    # What the cheap columns did not name: the raw headers, the purge snapshot,
    # the texts' inbound keys, and keyword texts by their own number.
    for rid, r in rows.items():
        if r["token"] is None and r["channel"] == "email":
            (head,) = db.execute("SELECT substr(raw, 1, 65536) FROM message WHERE id = ?", (rid,)).fetchone()
            if head is not None:
                if isinstance(head, str):
                    head = head.encode("utf-8", "replace")
                head = re.split(rb"\r?\n\r?\n", head, maxsplit=1)[0]   # the header section only
                m = re.search(TOKEN_RE.encode(), head)
                r["token"] = "soak-" + m.group(1).decode() if m else None
        if r["token"] is None and rid in run.snapshot:
            r["token"] = run.snapshot[rid]
    for key, rid in db.execute("SELECT key, message FROM inbound_key WHERE key LIKE 'sms:%'"):
        pid = key.split(":", 2)[-1]
        if rid in rows and rows[rid]["token"] is None and pid in run.sms_ids:
            rows[rid]["token"] = run.sms_ids[pid]
    by_number = {}
    for tok, rec in run.by_token.items():
        it = rec["item"]
        if it.kind == "text_keyword":
            by_number["+44" + it.sender.replace(" ", "")[1:]] = tok
    for r in rows.values():
        if r["token"] is None and r["channel"] == "sms" and r["contact"] in by_number:
            r["token"] = by_number[r["contact"]]
    forwards = {}
    for oid, msg, state, err in db.execute("SELECT id, message, state, last_error FROM outbox WHERE kind = 'forward'"):
        forwards.setdefault(msg, []).append((state, err, oid))
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]

    token_rows = {}
    for rid, r in rows.items():
        if r["token"]:
            token_rows.setdefault(r["token"], []).append(rid)
    untracked = sum(1 for r in rows.values() if r["token"] is None and r["kind"] not in ("command", "note"))

    def what(tok):
        rec = run.by_token[tok]
        rs = token_rows.get(tok, [])
        desc = ", ".join("row %d %s%s%s" % (rid, rows[rid]["kind"], (" (%s)" % rows[rid]["detail"]) if
                                              rows[rid]["detail"] else "",
                                              " forwards %s" % [f[0] for f in forwards.get(rid, [])])
                         for rid in rs) or "no row"
        mid = rec["item"].msgid
        if not rs and mid and mid in by_mid:
            desc += "; its Message-ID is on row %s" % ", ".join(
                "%d (%s)" % (rid, rows[rid]["token"] or "untracked") for rid in by_mid[mid])
        return "%s via %s: %s" % (rec["item"].label(), "+".join(rec["via"]), desc)

    lost, dup_rows, not_fwd, dup_fwd, unsent, auto_fwd, no_reason, misfiled = [], [], [], [], [], [], [], []
    stored = setaside = forwarded = automatic = collapsed = 0
    for tok, rec in run.by_token.items():
        it = rec["item"]
        rs = token_rows.get(tok, [])
        if not rs:
            lost.append(tok)
            continue
        stored += 1
        if len(rs) > 1:
            dup_rows.append(tok)
        elif rec["deliveries"] > 1:
            collapsed += rec["deliveries"] - 1
        kinds = [rows[rid]["kind"] for rid in rs]
        aside = "setaside" in kinds
        setaside += aside
        automatic += "automatic" in kinds
        for rid in rs:
            if rows[rid]["kind"] == "setaside" and not (rows[rid]["detail"] or "").strip():
                no_reason.append(tok)
        fw = [f for rid in rs for f in forwards.get(rid, [])]
        forwarded += bool(fw)
        if it.expect_forward:
            if not fw:
                not_fwd.append(tok)
            elif len(fw) > 1:
                dup_fwd.append(tok)
            elif fw[0][0] != "sent":
                unsent.append(tok)
        elif it.kind == "automatic":
            if fw and not aside:
                auto_fwd.append(tok)
            if not aside and "automatic" not in kinds:
                misfiled.append(tok)

    # The forward shows the young person's words (their token), in its text or
    # in what it attaches, for every message whose text is readable.
    # Where the words are hidden by the malformation itself (a boundary that
    # text 200 levels down, base64 that is not) it is only noted. A boundary that
    # never comes is shown raw (mime.c), so its words must be there.
    blank, hidden = [], []
    for tok, rec in run.by_token.items():
        it = rec["item"]
        if not it.expect_forward or tok in not_fwd or tok in dup_fwd or it.kind == "text_keyword":
            continue
        fw = [f for rid in token_rows.get(tok, []) for f in forwards.get(rid, [])]
        if not fw:
            continue
        got = db.execute("SELECT data FROM outbox_data WHERE id = ?", (fw[0][2],)).fetchone()
        if got is None:
            continue   # purged with its conversation
        data = got[0] if isinstance(got[0], bytes) else got[0].encode("utf-8", "replace")
        want = tok if it.channel == "sms" else tok + soak_mail.BODY
        if want.encode() not in data and want not in decoded_text(data):
            (hidden if it.sub in ("bad_base64", "deep200") else blank).append(tok)
    db.close()

    msgs = len(run.by_token)
    say("stored=%d (set aside %d) of %d delivered; forwarded=%d; automatic=%d; duplicates collapsed=%d; "
        "untracked rows (bounces of our own mail and the like)=%d" % (
            stored, setaside, msgs, forwarded, automatic, collapsed, untracked))
    say("lost=%d duplicate_rows=%d not_forwarded=%d duplicate_forwards=%d forward_not_sent=%d" % (
        len(lost), len(dup_rows), len(not_fwd), len(dup_fwd), len(unsent)))

    def invariant(name, toks):
        for tok in toks[:SHOW]:
            say("BROKEN %s: %s" % (name, what(tok)))
        if len(toks) > SHOW:
            say("BROKEN %s: ... and %d more" % (name, len(toks) - SHOW))
        per = {}
        for tok in toks:
            k = run.by_token[tok]["item"].kind
            per[k] = per.get(k, 0) + 1
        check(name, not toks, "%d of %d: %s; e.g. %s" % (len(toks), msgs, per,
                                                         ", ".join(run.by_token[t]["item"].label() for t in toks[:5])))

    invariant("every message delivered is stored (or set aside)", lost)
    invariant("no message is stored twice", dup_rows)
    invariant("every young person's message that is not automatic is forwarded", not_fwd)
    invariant("no message is forwarded twice", dup_fwd)
    invariant("every forward is sent", unsent)
    invariant("the forward shows the young person's words", blank)
    for tok in hidden[:5]:
        say("note: the forward does not show the words of %s (not counted as a failure)" % what(tok))
    if len(hidden) > 5:
        say("note: ... and %d more such forwards" % (len(hidden) - 5))
    invariant("automatic mail is not forwarded", auto_fwd)
    invariant("automatic mail is kept as automatic", misfiled)
    invariant("a message set aside says why", no_reason)
    canary_ok = canary.token in token_rows and any(
        f[0] == "sent" for rid in token_rows[canary.token] for f in forwards.get(rid, []))
    text_ok = ctext.token in token_rows and any(
        f[0] == "sent" for rid in token_rows[ctext.token] for f in forwards.get(rid, []))
    check("the daemon still takes mail: the canary email (delivered last) is forwarded", canary_ok,
          what(canary.token))
    check("the daemon still takes texts: the canary text (delivered last) is forwarded", text_ok, what(ctext.token))
    # Postfix's own reports (a delivery that failed later, to one of the odd
    # domains) can land after the drain: the running daemon must take them too.
    deadline = time.monotonic() + 30
    unseen = sb.unseen(rt.SERVICE)
    while unseen != 0 and time.monotonic() < deadline:
        time.sleep(1)
        unseen = sb.unseen(rt.SERVICE)
    check("nothing is left unseen on the IMAP server", unseen == 0, "%d unseen" % unseen)
    unacked = [m for m in gw.messages() if m["direction"] == "Inbound" and m.get("in_inbox") and not m.get("read_at")]
    for m in unacked[:SHOW]:
        tok = run.sms_ids.get(m["id"])
        say("BROKEN no text left unacknowledged: %s" % (what(tok) if tok else m["id"]))
    check("no text is left unacknowledged at the gateway (Esendex: read or deleted)", not unacked,
          "%d of %d" % (len(unacked), len(run.sms_ids)))
    check("PRAGMA integrity_check is ok", integrity == "ok", integrity)
    print("faults: soak seed=%d messages_in=%d stored=%d set_aside=%d forwarded=%d automatic=%d "
          "duplicates_collapsed=%d lost=%d duplicate_rows=%d not_forwarded=%d duplicate_forwards=%d unseen=%d "
          "unacknowledged=%d canary=%s integrity=%s" % (
              SEED, msgs, stored, setaside, forwarded, automatic, collapsed, len(lost), len(dup_rows), len(not_fwd),
              len(dup_fwd), unseen, len(unacked), "ok" if canary_ok and text_ok else "lost", integrity))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
