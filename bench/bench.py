#!/usr/bin/env python3
"""bench.py: how fast the relay drains a backlog, measured beside mbsync.

    python3 bench/bench.py                   # N=10000: drain vs mbsync, RSS over the run, IDLE latency
    python3 bench/bench.py --n 1000 --runs 2
    python3 bench/bench.py --scale 1000,10000,100000 --no-latency

One run, on real servers on loopback (tests/sandbox/sandbox: Dovecot with a
test CA; Postfix's smtp-sink as the SMTP server that accepts every forward
and auto-reply):

1. N messages are written into the service's Maildir (bench/corpus.py) and
   Dovecot indexes them; every one is unread.
2. mbsync (isync) pulls the mailbox over IMAPS, verified against the test CA,
   into a fresh Maildir (Sync Pull: the server is left unread).
3. `build/relay -c FILE poll` drains the same mailbox: every message stored,
   threaded, forwarded and auto-replied, every message accepted by smtp-sink.
   Wall time, CPU seconds and peak RSS come from wait4() on the child; RSS
   is also sampled from /proc while the run goes on. Afterwards the counts
   are checked: N stored, every outbox row sent, smtp-sink's dump holds
   exactly as many messages as the outbox, none left unread on the server.
4. Latency: `relay run` with IDLE; messages are appended one at a time at
   random intervals and texts arrive at the Twilio double; arrival ->
   forward accepted by smtp-sink (the dump file's time), p50/p95/p99.

Prints a table and the ratio relay / mbsync; --json FILE keeps the figures.
"""

import argparse
import imaplib
import json
import os
import pwd
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import email
import email.policy

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
from lib import LoopbackProxy, Sandbox, process_cpu  # noqa: E402
import relaytest as rt  # noqa: E402
import corpus  # noqa: E402

# What is measured is what make install installs: the production build (no
# test hooks; the benchmark pins no clock). RELAY_BIN names another.
if "RELAY_BIN" not in os.environ:
    rt.RELAY = os.path.join(ROOT, "build", "relay")

USER = rt.SERVICE
MAIL_USER = os.environ.get("SANDBOX_MAIL_USER", "nobody")


free_port = rt.free_port


def doveadm(sb, *args):
    r = sb.doveadm(*args)
    if r.returncode != 0:
        raise RuntimeError("doveadm %s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


def mailbox_status(sb):
    out = doveadm(sb, "-f", "flow", "mailbox", "status", "-u", USER, "messages unseen", "INBOX")
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", out)}


class Sink:
    """Postfix's smtp-sink on loopback; every accepted message is appended to
    one dump file (-D), or to one file each (-d) when per-message times matter."""

    def __init__(self, work, per_message=False):
        # Beside the relay's directory, which is private (0700) to its user.
        self.port = free_port()
        self.dir = work.rstrip("/") + "-sink"
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o777)
        self.dump = os.path.join(self.dir, "all.dump")
        target = ["-d", os.path.join(self.dir, "m.")] if per_message else ["-D", self.dump]
        self.proc = subprocess.Popen(["smtp-sink", "-u", "nobody", *target, "127.0.0.1:%d" % self.port, "256"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.025)
        raise RuntimeError("smtp-sink did not start")

    def accepted(self):
        """(messages, {first recipient: count}) from the -D dump."""
        n, by = 0, {}
        if not os.path.exists(self.dump):
            return 0, by
        with open(self.dump, "rb") as f:
            for line in f:
                if line.startswith(b"X-Client-Addr: "):
                    n += 1
                elif line.startswith(b"X-Rcpt-Args: "):
                    pass
        return n, by

    def stop(self):
        self.cpu_s = process_cpu(self.proc.pid)
        self.proc.terminate()
        self.proc.wait(timeout=10)


class DelayProxy(LoopbackProxy):
    """A TCP relay on loopback that holds every chunk for `delay` seconds
    each way before passing it on, in order: the round trip to an IMAP
    server elsewhere (loopback has none, and this machine has no netem).
    TLS goes through it untouched. Both clients use it alike."""

    def __init__(self, target_port, delay):
        self.delay = delay
        super().__init__(target_port)

    def serve(self, client, server):
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._pump(client, server)
        self._pump(server, client)

    def _pump(self, src, dst):
        chunks, ready = [], threading.Condition()

        def reader():
            while True:
                try:
                    data = src.recv(1 << 16)
                except OSError:
                    data = b""
                with ready:
                    chunks.append((time.monotonic() + self.delay, data))
                    ready.notify()
                if not data:
                    return

        def writer():
            while True:
                with ready:
                    while not chunks:
                        ready.wait()
                    due, data = chunks.pop(0)
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                try:
                    if not data:
                        dst.shutdown(socket.SHUT_WR)
                        return
                    dst.sendall(data)
                except OSError:
                    return

        threading.Thread(target=reader, daemon=True).start()
        threading.Thread(target=writer, daemon=True).start()


IMAPS_PORT = {}   # the port both clients use for IMAPS: the sandbox's, or a DelayProxy's


def imaps_port(sb):
    return IMAPS_PORT.get("port", sb.imaps_port)


def relay_config(sb, work, sink_port, extra=""):
    """The sandbox's relay configuration with SMTP pointed at smtp-sink."""
    conf = rt.make_config(sb, work, extra=extra, poll_interval=60, imap_port=imaps_port(sb))
    text = open(conf).read()
    text = re.sub(r"\[smtp\].*?\n\[", lambda m: (
        "[smtp]\nhost = 127.0.0.1\nport = %d\nsecurity = none\nfrom = R-U-Safe? <%s>\ntimeout = 30\n\n[" % (
            sink_port, rt.SERVICE)), text, flags=re.S)
    open(conf, "w").write(text)
    return conf


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def timed(argv, log, sample=None):
    """Runs argv under /usr/bin/time; returns wall, user, sys and CPU seconds
    and the peak RSS (KiB) it reports, and the samples. (wait4() on a child of
    this Python process would count Python's own RSS, copied at fork, in the
    child's peak.) sample(pid, t): called every 50 ms; non-None results kept."""
    samples = []
    tfile = log + ".time"
    with open(log, "wb") as out:
        t0 = time.monotonic()
        p = subprocess.Popen(["/usr/bin/time", "-o", tfile, "-f", "%e %U %S %M", *argv], stdout=out,
                             stderr=subprocess.STDOUT)
        child = None
        while p.poll() is None:
            if child is None:
                try:
                    with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
                        child = int(f.read().split()[0])
                except (OSError, ValueError, IndexError):
                    pass
            if sample and child:
                s = sample(child, time.monotonic() - t0)
                if s:
                    samples.append(s)
            time.sleep(0.05)
    with open(tfile) as f:
        last = f.read().strip().splitlines()[-1]
    if p.returncode != 0:
        raise RuntimeError("%s exited %d (%s); see %s" % (argv[0], p.returncode, last, log))
    wall, user, sys_, maxrss = last.split()
    return {"wall": float(wall), "user": float(user), "sys": float(sys_), "cpu": float(user) + float(sys_),
            "maxrss_kb": int(maxrss), "samples": samples}


def fill(sb, n, seed):
    """N unread messages in the service's INBOX, indexed by Dovecot."""
    pw = pwd.getpwnam(MAIL_USER)
    local, domain = USER.split("@")
    home = os.path.join(sb.mail_dir, domain, local)
    if os.path.exists(home):
        shutil.rmtree(home)
    os.makedirs(home)
    t0 = time.monotonic()
    senders, kinds, total = corpus.fill_maildir(os.path.join(home, "Maildir"), n, USER, seed, pw.pw_uid, pw.pw_gid)
    for root, dirs, _ in os.walk(home):
        os.chown(root, pw.pw_uid, pw.pw_gid)
    st = mailbox_status(sb)          # Dovecot scans new/ and assigns UIDs
    if st.get("messages") != n or st.get("unseen") != n:
        raise RuntimeError("mailbox holds %r, expected %d unread" % (st, n))
    # Both clients start from the same warm state: index built, files in the page cache.
    doveadm(sb, "fetch", "-u", USER, "uid size.virtual", "mailbox", "INBOX", "all")
    return {"senders": senders, "kinds": kinds, "bytes": total, "fill_s": time.monotonic() - t0}


def settle():
    """Before each timed run: what earlier runs wrote (and removed) goes to
    disk now, so that neither client pays for the other's writeback."""
    os.sync()


def run_mbsync(sb, work):
    near = os.path.join(work, "mbsync-maildir")
    shutil.rmtree(near, ignore_errors=True)
    os.makedirs(near)
    rc = os.path.join(work, "mbsyncrc")
    pwfile = os.path.join(work, "mbsync.password")
    rt.write_private(pwfile, sb.password + "\n")
    with open(rc, "w") as f:
        f.write("""IMAPAccount bench
Host localhost
Port %d
User %s
PassCmd "cat %s"
SSLType IMAPS
CertificateFile %s

IMAPStore far
Account bench

MaildirStore near
Path %s/
Inbox %s/INBOX

Channel bench
Far :far:
Near :near:
Patterns INBOX
Sync Pull
Create Near
SyncState *
""" % (imaps_port(sb), USER, pwfile, sb.ca_file, near, near))
    settle()
    before = sb.server_cpu("dovecot")
    r = timed(["mbsync", "-q", "-c", rc, "-a"], os.path.join(work, "mbsync.log"))
    r["dovecot_cpu"] = sb.server_cpu("dovecot") - before
    got = sum(len(os.listdir(os.path.join(near, "INBOX", d))) for d in ("cur", "new"))
    r["pulled"] = got
    return r


def run_relay(sb, work, n, binary=rt.RELAY):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    sink = Sink(work)
    conf = relay_config(sb, work, sink.port)
    if binary != rt.RELAY and subprocess.run([binary, "--version"], capture_output=True).returncode != 0:
        # A build older than authserv_id (and --version) refuses the key; a
        # drain has no adviser replies, so it changes nothing there.
        rt.edit_config(conf, "authserv_id = %s\n" % rt.AUTHSERV_ID, "")
    dbpath = os.path.join(work, "relay.db")
    watch = {"db": None}

    def sample(pid, t):
        rss = rss_kb(pid)
        if rss is None:
            return None
        if watch["db"] is None and os.path.exists(dbpath):
            watch["db"] = sqlite3.connect("file:%s?mode=ro" % dbpath, uri=True, timeout=0.2)
        stored = sent = 0
        if watch["db"] is not None:
            # Every 50 ms, so it must cost nothing however large the database:
            # a count(*) reads a whole table (33 ms at 100,000 messages, a
            # third of a core taken from the drain). In a drain every message
            # row is an inbound one and outbox ids have no gaps, so the
            # highest ids count them; pending rows come from their small index.
            try:
                stored, sent = watch["db"].execute(
                    "SELECT (SELECT coalesce(max(id), 0) FROM message), (SELECT coalesce(max(id), 0) FROM outbox) "
                    "- (SELECT count(*) FROM outbox WHERE state = 'pending')").fetchone()
            except sqlite3.Error:
                return None
        return (round(t, 2), rss, stored, sent)

    wrap = os.environ.get("BENCH_RELAY_WRAP", "").split()   # e.g. "perf record -g -o /tmp/perf.data"
    settle()
    before = sb.server_cpu("dovecot")
    r = timed([*wrap, binary, "-c", conf, "poll"], os.path.join(work, "relay.log"), sample)
    r["dovecot_cpu"] = sb.server_cpu("dovecot") - before
    if watch["db"] is not None:
        watch["db"].close()
    sink.stop()
    r["sink_cpu"] = sink.cpu_s
    db = sqlite3.connect(dbpath)
    r["stored"] = db.execute("SELECT count(*) FROM message WHERE kind = 'inbound'").fetchone()[0]
    r["outbox"] = dict(db.execute("SELECT kind || ':' || state, count(*) FROM outbox GROUP BY 1").fetchall())
    r["outbox_total"] = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    r["outbox_sent"] = db.execute("SELECT count(*) FROM outbox WHERE state = 'sent'").fetchone()[0]
    r["conversations"] = db.execute("SELECT count(*) FROM conversation").fetchone()[0]
    db.close()
    r["db_bytes"] = sum(os.path.getsize(p) for p in (dbpath, dbpath + "-wal") if os.path.exists(p))
    r["sink_accepted"], _ = sink.accepted()
    r["unseen_after"] = mailbox_status(sb).get("unseen")
    os.remove(sink.dump)
    return r


def rss_profile(samples, n):
    """RSS (KiB) when 10%, 50% and 100% of the messages were stored, and when
    50% and 100% of the outbox was sent."""
    out = {}
    total_sent = max((s[3] for s in samples), default=0)
    for label, idx, target in (("stored 10%", 2, n * 0.10), ("stored 50%", 2, n * 0.50), ("stored 100%", 2, n),
                               ("sent 50%", 3, total_sent * 0.5), ("sent 100%", 3, total_sent)):
        hit = next((s for s in samples if s[idx] >= target and target > 0), None)
        out[label] = hit[1] if hit else None
    return out


def drain(sb, base, n, seed, runs, others=()):
    """runs x (mbsync, then the relay); others: more relay binaries, each run
    after the relay on the same mailbox (before/after comparisons)."""
    results = []
    info = fill(sb, n, seed)
    print("backlog: %d messages, %.1f MB (%s), %d distinct senders; filled and indexed in %.1fs" % (
        n, info["bytes"] / 1e6, ", ".join("%s %d" % kv for kv in sorted(info["kinds"].items())),
        info["senders"], info["fill_s"]))
    sys.stdout.flush()
    for k in range(runs):
        if k:
            doveadm(sb, "flags", "remove", "-u", USER, "\\Seen", "mailbox", "INBOX", "all")
        st = mailbox_status(sb)
        assert st["unseen"] == n, st
        m = run_mbsync(sb, os.path.join(base, "mbsync"))
        if m["pulled"] != n:
            raise RuntimeError("mbsync pulled %d of %d" % (m["pulled"], n))
        if mailbox_status(sb)["unseen"] != n:
            raise RuntimeError("mbsync changed flags on the server")
        for j, binary in enumerate([rt.RELAY, *others]):
            if j:
                doveadm(sb, "flags", "remove", "-u", USER, "\\Seen", "mailbox", "INBOX", "all")
            r = run_relay(sb, os.path.join(base, "relay"), n, binary)
            ok = (r["stored"] == n and r["outbox_sent"] == r["outbox_total"] and
                  r["sink_accepted"] == r["outbox_total"] and r["unseen_after"] == 0)
            r["complete"] = ok
            r["binary"] = binary
            r["rss_profile"] = rss_profile(r["samples"], n)
            results.append({"n": n, "mbsync": m, "relay": r, "ratio": r["wall"] / m["wall"], "backlog": info})
            print_drain(results[-1], k + 1)
    return results


def print_drain(res, run):
    n, m, r = res["n"], res["mbsync"], res["relay"]
    print()
    label = "" if r["binary"] == rt.RELAY else " (%s)" % r["binary"]
    print("run %d: drain of %d messages%s" % (run, n, label))
    print("  %-8s %9s %10s %8s %8s %9s %10s" % ("", "wall s", "msg/s", "user s", "sys s", "CPU s", "peak RSS"))
    for name, x in (("relay", r), ("mbsync", m)):
        print("  %-8s %9.2f %10.0f %8.2f %8.2f %9.2f %7.1f MB" % (
            name, x["wall"], n / x["wall"], x["user"], x["sys"], x["cpu"], x["maxrss_kb"] / 1024))
    print("  ratio relay / mbsync (wall): %.2f" % res["ratio"])
    print("  relay: stored %d, outbox %s, smtp-sink accepted %d, unread left on the server %d -> %s" % (
        r["stored"], ", ".join("%s %d" % kv for kv in sorted(r["outbox"].items())), r["sink_accepted"],
        r["unseen_after"], "complete" if r["complete"] else "INCOMPLETE"))
    print("  relay database: %.1f MB (%.0f KB per 1,000 messages)" % (r["db_bytes"] / 1e6, r["db_bytes"] / n))
    print("  on the same two cores: Dovecot's CPU %.2f s while the relay ran, %.2f s while mbsync did; "
          "smtp-sink's %.2f s" % (r["dovecot_cpu"], m["dovecot_cpu"], r["sink_cpu"]))
    print("  relay RSS over the run: " + ", ".join(
        "%s %s" % (k, "%.1f MB" % (v / 1024) if v else "-") for k, v in r["rss_profile"].items()))
    sys.stdout.flush()


# ---- latency ------------------------------------------------------------------


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


class IdleWatch:
    """A second IMAP client idling on the same inbox: when Dovecot announces
    each new message (EXISTS), so that its own notification delay can be told
    apart from the relay's part."""

    def __init__(self, sb):
        self.conn = sb.imap(USER)
        typ, data = self.conn.select("INBOX")
        self.base = int(data[0])
        self.seen = []            # (time, EXISTS count)
        self.stop = False
        tag = self.conn._new_tag().decode()
        self.conn.send(("%s IDLE\r\n" % tag).encode())
        self.conn.readline()      # "+ idling"
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        self.conn.sock.settimeout(None)
        while not self.stop:
            try:
                line = self.conn.readline()
            except (OSError, imaplib.IMAP4.abort):
                return
            if not line:
                return
            m = re.match(rb"\* (\d+) EXISTS", line)
            if m:
                self.seen.append((time.time(), int(m.group(1))))

    def announced(self, k):
        """When the k-th message after the start was first announced."""
        return next((t for t, c in self.seen if c >= self.base + k), None)

    def close(self):
        self.stop = True
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(timeout=2)
        self.conn.sock.close()


def latency(sb, base, emails, texts, seed, check_ms=0):
    """check_ms: [imap] check_interval_ms (0: IDLE alone)."""
    from sms_gateway import Gateway
    work = os.path.join(base, "latency-%d" % check_ms)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    sink = Sink(work, per_message=True)
    gw = Gateway("twilio", account="AC" + "5" * 32, password="token-123", page_size=None)
    gw.__enter__()
    sid = gw.account
    sms_poll = 5
    conf = relay_config(sb, work, sink.port, extra=rt.twilio_section(gw, work, sid, password="token-123", extra="poll_interval = %d\n"
                                                                       % sms_poll))
    if check_ms:
        rt.edit_config(conf, "[imap]\n", "[imap]\ncheck_interval_ms = %d\n" % check_ms)
    log = open(os.path.join(work, "relay.log"), "wb")
    proc = subprocess.Popen([rt.RELAY, "-c", conf, "run"], stdout=log, stderr=subprocess.STDOUT)
    rng = random.Random(seed)
    sent_at = {}
    try:
        # Ready when the first cycle has recorded the mailbox cursor (then it idles).
        dbpath = os.path.join(work, "relay.db")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                db = sqlite3.connect("file:%s?mode=ro" % dbpath, uri=True)
                if db.execute("SELECT count(*) FROM cursor WHERE source LIKE 'imap:%'").fetchone()[0]:
                    db.close()
                    break
                db.close()
            except sqlite3.Error:
                pass
            time.sleep(0.1)
        time.sleep(1.0)

        def texter():
            for i in range(texts):
                time.sleep(rng_t.uniform(0.5, 2 * sms_poll))
                sent_at[("text", i)] = time.time()
                gw.add_inbound("+4477009%05d" % (10000 + i), "bench text %d: can someone call me back" % i)

        rng_t = random.Random(seed + 1)
        t = threading.Thread(target=texter)
        t.start()
        watch = IdleWatch(sb)
        conn = sb.imap(USER)
        for i in range(emails):
            time.sleep(rng.uniform(0.05, 1.0))
            raw = rt.mail("latency%d@example.net" % i, USER, "hello", "bench-latency-%d: are you there?\n" % i,
                          msgid="lat%d.%d@example.net" % (i, seed))
            typ, data = conn.append("INBOX", None, None, raw)
            sent_at[("email", i)] = time.time()
        conn.logout()
        t.join()
        time.sleep(1.0)
        watch.close()
        want = emails + texts
        deadline = time.monotonic() + 3 * sms_poll + 20
        got = {}
        while time.monotonic() < deadline:
            got = accepted_forwards(sink.dir)
            if len(got) >= want:
                break
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
        gw.__exit__(None, None, None)
        sink.stop()
    lat = {"email": [], "text": []}
    dovecot, ours = [], []
    for key, t0 in sent_at.items():
        if key in got:
            lat[key[0]].append(got[key] - t0)
            said = watch.announced(key[1] + 1) if key[0] == "email" else None
            if said is not None:
                dovecot.append(said - t0)
                ours.append(got[key] - said)
    out = {"email_split": {"dovecot_announce": {"p50": percentile(dovecot, 50), "p95": percentile(dovecot, 95),
                                                 "p99": percentile(dovecot, 99)},
                           "relay_after_announce": {"p50": percentile(ours, 50), "p95": percentile(ours, 95),
                                                    "p99": percentile(ours, 99), "max": max(ours) if ours else 0}}}
    for kind, n in (("email", emails), ("text", texts)):
        xs = lat[kind]
        out[kind] = {"sent": n, "forwarded": len(xs), "p50": percentile(xs, 50), "p95": percentile(xs, 95),
                     "p99": percentile(xs, 99), "max": max(xs) if xs else float("nan")}
    out["text"]["poll_interval"] = sms_poll
    out["check_ms"] = check_ms
    return out


def accepted_forwards(sinkdir):
    """{(kind, i): time the forward was accepted} from smtp-sink's -d files."""
    got = {}
    for name in os.listdir(sinkdir):
        path = os.path.join(sinkdir, name)
        if not name.startswith("m."):
            continue
        try:
            with open(path, "rb") as f:
                raw = f.read()
            mtime = os.stat(path).st_mtime
        except OSError:
            continue
        if b"adviser1@example.org" not in raw.split(b"\n\n", 1)[0]:
            continue
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        try:
            text = msg.get_body(("plain",)).get_content()
        except (AttributeError, KeyError, LookupError):
            continue
        m = re.search(r"bench-latency-(\d+)", text)
        if m:
            got[("email", int(m.group(1)))] = mtime
        m = re.search(r"bench text (\d+)", text)
        if m:
            got[("text", int(m.group(1)))] = mtime
    return got


def print_latency(lat):
    print()
    how = "IDLE, and NOOP every %d ms" % lat["check_ms"] if lat["check_ms"] else "IDLE alone"
    print("latency: arrival -> forward accepted by the SMTP server (relay run, IMAP %s)" % how)
    print("  %-26s %6s %9s %8s %8s %8s %8s" % ("", "sent", "forwarded", "p50 ms", "p95 ms", "p99 ms", "max ms"))
    for kind, label in (("email", "email (%s)" % ("IDLE+check" if lat["check_ms"] else "IDLE")),
                        ("text", "text (poll every %ds)" % lat["text"]["poll_interval"])):
        x = lat[kind]
        if not x["sent"]:
            continue
        print("  %-26s %6d %9d %8.0f %8.0f %8.0f %8.0f" % (label, x["sent"], x["forwarded"], x["p50"] * 1000,
                                                         x["p95"] * 1000, x["p99"] * 1000, x["max"] * 1000))
    sp = lat["email_split"]
    if lat["check_ms"]:
        # The relay asked before Dovecot's IDLE said anything: no split to make.
        x = sp["dovecot_announce"]
        print("  %-26s %6s %9s %8.0f %8.0f %8.0f" % ("  Dovecot's IDLE, for scale", "", "", x["p50"] * 1000,
                                                   x["p95"] * 1000, x["p99"] * 1000))
        sys.stdout.flush()
        return
    for key, label in (("dovecot_announce", "  of which Dovecot's IDLE"), ("relay_after_announce", "  of which the relay")):
        x = sp[key]
        print("  %-26s %6s %9s %8.0f %8.0f %8.0f" % (label, "", "", x["p50"] * 1000, x["p95"] * 1000,
                                                   x["p99"] * 1000))
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10000, help="messages in the backlog (default 10000)")
    ap.add_argument("--runs", type=int, default=1, help="drain runs side by side (default 1)")
    ap.add_argument("--scale", help="comma-separated sizes, e.g. 1000,10000,100000 (drain only per size)")
    ap.add_argument("--latency-emails", type=int, default=100)
    ap.add_argument("--check-ms", type=int, default=100,
                    help="a second latency run with [imap] check_interval_ms = this (0: skip; default 100)")
    ap.add_argument("--latency-texts", type=int, default=20)
    ap.add_argument("--no-latency", action="store_true")
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--also", action="append", default=[], metavar="BINARY",
                    help="another relay binary to drain the same mailbox after build/relay (A/B figures)")
    ap.add_argument("--imap-delay-ms", type=float, default=0,
                    help="both clients reach Dovecot through a proxy that delays each way by this much "
                         "(a round trip of twice it), as a server elsewhere would (drain only)")
    ap.add_argument("--json", help="write every figure to this file")
    ap.add_argument("--keep", action="store_true", help="keep the sandbox and work files")
    a = ap.parse_args()
    if not os.access(rt.RELAY, os.X_OK):
        sys.exit("build the relay first (make)")
    base = tempfile.mkdtemp(prefix="relay-bench-")
    os.chmod(base, 0o755)
    sb = Sandbox(os.path.join(base, "sandbox"))
    figures = {"host": {"cpus": os.cpu_count(), "load_before": os.getloadavg()}, "drain": []}
    sb.up()
    if a.imap_delay_ms:
        IMAPS_PORT["port"] = DelayProxy(sb.imaps_port, a.imap_delay_ms / 1000).port
        figures["host"]["imap_delay_ms"] = a.imap_delay_ms
        print("IMAP through a proxy: %.1f ms each way, %.1f ms round trip" % (a.imap_delay_ms, 2 * a.imap_delay_ms))
    try:
        sizes = [int(x) for x in a.scale.split(",")] if a.scale else [a.n]
        for n in sizes:
            figures["drain"] += drain(sb, base, n, a.seed, a.runs, a.also)
        if a.scale:
            print()
            print("scaling (relay drain)")
            print("  %9s %9s %10s %12s %9s %12s %14s" % ("messages", "wall s", "msg/s", "us/message", "CPU s",
                                                       "peak RSS", "DB KB/1k msgs"))
            for d in figures["drain"]:
                r = d["relay"]
                print("  %9d %9.2f %10.0f %12.0f %9.2f %9.1f MB %14.0f" % (
                    d["n"], r["wall"], d["n"] / r["wall"], r["wall"] / d["n"] * 1e6, r["cpu"],
                    r["maxrss_kb"] / 1024, r["db_bytes"] / d["n"]))
        if not a.no_latency:
            figures["latency"] = latency(sb, base, a.latency_emails, a.latency_texts, a.seed)
            print_latency(figures["latency"])
            if a.check_ms:
                figures["latency_check"] = latency(sb, base, a.latency_emails, 0, a.seed, a.check_ms)
                print_latency(figures["latency_check"])
    finally:
        figures["host"]["load_after"] = os.getloadavg()
        sb.down(remove=False)
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            print("kept: %s" % base)
    print()
    print("load average before %.2f, after %.2f (2 cores shared)" % (figures["host"]["load_before"][0],
                                                                    figures["host"]["load_after"][0]))
    for d in figures["drain"]:
        d["relay"]["samples"] = d["relay"]["samples"][::10]
    if a.json:
        with open(a.json, "w") as f:
            json.dump(figures, f, indent=1)
    bad = [d for d in figures["drain"] if not d["relay"]["complete"]]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
