"""Faults around the relay, each shown to lose and duplicate nothing: the disk
holding the database fills up during a burst; the IMAP connection is cut while
a FETCH response streams; a server's host name does not resolve (IMAP, SMTP,
the SMS gateway); Dovecot and Postfix restart under a running daemon; SIGTERM
arrives mid-cycle; the relay's own files are changeable by someone else
(every start refuses them, naming the file and the fix).

Real Dovecot and Postfix (tests/sandbox) and the gateway doubles. Each part
prints one "faults:" line with its counts. `python3 test_surroundings.py PART`
runs one part (disk_full, dropped_fetch, dns, restarts, sigterm, local_files)."""
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "doubles"))
from lib import LoopbackProxy, Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402
from sms_gateway import Gateway  # noqa: E402

SID = "AC" + "5" * 32
BAD_NAME = "relay-test.invalid"   # RFC 6761: never resolves


# --- counting ---------------------------------------------------------------------------

def body_of(msg):
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def tokens_in(texts, prefix):
    seen = {}
    for t in texts:
        for tok in set(re.findall(r"token-(%s\d{3})" % prefix, t or "")):
            seen[tok] = seen.get(tok, 0) + 1
    return seen


def tally(sb, conf, name, tokens, prefix, fwd_before, wait=30):
    """Counts what became of tokens: stored (once?), forwarded to the advisers
    (once?), and checks and prints it as one "faults:" line."""
    try:
        sb.wait_for(rt.ADVISERS[0], fwd_before + len(tokens), timeout=wait)
    except TimeoutError:
        pass
    time.sleep(1.0)   # a duplicate would show by now
    bodies = [b for (b,) in rows(conf, "SELECT body FROM message WHERE kind = 'inbound'")]
    want = set(tokens)
    stored = {t: n for t, n in tokens_in(bodies, prefix).items() if t in want}
    msgs = sb.messages(rt.ADVISERS[0])[fwd_before:]
    fwd = {t: n for t, n in tokens_in([body_of(m) for m in msgs], prefix).items() if t in want}
    # A duplicate with one Message-ID was sent (or delivered) twice; with two, queued twice.
    dup_ids = {t: [str(m["Message-ID"]) for m in msgs if f"token-{t}" in body_of(m)] for t, n in fwd.items() if n > 1}
    lost = [t for t in tokens if t not in stored]
    not_fwd = [t for t in tokens if t not in fwd]
    dup_rows = sum(n - 1 for n in stored.values())
    dup_fwd = sum(n - 1 for n in fwd.values())
    print(f"faults: {name}: messages_in={len(tokens)} stored={len(stored)} forwarded={len(fwd)} lost={len(lost)} "
          f"duplicate_rows={dup_rows} duplicate_forwards={dup_fwd}")
    check(f"{name}: nothing lost, every message stored", not lost, lost)
    check(f"{name}: every message forwarded", not not_fwd, not_fwd)
    check(f"{name}: no duplicate rows", dup_rows == 0, dup_rows)
    check(f"{name}: no duplicate forwards", dup_fwd == 0, dup_ids)


def empty_inbox(sb):
    """Parts share the service's mailbox: each starts from an empty one."""
    conn = sb.imap(rt.SERVICE)
    typ, data = conn.select("INBOX")
    if int(data[0]):
        conn.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
        conn.expunge()
    conn.logout()


def email(sb, tok, young=None):
    young = young or f"young{int(tok[1:]) % 7}@example.net"
    sb.send(young, [rt.SERVICE], rt.mail(young, rt.SERVICE, "help", f"message token-{tok}\n",
                                         msgid=f"{tok}.{time.time_ns()}@example.net"))


def text(gw, tok):
    gw.add_inbound(f"07700 900{int(tok[1:]) % 7 + 100:03d}", f"text token-{tok}")


def rows(conf, sql):
    """Rows of a read-only query; none while the relay has not made its
    database yet (a plain connect would create an empty one under it)."""
    path = os.path.join(os.path.dirname(conf), "relay.db")
    if not os.path.exists(path):
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    except sqlite3.OperationalError:   # no schema yet
        return []
    finally:
        db.close()


def stored_count(conf, prefix):
    return len(tokens_in([b for (b,) in rows(conf, "SELECT body FROM message WHERE kind = 'inbound'")], prefix))


def pending(conf):
    return len(rows(conf, "SELECT id FROM outbox WHERE state = 'pending'"))


def wait_until(cond, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def catches_sigterm(pid):
    """Has process pid installed a handler for SIGTERM (/proc's SigCgt)?"""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    except OSError:
        pass
    return False


class Daemon:
    """`relay run` with its log in a file."""

    def __init__(self, conf, log):
        self.log = log
        self.out = open(log, "a")
        self.proc = subprocess.Popen([rt.RELAY, "-c", conf, "run"], stdout=self.out, stderr=subprocess.STDOUT)

    def text(self):
        return open(self.log).read()

    def wait_log(self, pattern, timeout=20):
        return wait_until(lambda: re.search(pattern, self.text()), timeout)

    def stop(self, timeout=30):
        """SIGTERM; returns the exit status (None when it had to be killed)."""
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


# --- 1. the disk fills up -------------------------------------------------------------------

def disk_full(sb):
    """The database (and the whole state directory) on a small tmpfs, filled
    while a burst of emails and texts arrives: one log line, nothing taken in or
    acknowledged, and when space returns everything once, by itself."""
    empty_inbox(sb)
    work = os.path.join(sb.dir, "relay-disk")
    os.makedirs(work)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "relay-disk", work], check=True)
    daemon = None
    try:
        with Gateway("esendex", number="+447700900000", page_size=5) as gw:
            conf = rt.make_config(sb, work, extra=rt.sms_section(gw, work, "poll_interval = 5\ntimeout = 3\n"))
            before = len(sb.messages(rt.ADVISERS[0]))
            daemon = Daemon(conf, os.path.join(sb.dir, "disk-run.log"))
            daemon.wait_log("relay started")
            email(sb, "D900")
            text(gw, "D901")
            ok = wait_until(lambda: stored_count(conf, "D") == 2 and pending(conf) == 0, 30)
            check("disk: the daemon works before the disk fills", ok, daemon.text()[-1500:])
            sb.wait_for(rt.ADVISERS[0], before + 2)

            filler = os.path.join(work, "filler")
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                for chunk in (1 << 16, 1 << 12, 1 << 9):
                    try:
                        while True:
                            os.write(fd, b"\0" * chunk)
                    except OSError:
                        pass
            finally:
                os.close(fd)
            free = os.statvfs(work).f_bavail
            check("disk: the tmpfs is full", free == 0, free)
            log_at = len(daemon.text())
            acks_at = len(gw.acks)
            fwd_at = len(sb.messages(rt.ADVISERS[0]))
            burst = [f"D{i:03d}" for i in range(20)]
            for tok in burst:
                if int(tok[1:]) % 2:
                    text(gw, tok)
                else:
                    email(sb, tok)
            sb.wait_for(rt.SERVICE, 11)   # the warm-up email, then the burst's ten
            said = daemon.wait_log(r"the disk holding \S+relay\.db is full", timeout=30)
            check("disk: the relay says the disk is full, naming the database", said, daemon.text()[log_at:][-2000:])
            time.sleep(8)   # several more cycles against the full disk
            log = daemon.text()[log_at:]
            full_lines = [l for l in log.splitlines() if "is full" in l]
            others = [l for l in log.splitlines() if re.search(r" relay (error|warning): ", l) and "is full" not in l]
            check("disk: said once, not per message or cycle", len(full_lines) == 1, full_lines)
            check("disk: no other error or warning while full", not others, others[:5])
            check("disk: the daemon is still running", daemon.proc.poll() is None, log[-1500:])
            check("disk: nothing of the burst stored", stored_count(conf, "D") == 2, stored_count(conf, "D"))
            check("disk: no email marked \\Seen", sb.unseen(rt.SERVICE) == 10, sb.unseen(rt.SERVICE))
            check("disk: no text acknowledged to the gateway", len(gw.acks) == acks_at, gw.acks[acks_at:])
            check("disk: nothing forwarded", len(sb.messages(rt.ADVISERS[0])) == fwd_at)

            os.remove(filler)
            t0 = time.monotonic()
            ok = wait_until(lambda: stored_count(conf, "D") == 22 and pending(conf) == 0, 40)
            took = time.monotonic() - t0
            print(f"info: the daemon took in and sent the burst {took:.1f}s after the filler went")
            check("disk: the daemon resumes by itself when space returns", ok, daemon.text()[log_at:][-2000:])
            check("disk: and says so", "takes writes again" in daemon.text()[log_at:])
            check("disk: every email marked \\Seen after the commit", sb.unseen(rt.SERVICE) == 0, sb.unseen(rt.SERVICE))
            burst_ids = {i for (a, i) in gw.acks[acks_at:]}
            check("disk: every text acknowledged once", len(gw.acks) - acks_at == 10 and len(burst_ids) == 10,
                  gw.acks[acks_at:])
            tally(sb, conf, "disk full", burst, "D", fwd_at)
            rc = daemon.stop()
            check("disk: SIGTERM exits 0", rc == 0, rc)
            db = rt.db(conf)
            check("disk: PRAGMA integrity_check ok", db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
            db.close()
    finally:
        if daemon and daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()
        if subprocess.run(["umount", work]).returncode != 0:
            subprocess.run(["umount", "-l", work])


# --- 2. the IMAP connection cut mid-FETCH ---------------------------------------------------

class CuttingProxy(LoopbackProxy):
    """A TCP proxy to Dovecot's plain IMAP port. Armed with arm(nth, after), it
    cuts both sides once `after` bytes of the answer to the nth body FETCH
    (counted from arming) have passed: a server gone mid-response."""

    def __init__(self, target_port):
        self.lock = threading.Lock()
        self.nth = None
        self.after = 0
        self.fetches = 0
        self.cuts = 0
        super().__init__(target_port)

    def arm(self, nth, after):
        with self.lock:
            self.nth, self.after, self.fetches = nth, after, 0

    def serve(self, client, server):
        state = {"budget": None}
        threading.Thread(target=self._up, args=(client, server, state), daemon=True).start()
        threading.Thread(target=self._down, args=(server, client, state), daemon=True).start()

    @staticmethod
    def _cut(*socks):
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _up(self, client, server, state):
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                if b"BODY.PEEK[]" in data.upper():
                    with self.lock:
                        self.fetches += 1
                        if self.fetches == self.nth:
                            state["budget"] = self.after
                            self.nth = None
                server.sendall(data)
        except OSError:
            pass
        self._cut(server)

    def _down(self, server, client, state):
        try:
            while True:
                data = server.recv(65536)
                if not data:
                    break
                budget = state["budget"]
                if budget is not None and len(data) >= budget:
                    client.sendall(data[:budget])
                    with self.lock:
                        self.cuts += 1
                    break
                if budget is not None:
                    state["budget"] = budget - len(data)
                client.sendall(data)
        except OSError:
            pass
        self._cut(client, server)


def append_many(sb, toks, pad=0, big=(), big_pad=0):
    """Appends one message per token; its body pad (big: big_pad) bytes long."""
    conn = sb.imap(rt.SERVICE)
    for tok in toks:
        young = f"young{int(tok[1:]) % 7}@example.net"
        filler = ("x" * 71 + "\n") * ((big_pad if tok in big else pad) // 72)
        conn.append("INBOX", None, None, rt.mail(young, rt.SERVICE, "help", f"message token-{tok}\n{filler}",
                                                 msgid=f"{tok}.{time.time_ns()}@example.net"))
    conn.logout()


def dropped_fetch(sb):
    """The connection cut while a FETCH response streams: inside the first
    batch (nothing of it stored or \\Seen), and in the second of two batches
    (the first kept, the second not); the next poll takes each message once."""
    empty_inbox(sb)
    proxy = CuttingProxy(sb.imap_port)
    try:
        work = os.path.join(sb.dir, "relay-fetch")
        conf = rt.make_config(sb, work, imap_host="127.0.0.1", imap_port=proxy.port, imap_security="none")
        rt.edit_config(conf, "[imap]\n", "[imap]\nbatch_size = 50\n")
        rt.relay(conf, "poll")   # the first poll: an empty mailbox sets the cursor
        fwd_at = len(sb.messages(rt.ADVISERS[0]))

        # Six messages, cut in the middle of the third.
        first = [f"F{i:03d}" for i in range(6)]
        append_many(sb, first)
        proxy.arm(1, 1500)
        r = rt.relay(conf, "poll")
        check("fetch cut: the poll fails cleanly", r.returncode == 1 and "fetching messages" in r.stderr,
              r.stderr[-800:])
        check("fetch cut: the cut happened", proxy.cuts == 1, proxy.cuts)
        check("fetch cut: nothing of the batch stored", stored_count(conf, "F") == 0, stored_count(conf, "F"))
        check("fetch cut: nothing marked \\Seen", sb.unseen(rt.SERVICE) == 6, sb.unseen(rt.SERVICE))
        check("fetch cut: nothing queued", pending(conf) == 0, pending(conf))

        # 55 more: two batches of 50 ([imap] batch_size); the second FETCH is cut.
        second = [f"F{i:03d}" for i in range(100, 155)]
        append_many(sb, second)
        proxy.arm(2, 1000)
        r = rt.relay(conf, "poll")
        check("fetch cut in the second batch: the poll fails cleanly", r.returncode == 1, r.stderr[-800:])
        check("fetch cut in the second batch: the cut happened", proxy.cuts == 2, proxy.cuts)
        n = stored_count(conf, "F")
        check("fetch cut in the second batch: the first batch kept, the second not", n == 50, n)
        # \Seen is owed to the stored first batch: paid at the end of a poll
        # (or every 1,000 messages), so this poll, cut, left it owed.
        check("fetch cut in the second batch: nothing \\Seen, the first batch owed", sb.unseen(rt.SERVICE) == 61, sb.unseen(rt.SERVICE))

        r = rt.relay(conf, "poll")
        check("fetch cut: the next poll succeeds", r.returncode == 0, r.stderr[-800:])
        n = stored_count(conf, "F")
        check("fetch cut: the next poll stored the rest", n == 61, n)
        check("fetch cut: everything \\Seen now", sb.unseen(rt.SERVICE) == 0, sb.unseen(rt.SERVICE))
        tally(sb, conf, "fetch cut", first + second, "F", fwd_at, wait=60)
        r = rt.relay(conf, "poll")
        check("fetch cut: a further poll takes nothing twice", stored_count(conf, "F") == 61)

        # One batch in several runs of FETCH: the next run is asked for before
        # this run's messages are handed over. 147 messages of 10 KB and three
        # over [imap] max_message_kb (taken cut to it), in runs of at most
        # 512 KiB; the cut comes in the third run's answer, after two runs were
        # handed over and before the batch was committed.
        rt.edit_config(conf, "batch_size = 50\n", "batch_size = 200\nmax_message_kb = 64\n")
        third = [f"F{i:03d}" for i in range(200, 350)]
        big = set(third[-3:])
        append_many(sb, third, pad=10000, big=big, big_pad=100000)
        fwd_third = len(sb.messages(rt.ADVISERS[0]))
        proxy.arm(3, 1000)
        r = rt.relay(conf, "poll")
        check("fetch cut in a later run: the poll fails cleanly",
              r.returncode == 1 and "fetching messages" in r.stderr, r.stderr[-800:])
        check("fetch cut in a later run: the cut happened", proxy.cuts == 3, proxy.cuts)
        check("fetch cut in a later run: nothing of the batch stored", stored_count(conf, "F") == 61,
              stored_count(conf, "F"))
        check("fetch cut in a later run: nothing marked \\Seen", sb.unseen(rt.SERVICE) == 150, sb.unseen(rt.SERVICE))
        r = rt.relay(conf, "poll")
        check("runs: the next poll succeeds", r.returncode == 0, r.stderr[-800:])
        check("runs: every message stored, once", stored_count(conf, "F") == 211, stored_count(conf, "F"))
        check("runs: everything \\Seen now", sb.unseen(rt.SERVICE) == 0, sb.unseen(rt.SERVICE))
        cut = len(re.findall(r"warning: a message was cut \(imap:INBOX:\d+:\d+\): it is larger than \[imap\] "
                             r"max_message_kb \(64 KiB\)", r.stderr))
        check("runs: the three large messages taken cut to max_message_kb", cut == 3,
              [l for l in r.stderr.splitlines() if "larger" in l or "warning" in l][:10])
        lengths = [n for (n,) in rows(conf, "SELECT length(raw) FROM message WHERE kind = 'inbound' "
                                            "AND body LIKE 'message token-F3%'")]
        check("runs: each large one stored at 64 KiB", sorted(lengths)[-3:] == [65536] * 3, sorted(lengths)[-3:])
        tally(sb, conf, "runs", third, "F", fwd_third, wait=60)

        # \Seen is paid every 1,000 messages within a poll, not only at its
        # end: 1,200 small messages in batches of 200, the sixth batch cut.
        def g_stored():
            return rows(conf, "SELECT count(*) FROM message WHERE kind = 'inbound' "
                              "AND body LIKE 'message token-G%'")[0][0]

        append_many(sb, [f"G{i:04d}" for i in range(1200)])
        proxy.arm(21, 1000)   # runs of at most 64: four body FETCHes a batch
        r = rt.relay(conf, "poll")
        check("seen every 1,000: the sixth batch cut", r.returncode == 1 and proxy.cuts == 4,
              (proxy.cuts, r.stderr[-600:]))
        check("seen every 1,000: five batches stored", g_stored() == 1000, g_stored())
        check("seen every 1,000: the first 1,000 \\Seen, the sixth batch not", sb.unseen(rt.SERVICE) == 200, sb.unseen(rt.SERVICE))
        r = rt.relay(conf, "poll")
        check("seen every 1,000: the next poll takes the rest, once, and all are \\Seen",
              r.returncode == 0 and g_stored() == 1200 and sb.unseen(rt.SERVICE) == 0, (g_stored(), sb.unseen(rt.SERVICE), r.stderr[-600:]))
    finally:
        proxy.close()


# --- 3. host names that do not resolve -----------------------------------------------------

def set_host(conf, section, host):
    text = open(conf).read()
    text = re.sub(r"(\[%s\]\nhost = )\S+" % section, lambda m: m.group(1) + host, text)
    open(conf, "w").write(text)


def set_sms_url(conf, url):
    text = open(conf).read()
    open(conf, "w").write(re.sub(r"(?m)^url = \S+", "url = " + url, text))


def dns(sb):
    empty_inbox(sb)
    with Gateway("twilio", username=SID, password="tok", account=SID, number="+447700900000") as gw:
        work = os.path.join(sb.dir, "relay-dns")
        conf = rt.make_config(sb, work, extra=rt.twilio_section(gw, work, SID, extra="poll_interval = 5\ntimeout = 3\n"))
        rt.relay(conf, "poll")   # the first poll
        fwd_at = len(sb.messages(rt.ADVISERS[0]))
        toks = []

        # IMAP's name fails: texts still go.
        imap_name = "imap." + BAD_NAME
        set_host(conf, "imap", imap_name)
        r = rt.relay(conf, "check")
        check("dns imap: check names the server and the failure", re.search(
            r"^FAIL\s+imap %s:\d+.*cannot resolve" % re.escape(imap_name), r.stdout, re.M), r.stdout[-600:])
        email(sb, "N000")
        text(gw, "N001")
        toks += ["N000", "N001"]
        sb.wait_for(rt.SERVICE, 1)
        r = rt.relay(conf, "poll")
        check("dns imap: the poll fails, naming the IMAP server",
              r.returncode == 1 and re.search(r"error: imap %s:\d+: cannot resolve" % re.escape(imap_name), r.stderr),
              r.stderr[-600:])
        check("dns imap: the text is still stored", stored_count(conf, "N") == 1, stored_count(conf, "N"))
        msgs = sb.wait_for(rt.ADVISERS[0], fwd_at + 1)
        check("dns imap: the text is still forwarded", any("token-N001" in body_of(m) for m in msgs[fwd_at:]))
        check("dns imap: the email waits unread", sb.unseen(rt.SERVICE) == 1, sb.unseen(rt.SERVICE))
        set_host(conf, "imap", "localhost")
        r = rt.relay(conf, "poll")
        check("dns imap: with the name fixed the email is taken", r.returncode == 0 and stored_count(conf, "N") == 2,
              r.stderr[-600:])

        # The gateway's name fails: emails still go.
        sms_url = gw.url
        set_sms_url(conf, "https://sms." + BAD_NAME)
        r = rt.relay(conf, "check")
        check("dns sms: check names the gateway and the failure", re.search(
            r"^FAIL\s+sms twilio https://sms\.%s.*host name not found" % re.escape(BAD_NAME), r.stdout, re.M),
              r.stdout[-600:])
        email(sb, "N002")
        text(gw, "N003")
        toks += ["N002", "N003"]
        sb.wait_for(rt.SERVICE, 2)
        r = rt.relay(conf, "poll")
        check("dns sms: the poll fails, naming the gateway's host",
              r.returncode == 1 and re.search(r"error: sms twilio: .*sms\.%s" % re.escape(BAD_NAME), r.stderr),
              r.stderr[-600:])
        check("dns sms: the email is still stored and forwarded", stored_count(conf, "N") == 3 and pending(conf) == 0,
              (stored_count(conf, "N"), pending(conf)))
        set_sms_url(conf, sms_url)
        r = rt.relay(conf, "poll")
        check("dns sms: with the name fixed the text is taken", r.returncode == 0 and stored_count(conf, "N") == 4,
              r.stderr[-600:])

        # SMTP's name fails under the daemon: forwards stay queued, and go once
        # the name is fixed and the configuration reloaded.
        smtp_name = "smtp." + BAD_NAME
        set_host(conf, "smtp", smtp_name)
        r = rt.relay(conf, "check")
        check("dns smtp: check names the server and the failure", re.search(
            r"^FAIL\s+smtp %s:\d+.*cannot find SMTP host %s" % (re.escape(smtp_name), re.escape(smtp_name)),
            r.stdout, re.M), r.stdout[-600:])
        fwd_mid = len(sb.messages(rt.ADVISERS[0]))
        daemon = Daemon(conf, os.path.join(sb.dir, "dns-run.log"))
        try:
            for tok in ("N004", "N006"):
                email(sb, tok)
            for tok in ("N005", "N007"):
                text(gw, tok)
            toks += ["N004", "N005", "N006", "N007"]
            ok = wait_until(lambda: stored_count(conf, "N") == 8, 30)
            check("dns smtp: emails and texts still stored", ok, stored_count(conf, "N"))
            check("dns smtp: their forwards and auto-replies wait in the outbox", pending(conf) >= 4, pending(conf))
            check("dns smtp: the log names the SMTP server", daemon.wait_log(
                r"warning: outbox: cannot find SMTP host %s" % re.escape(smtp_name), timeout=15), daemon.text()[-800:])
            check("dns smtp: nothing reached the advisers", len(sb.messages(rt.ADVISERS[0])) == fwd_mid)
            set_host(conf, "smtp", "localhost")
            daemon.proc.send_signal(signal.SIGHUP)
            check("dns smtp: configuration reloaded", daemon.wait_log("configuration reloaded"), daemon.text()[-800:])
            ok = wait_until(lambda: pending(conf) == 0, 30)
            check("dns smtp: the queue empties after the reload", ok, pending(conf))
            rc = daemon.stop()
            check("dns smtp: SIGTERM exits 0", rc == 0, rc)
        finally:
            if daemon.proc.poll() is None:
                daemon.proc.kill()
        tally(sb, conf, "dns", toks, "N", fwd_at)


# --- 4. servers restarting under the daemon ------------------------------------------------

def postfix_idle(sb, timeout=20):
    """Waits until Postfix has handed everything to Dovecot: a Dovecot killed
    mid-LMTP would have Postfix deliver again (its duplicate, not the relay's)."""
    def empty():
        r = subprocess.run(["postqueue", "-c", sb.env["POSTFIX_CONFIG_DIR"], "-p"], capture_output=True, text=True)
        return "Mail queue is empty" in r.stdout
    return wait_until(empty, timeout)


def restarts(sb):
    """Dovecot, then Postfix, stopped and started again under `relay run`
    while emails and texts keep arriving."""
    empty_inbox(sb)
    with Gateway("twilio", username=SID, password="tok", account=SID, number="+447700900000") as gw:
        work = os.path.join(sb.dir, "relay-restart")
        conf = rt.make_config(sb, work, extra=rt.twilio_section(gw, work, SID, extra="poll_interval = 5\ntimeout = 3\n"))
        fwd_at = len(sb.messages(rt.ADVISERS[0]))
        daemon = Daemon(conf, os.path.join(sb.dir, "restart-run.log"))
        toks = []
        try:
            check("restart: daemon starts", daemon.wait_log("relay started"), daemon.text())
            time.sleep(1.0)   # the first poll, then IDLE
            for tok in ("R000", "R002"):
                email(sb, tok)
            text(gw, "R001")
            toks += ["R000", "R001", "R002"]
            ok = wait_until(lambda: stored_count(conf, "R") == 3 and pending(conf) == 0, 30)
            check("restart: working before", ok, daemon.text()[-800:])
            postfix_idle(sb)

            # Dovecot goes: IDLE is cut; texts keep coming (Postfix cannot take
            # mail meanwhile: its SASL is Dovecot's, so the forwards wait too).
            sb.stop_server("dovecot")
            for tok in ("R011", "R013"):
                text(gw, tok)
            ok = wait_until(lambda: stored_count(conf, "R") == 5, 20)
            check("restart: texts still taken in while Dovecot is down", ok, stored_count(conf, "R"))
            time.sleep(3)
            check("restart: the daemon survives Dovecot going", daemon.proc.poll() is None, daemon.text()[-800:])
            check("restart: the log says the mailbox is unreachable",
                  re.search(r"error: imap localhost:\d+: .*(refused|lost|closed)", daemon.text()), daemon.text()[-800:])
            sb.start_server("dovecot")
            for tok in ("R010", "R012"):
                email(sb, tok)
            toks += ["R010", "R011", "R012", "R013"]
            ok = wait_until(lambda: stored_count(conf, "R") == 7 and pending(conf) == 0, 40)
            check("restart: after Dovecot is back everything is taken in and sent", ok,
                  (stored_count(conf, "R"), pending(conf), daemon.text()[-800:]))

            # Postfix goes: mail is appended straight to the mailbox, forwards wait.
            postfix_idle(sb)
            sb.stop_server("postfix")
            for tok in ("R020", "R022"):
                sb.append(rt.SERVICE, rt.mail(f"young{tok}@example.net", rt.SERVICE, "help",
                                              f"message token-{tok}\n", msgid=f"{tok}@example.net"))
            text(gw, "R021")
            toks += ["R020", "R021", "R022"]
            ok = wait_until(lambda: stored_count(conf, "R") == 10, 20)
            check("restart: everything taken in while Postfix is down", ok, stored_count(conf, "R"))
            ok = wait_until(lambda: pending(conf) >= 3, 10)
            check("restart: forwards wait in the outbox while Postfix is down", ok, pending(conf))
            check("restart: the daemon survives Postfix going", daemon.proc.poll() is None, daemon.text()[-800:])
            sb.start_server("postfix")
            ok = wait_until(lambda: pending(conf) == 0, 40)
            check("restart: after Postfix is back the outbox empties", ok, (pending(conf), daemon.text()[-800:]))
            rc = daemon.stop()
            check("restart: SIGTERM exits 0", rc == 0, rc)
            said = sum(int(n) for n in re.findall(r"sms twilio: (\d+) texts? received", daemon.text()))
            check("restart: the log counts each text once, not at every poll", said == 4, said)
        finally:
            if daemon.proc.poll() is None:
                daemon.proc.kill()
        tally(sb, conf, "restarts", toks, "R", fwd_at)


# --- 5. SIGTERM mid-cycle ----------------------------------------------------------------

def sigterm(sb):
    """SIGTERM at random moments while a burst is being taken in and sent:
    each time the daemon exits 0 promptly, and nothing is lost or doubled."""
    empty_inbox(sb)
    rng = random.Random(int(os.environ.get("RELAY_FAULT_SEED", "20261121")))
    with Gateway("twilio", username=SID, password="tok", account=SID, number="+447700900000", page_size=5) as gw:
        work = os.path.join(sb.dir, "relay-term")
        conf = rt.make_config(sb, work, extra=rt.twilio_section(gw, work, SID, extra="poll_interval = 5\n"))
        rt.relay(conf, "poll")   # the first poll
        fwd_at = len(sb.messages(rt.ADVISERS[0]))
        toks = [f"T{i:03d}" for i in range(60)]
        log = os.path.join(sb.dir, "term-run.log")
        codes, slow, mid = [], [], 0
        for round_ in range(6):
            # Ten more arrive each round: each SIGTERM finds work to do.
            batch = toks[round_ * 10:round_ * 10 + 10]
            append_many(sb, [t for t in batch if int(t[1:]) % 2 == 0])
            for tok in batch:
                if int(tok[1:]) % 2:
                    text(gw, tok)
            daemon = Daemon(conf, log)
            # The random moment counts from when the relay catches SIGTERM:
            # before main() installs its handler (the loader, ASan's start on
            # a loaded machine) the kernel's default would end it, which is
            # not what this asks.
            wait_until(lambda: catches_sigterm(daemon.proc.pid), 10, step=0.005)
            time.sleep(rng.uniform(0.05, 0.35))
            # What is left undone as the signal comes.
            left = (round_ + 1) * 10 - stored_count(conf, "T") + pending(conf)
            t0 = time.monotonic()
            rc = daemon.stop(timeout=30)
            took = time.monotonic() - t0
            mid += left > 0
            codes.append(rc)
            if took > 10:
                slow.append(round(took, 1))
        print(f"info: {len(codes)} SIGTERMs, {mid} of them with messages still to take in or send")
        check("sigterm: exit status 0 every time", all(c == 0 for c in codes), codes)
        check("sigterm: exits promptly (under 10s)", not slow, slow)
        check("sigterm: most fell mid-cycle", mid >= 3, mid)
        daemon = Daemon(conf, log)
        daemon.wait_log("relay started")
        ok = wait_until(lambda: stored_count(conf, "T") == len(toks) and pending(conf) == 0, 60)
        check("sigterm: a last run takes in and sends the rest", ok, (stored_count(conf, "T"), pending(conf)))
        rc = daemon.stop()
        check("sigterm: SIGTERM exits 0", rc == 0, rc)
        tally(sb, conf, "sigterm", toks, "T", fwd_at, wait=60)


# --- the relay's own files ---------------------------------------------------------------

STRANGER = 4242   # a uid that is neither root nor the service user (the tests run as root, user = root)


def local_files(sb):
    """Each file someone else could change is refused at every start (poll,
    run, list), naming the file and the fix; relay check reports it too."""
    import shutil
    base = os.path.join(sb.dir, "relay-files")
    n = [0]

    def fresh(**kw):
        n[0] += 1
        work = os.path.join(base, "w%d" % n[0])
        return work, rt.make_config(sb, work, **kw)

    def refused(what, conf, name, fix, cmds=("poll", "list")):
        for cmd in cmds:
            try:
                r = rt.relay(conf, cmd, timeout=30)   # a daemon that starts would run on
                got = (r.returncode, r.stderr[-800:])
            except subprocess.TimeoutExpired:
                got = ("still running after 30 s", "")
            check(f"local files: {what}: {cmd} refused (exit 3), naming {os.path.basename(name)} and the fix",
                  got[0] == 3 and name in got[1] and fix in got[1], got)

    # The good case first: the same set-up passes, so each refusal below is its one change.
    work, conf = fresh()
    r = rt.relay(conf, "poll")
    check("local files: a private set-up starts", r.returncode == 0, r.stderr[-600:])
    db_path = os.path.join(work, "relay.db")

    # The database owned by another user (it exists now).
    os.chown(db_path, STRANGER, -1)
    refused("the database owned by another user", conf, db_path, "chown root " + db_path)
    r = rt.relay(conf, "check")
    check("local files: relay check reports the database owned by another user",
          r.returncode == 1 and "FAIL files" in r.stdout and db_path in r.stdout, r.stdout[-800:])
    os.chown(db_path, 0, -1)
    # Its directory owned by another user.
    os.chown(work, STRANGER, -1)
    refused("the database directory owned by another user", conf, work, "chown root " + work)
    os.chown(work, 0, -1)
    # The signing key owned by another user.
    key = os.path.join(work, "secret")
    os.chown(key, STRANGER, -1)
    refused("the signing key owned by another user", conf, key, "chown root " + key)
    os.chown(key, 0, -1)

    # A world-writable relay.conf: used by neither poll nor run.
    os.chmod(conf, 0o666)
    refused("a world-writable relay.conf", conf, conf, "chmod go-w " + conf, cmds=("poll", "run", "list"))
    os.chmod(conf, 0o600)
    # A directory on the way writable by others (anyone could swap relay.conf).
    os.chmod(work, 0o777)
    refused("the configuration's directory writable by others", conf, work, "chmod go-w " + work)
    os.chmod(work, 0o700)

    # The templates directory at 0777, and one template at 0666.
    work, conf = fresh()
    tpl = os.path.join(work, "templates")
    shutil.copytree(os.path.join(rt.ROOT, "templates"), tpl)
    rt.edit_config(conf, "templates = " + os.path.join(rt.ROOT, "templates"), "templates = " + tpl)
    os.chmod(tpl, 0o777)
    refused("the templates directory at 0777", conf, tpl, "chmod go-w " + tpl)
    r = rt.relay(conf, "check")
    check("local files: relay check reports the templates directory at 0777",
          r.returncode == 1 and "FAIL files" in r.stdout and tpl in r.stdout, r.stdout[-800:])
    os.chmod(tpl, 0o755)
    one = os.path.join(tpl, "email", sorted(os.listdir(os.path.join(tpl, "email")))[0])
    os.chmod(one, 0o666)
    refused("a template at 0666", conf, one, "chmod go-w " + one)
    os.chmod(one, 0o644)
    r = rt.relay(conf, "poll")
    check("local files: the templates put right, it starts", r.returncode == 0, r.stderr[-600:])

    # The urgent list at 0666 (and the bank holidays).
    for option, src, what in (("urgent_phrases", "urgent.txt", "urgent list"),
                              ("bank_holidays", "bank-holidays-england-and-wales.txt", "bank holidays")):
        work, conf = fresh()
        mine = os.path.join(work, src)
        shutil.copy(os.path.join(rt.ROOT, "config", src), mine)
        rt.edit_config(conf, f"{option} = " + os.path.join(rt.ROOT, "config", src), f"{option} = " + mine)
        os.chmod(mine, 0o666)
        refused(f"the {what} at 0666", conf, mine, "chmod go-w " + mine)
        r = rt.relay(conf, "check")
        check(f"local files: relay check reports the {what} at 0666",
              r.returncode == 1 and "FAIL files" in r.stdout and mine in r.stdout, r.stdout[-800:])

    # A symlink planted at the database path: not followed, the real one untouched.
    work, conf = fresh()
    elsewhere = os.path.join(base, "elsewhere")
    os.makedirs(elsewhere, exist_ok=True)
    target = os.path.join(elsewhere, "victim.db")
    with open(target, "wb") as f:
        f.write(b"not a database the relay should touch")
    os.symlink(target, os.path.join(work, "relay.db"))
    refused("a symlinked database path", conf, os.path.join(work, "relay.db"), "symbolic link")
    with open(target, "rb") as f:
        check("local files: the symlink's target is untouched", f.read() == b"not a database the relay should touch")
    # A dangling one: following it would make a database where it points.
    work, conf = fresh()
    target = os.path.join(elsewhere, "planted.db")
    os.symlink(target, os.path.join(work, "relay.db"))
    refused("a dangling symlink at the database path", conf, os.path.join(work, "relay.db"), "symbolic link",
            cmds=("list",))
    check("local files: no database made where the symlink points", not os.path.exists(target))


PARTS = {"disk_full": disk_full, "dropped_fetch": dropped_fetch, "dns": dns, "restarts": restarts,
         "sigterm": sigterm, "local_files": local_files}


def main():
    wanted = sys.argv[1:] or list(PARTS)
    with Sandbox() as sb:
        rt.run_parts(sb, *(PARTS[p] for p in wanted))
    done()


if __name__ == "__main__":
    main()
