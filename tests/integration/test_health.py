"""The line is never silently down: the daemon tracks each part's health and
alerts by a path that does not depend on the part that broke, with the real
Dovecot and Postfix and the SMS gateway double, thresholds of seconds.

- Dovecot refuses the mailbox password under the running daemon: one alert
  email within the threshold, none more inside the reminder interval; the
  password back, a "recovered" email and the held-up message forwarded.
- Postfix down: the alert goes as a text through the gateway; the gateway
  answering 401: the alert goes by email. The backlog alert says how many
  wait and since when, and never a young person's words or address.
- sd_notify: READY=1, STATUS= lines that follow the parts' health, WATCHDOG=1
  at the rate WATCHDOG_USEC asks, none while the daemon is SIGSTOPped.
- relay status (and --json) in each state, exit 0 or 1; the metrics file
  parses as Prometheus text and matches relay status."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "doubles"))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402
from sms_gateway import Gateway  # noqa: E402

ALERTS = "alerts@example.org"
ONCALL = "+447700900999"
YOUNG = "young.person@example.net"
SECRET_WORDS = "my stepdad hurts me please help"
# Under valgrind (tests/run's third lane) the relay is many times slower:
# the watchdog's interval and the waits grow with it.
SLOW = 5 if "valgrind" in os.path.basename(rt.RELAY) else 1
WATCHDOG_USEC = 2000000 * SLOW

HEALTH = f"""
[health]
alert_to = {ALERTS}
alert_after = 2s
remind_every = 10m
backlog_after = 3s
metrics_file = relay.prom
"""


class Notify:
    """A NOTIFY_SOCKET datagram socket (a path, or '@name' for the abstract
    namespace) and every message the relay sends to it, with its time."""

    def __init__(self, address):
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.settimeout(0.2)
        self.got = []
        self.lock = threading.Lock()
        self.running = True
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while self.running:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.got.append((time.monotonic(), data.decode()))

    def lines(self, prefix=""):
        with self.lock:
            return [(t, line) for t, d in self.got for line in d.split("\n") if line.startswith(prefix)]

    def wait(self, prefix, pattern="", timeout=30, after=0):
        """The first line with prefix matching pattern sent after `after`
        (time.monotonic()), waiting for it up to timeout seconds."""
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            for t, line in self.lines(prefix):
                if t > after and re.search(pattern, line):
                    return line
            time.sleep(0.1)
        return None

    def close(self):
        self.running = False
        self.sock.close()


def start(conf, work, notify):
    env = dict(os.environ, NOTIFY_SOCKET=notify.address, WATCHDOG_USEC=str(WATCHDOG_USEC))
    log = os.path.join(work, "run.log")
    out = open(log, "a")
    proc = subprocess.Popen([rt.RELAY, "-c", conf, "run"], stdout=out, stderr=subprocess.STDOUT, env=env)
    out.close()
    return proc, log


def wait_mail(sb, user, count, timeout=30):
    try:
        return sb.wait_for(user, count, timeout=timeout * SLOW)
    except TimeoutError:
        return sb.messages(user)


def wait_until(cond, timeout=30, step=0.2):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def status(conf):
    r = rt.relay(conf, "status", "--json")
    try:
        return r.returncode, json.loads(r.stdout)
    except ValueError:
        return r.returncode, {"error": r.stdout + r.stderr}


def part(js, name):
    for p in js.get("parts", []):
        if p["part"] == name:
            return p
    return {}


def text_of(msg):
    return rt.body(msg) + "\n" + str(msg["Subject"])


# ---- a small parser of the Prometheus text format (version 0.0.4) ------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)( -?[0-9]+)?$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


def parse_prometheus(text):
    """{(name, frozenset(labels)): value}, raising ValueError on a line that
    is not the format: every sample needs a TYPE line before it, HELP and
    TYPE at most once per metric, a counter's name ends in _total."""
    samples, types, helps = {}, {}, set()
    if not text.endswith("\n"):
        raise ValueError("no newline at the end")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP "):
            name = line.split()[2]
            if name in helps:
                raise ValueError(f"line {n}: second HELP for {name}")
            helps.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            if kind not in ("counter", "gauge", "histogram", "summary", "untyped") or name in types:
                raise ValueError(f"line {n}: bad TYPE line")
            if kind == "counter" and not name.endswith("_total"):
                raise ValueError(f"line {n}: counter {name} without _total")
            types[name] = kind
        elif line.startswith("#") or not line:
            continue
        else:
            m = SAMPLE.match(line)
            if not m:
                raise ValueError(f"line {n}: not a sample: {line!r}")
            name, labels = m.group(1), {}
            if name not in types:
                raise ValueError(f"line {n}: {name} has no TYPE before it")
            rest = m.group(3) or ""
            while rest:
                lm = LABEL.match(rest)
                if not lm:
                    raise ValueError(f"line {n}: bad labels {rest!r}")
                labels[lm.group(1)] = lm.group(2)
                rest = rest[lm.end():]
            key = (name, frozenset(labels.items()))
            if key in samples:
                raise ValueError(f"line {n}: sample repeated")
            samples[key] = float(m.group(4))
    return samples


def metric(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def metrics_match(conf, work, proc):
    """Holds the daemon still, reads relay status --json and the metrics
    file of the same cycle, and says what differs ([] when nothing)."""
    for _ in range(5):
        proc.send_signal(signal.SIGSTOP)
        try:
            time.sleep(0.2)
            rc, js = status(conf)
            with open(os.path.join(work, "relay.prom")) as f:
                text = f.read()
        finally:
            proc.send_signal(signal.SIGCONT)
        try:
            s = parse_prometheus(text)
        except ValueError as e:
            return [f"metrics do not parse: {e}"]
        if metric(s, "relay_health_updated_timestamp_seconds") != js["relay"]["updated_unix"]:
            time.sleep(0.5)   # stopped between the two writes: again
            continue
        bad = []
        for p in js["parts"]:
            up = {"ok": 1, "failing": 0, "unknown": -1}[p["state"]]
            for mname, want in (("relay_part_up", up),
                                ("relay_part_last_success_timestamp_seconds", p["last_success_unix"]),
                                ("relay_part_failing_since_timestamp_seconds", p["failing_since_unix"]),
                                ("relay_part_alerts", p["alerts"])):
                if metric(s, mname, part=p["part"]) != want:
                    bad.append(f"{mname}{{{p['part']}}} {metric(s, mname, part=p['part'])} != {want}")
        if metric(s, "relay_backlog_messages") != js["backlog"]["waiting"]:
            bad.append(f"backlog {metric(s, 'relay_backlog_messages')} != {js['backlog']['waiting']}")
        if metric(s, "relay_healthy") != (1 if js["healthy"] else 0):
            bad.append("healthy")
        if metric(s, "relay_alerts_sent_total") != js["relay"]["alerts_sent"]:
            bad.append(f"alerts sent {metric(s, 'relay_alerts_sent_total')} != {js['relay']['alerts_sent']}")
        return bad
    return ["no cycle's status and metrics could be read together"]


def set_dovecot_password(sb, new):
    """Dovecot's one password (a static passdb in its configuration),
    changed under the running servers; the relay's sessions are cut."""
    path = sb.env["DOVECOT_CONF"]
    with open(path) as f:
        text = f.read()
    text = re.sub(r"args = password=\S+", "args = password=" + new, text)
    with open(path, "w") as f:
        f.write(text)
    r = sb.doveadm("reload")
    if r.returncode != 0:
        raise RuntimeError("doveadm reload: " + r.stderr)
    time.sleep(0.5)
    sb.doveadm("kick", rt.SERVICE)


# ---- the inbox: Dovecot refuses the password -----------------------------------

def inbox_password(sb):
    work = os.path.join(sb.dir, "relay-inbox")
    conf = rt.make_config(sb, work, extra=HEALTH)
    # Outgoing mail without a login, so that only the inbox depends on Dovecot's password.
    rt.edit_config(conf, f"username = {rt.SERVICE}\npassword_file = smtp.password\nfrom", "from")
    r = rt.relay(conf, "status")
    check("status before any daemon: exit 1, says it never ran", r.returncode == 1 and "never run" in r.stdout,
          r.stdout + r.stderr)
    notify = Notify(os.path.join(work, "notify.sock"))
    proc, log = start(conf, work, notify)
    good = sb.password
    try:
        check("READY=1 once configuration and database are good", notify.wait("READY=1") is not None,
              notify.lines())
        ok_line = notify.wait("STATUS=", r"inbox ok, smtp (ok|not tried), 0 waiting")
        check("STATUS= says all is well", ok_line is not None, notify.lines("STATUS="))
        rc, js = wait_until(lambda: (lambda s: s if part(s[1], "inbox").get("state") == "ok" else None)(status(conf)),
                            timeout=15) or status(conf)
        check("status: exit 0 while all is well", rc == 0, js)
        check("status: inbox ok with its last success", part(js, "inbox").get("state") == "ok" and
              part(js, "inbox").get("last_success_unix", 0) > 0, js)
        check("status: the daemon running", js.get("relay", {}).get("state") == "running", js)
        check("status: healthy", js.get("healthy") is True, js)
        r = rt.relay(conf, "status")
        check("status for people: a line per part", r.returncode == 0 and re.search(r"^inbox\s+ok\s+last success", r.stdout, re.M)
              and re.search(r"^backlog\s+ok\s+0 messages", r.stdout, re.M), r.stdout)
        bad = metrics_match(conf, work, proc)
        check("metrics file parses and matches status (all well)", not bad, bad)

        # --- the watchdog: keep-alives at the rate asked, none while stopped -------
        time.sleep(1.5 * WATCHDOG_USEC / 1e6)
        dogs = [t for t, _ in notify.lines("WATCHDOG=1")]
        gaps = [b - a for a, b in zip(dogs, dogs[1:])]
        check("WATCHDOG=1 sent", len(dogs) >= 3, dogs)
        # (valgrind can make one step of a cycle longer than half the interval)
        check("WATCHDOG=1 at least every WATCHDOG_USEC", gaps and max(gaps) < WATCHDOG_USEC / 1e6 * (1 if SLOW == 1 else 2.5),
              gaps)
        check("WATCHDOG=1 not much more often than half of it", gaps and min(gaps) > WATCHDOG_USEC / 1e6 / 4, gaps)
        proc.send_signal(signal.SIGSTOP)
        t_stop = time.monotonic()
        time.sleep(2 * WATCHDOG_USEC / 1e6)
        t_cont = time.monotonic()
        proc.send_signal(signal.SIGCONT)
        during = [t for t, _ in notify.lines("WATCHDOG=1") if t_stop + 0.05 < t < t_cont]
        check("no WATCHDOG=1 while the main loop is stopped", not during, during)
        check("keep-alives again once it goes on",
              wait_until(lambda: [t for t, _ in notify.lines("WATCHDOG=1") if t > t_cont], timeout=5), "none")

        # --- the password refused ----------------------------------------------------
        alerts_before = len(sb.messages(ALERTS))
        t0 = time.monotonic()
        set_dovecot_password(sb, "changed-" + good)
        sb.password = "changed-" + good
        sb.send(YOUNG, [rt.SERVICE], rt.mail(YOUNG, rt.SERVICE, "please", SECRET_WORDS + "\n",
                                             msgid="held.1@example.net"))
        msgs = wait_mail(sb, ALERTS, alerts_before + 1, timeout=25)
        took = time.monotonic() - t0
        check("an alert email reaches the alert address", len(msgs) == alerts_before + 1, len(msgs))
        if len(msgs) > alerts_before:
            alert = text_of(msgs[alerts_before])
            print(f"info: password changed to alert received: {took:.1f}s")
            check("within the threshold and a few cycles", took < 15 * SLOW, took)
            check("the alert names the part", "inbox" in alert, alert)
            check("the alert says what is wrong in plain words", "the mailbox password was refused" in alert, alert)
            check("the alert says what to do, naming the password file",
                  os.path.join(work, "imap.password") in alert and "reload" in alert, alert)
            check("the alert gives the server's own reason", "login refused" in alert, alert)
            check("the alert is marked automatic", msgs[alerts_before]["Auto-Submitted"] == "auto-generated",
                  msgs[alerts_before]["Auto-Submitted"])
            check("no young person's words or address in the alert", SECRET_WORDS not in alert and YOUNG not in alert,
                  alert)
        line = notify.wait("STATUS=", r"inbox failing for", after=t0)
        check("STATUS= follows: inbox failing", line is not None, notify.lines("STATUS=")[-3:])
        rc, js = status(conf)
        check("status: exit 1 while the inbox fails", rc == 1, js)
        inbox = part(js, "inbox")
        check("status: inbox failing, since when, the server's reason, one alert",
              inbox.get("state") == "failing" and inbox.get("failing_since") and
              "login refused" in (inbox.get("reason") or "") and inbox.get("alerts") == 1, inbox)
        r = rt.relay(conf, "status")
        check("status for people: the failure and its reason", r.returncode == 1 and
              re.search(r"^inbox\s+failing\s+since .*login refused.*\[1 alert sent\]", r.stdout, re.M), r.stdout)
        bad = metrics_match(conf, work, proc)
        check("metrics file matches status (inbox failing)", not bad, bad)
        time.sleep(4)
        check("not repeated inside the reminder interval", len(sb.messages(ALERTS)) == alerts_before + 1,
              len(sb.messages(ALERTS)))

        # --- a restart inside the incident: neither repeated nor forgotten ----------
        rt.stop(proc)
        t_restart = time.monotonic()
        proc, log = start(conf, work, notify)
        check("restarted daemon: the inbox failing again",
              notify.wait("STATUS=", r"inbox failing for", after=t_restart) is not None, notify.lines("STATUS=")[-2:])
        time.sleep(3)
        check("restart: the alert is not sent again", len(sb.messages(ALERTS)) == alerts_before + 1,
              len(sb.messages(ALERTS)))
        rc, js = status(conf)
        check("restart: the incident's start and its alert kept",
              part(js, "inbox").get("failing_since") == inbox.get("failing_since") and
              part(js, "inbox").get("alerts") == 1, (part(js, "inbox"), inbox))

        # --- the password back -------------------------------------------------------
        seen = len(sb.messages(rt.ADVISERS[0]))
        t_back = time.monotonic()
        set_dovecot_password(sb, good)
        sb.password = good
        msgs = wait_mail(sb, ALERTS, alerts_before + 2, timeout=25)
        check("a 'recovered' message follows", len(msgs) == alerts_before + 2 and
              "works again" in text_of(msgs[-1]) and "inbox" in text_of(msgs[-1]),
              [str(m["Subject"]) for m in msgs])
        fwd = wait_mail(sb, rt.ADVISERS[0], seen + 1)
        check("the held-up message is forwarded", len(fwd) == seen + 1 and SECRET_WORDS in rt.body(fwd[-1]),
              len(fwd))
        check("STATUS= follows: inbox ok again", notify.wait("STATUS=", r"^STATUS=inbox ok", after=t_back) is not None,
              notify.lines("STATUS=")[-3:])
        rc, js = status(conf)
        check("status: exit 0 again", rc == 0 and part(js, "inbox").get("state") == "ok", js)
        check("status: alerts sent since the restart counted (the recovery)",
              js.get("relay", {}).get("alerts_sent") == 1, js)
    finally:
        sb.password = good
        rt.stop(proc)
        notify.close()
    rc, js = status(conf)
    check("status after the daemon stopped: exit 1, stopped", rc == 1 and js.get("relay", {}).get("state") == "stopped",
          js)
    check("STOPPING=1 at the end", notify.lines("STOPPING=1"), "none")
    logtext = open(log).read()
    check("no young person's words or address in the log", SECRET_WORDS not in logtext and YOUNG not in logtext, "")


# ---- outgoing mail down: a text; the gateway refusing: email; the backlog ---------

def smtp_and_gateway(sb):
    work = os.path.join(sb.dir, "relay-smtp")
    os.makedirs(work, exist_ok=True)
    with Gateway("twilio") as gw:
        conf = rt.make_config(sb, work, extra=rt.sms_section(gw, work, "poll_interval = 5\ntimeout = 3\n") +
                              HEALTH + f"alert_sms = {ONCALL}\n")
        # The young person's message is in the inbox before the mail server goes.
        sb.send(YOUNG, [rt.SERVICE], rt.mail(YOUNG, rt.SERVICE, "help", SECRET_WORDS + "\n",
                                             msgid="backlog.1@example.net"))
        sb.wait_for(rt.SERVICE, 1)
        sb.stop_server("postfix")
        notify = Notify("@relay-health-test-%d" % os.getpid())
        proc, log = start(conf, work, notify)
        try:
            def oncall():
                return [m for m in gw.sent if m.get("to") == ONCALL]
            texts = wait_until(lambda: len(oncall()) >= 2 and oncall(), timeout=30) or oncall()
            bodies = [m["body"] for m in texts]
            smtp_alert = [b for b in bodies if "outgoing mail (SMTP) failing" in b]
            check("SMTP down: the alert goes as a text to the on-call number", smtp_alert, bodies)
            if smtp_alert:
                check("the text says what is wrong", "cannot be reached" in smtp_alert[0], smtp_alert[0])
            backlog = [b for b in bodies if "waiting to be forwarded" in b]
            check("backlog alert: by text too, while outgoing mail fails", backlog, bodies)
            if backlog:
                check("backlog alert: how many and since when",
                      re.search(r"1 message from young people is waiting to be forwarded to the advisers, the oldest "
                                r"since \w+day \d+ \w+ \d{4}, \d\d:\d\d", backlog[0]), backlog[0])
            everything = "\n".join(bodies)
            check("no young person's words or address in any text", SECRET_WORDS not in everything and
                  YOUNG not in everything, everything)
            check("STATUS= says smtp is failing and one waits",
                  notify.wait("STATUS=", r"smtp failing for .*, 1 waiting") is not None, notify.lines("STATUS=")[-3:])
            rc, js = status(conf)
            check("status: exit 1, smtp failing, one waiting", rc == 1 and part(js, "smtp").get("state") == "failing"
                  and js.get("backlog", {}).get("waiting") == 1, js)
            check("status: backlog failing with its reason", part(js, "backlog").get("state") == "failing" and
                  "1 message" in (part(js, "backlog").get("reason") or ""), part(js, "backlog"))
            bad = metrics_match(conf, work, proc)
            check("metrics file matches status (smtp failing, backlog)", not bad, bad)

            # --- the mail server back: recovered by email, the forward goes -----------
            alerts_before = len(sb.messages(ALERTS))
            sb.start_server("postfix")
            fwd = wait_mail(sb, rt.ADVISERS[0], 1, timeout=30)
            check("the held-up forward goes once the mail server is back", len(fwd) == 1, len(fwd))
            texted = wait_until(lambda: [m for m in oncall() if "works again" in m["body"] and
                                         "outgoing mail (SMTP)" in m["body"]], timeout=30)
            check("outgoing mail recovered: said by text to whoever had the alert by text", texted,
                  [m["body"] for m in oncall()])
            msgs = wait_mail(sb, ALERTS, alerts_before + 1, timeout=30)
            subjects = [str(m["Subject"]) for m in msgs[alerts_before:]]
            check("the backlog recovered: by email, outgoing mail working",
                  any("waiting to be forwarded" in s and "works again" in s for s in subjects), subjects)
            everything = "\n".join(text_of(m) for m in msgs)
            check("no young person's words or address in any email alert", SECRET_WORDS not in everything and
                  YOUNG not in everything, "")

            # --- the gateway refuses the credentials: the alert by email ------------------
            alerts_before = len(sb.messages(ALERTS))
            gw.fault("401", count=100000)
            msgs = wait_mail(sb, ALERTS, alerts_before + 1, timeout=30)
            new = [text_of(m) for m in msgs[alerts_before:]]
            check("gateway answering 401: the alert goes by email",
                  any("the SMS gateway (twilio) refused the relay's credentials" in t for t in new), new)
            check("it names the password file", any(os.path.join(work, "sms.password") in t for t in new), new)
            rc, js = status(conf)
            check("status: exit 1, the gateway failing", rc == 1 and part(js, "sms-poll").get("state") == "failing",
                  js)
            with gw._lock:
                gw._faults = []
            msgs = wait_mail(sb, ALERTS, alerts_before + 2, timeout=30)
            check("gateway back: recovered by email", any("works again" in text_of(m) for m in msgs[alerts_before + 1:]),
                  [str(m["Subject"]) for m in msgs])
            rc, js = wait_until(lambda: (lambda s: s if s[0] == 0 else None)(status(conf)), timeout=15) or status(conf)
            check("status: exit 0 once all works", rc == 0, js)
            bad = metrics_match(conf, work, proc)
            check("metrics file matches status (all well again)", not bad, bad)
        finally:
            if sb._master("postfix") is None:
                sb.start_server("postfix")
            rt.stop(proc)
            notify.close()


def unit_file(sb):
    """The unit asks for what the daemon does."""
    unit = open(os.path.join(rt.ROOT, "config", "relay.service")).read()
    check("unit: Type=notify", re.search(r"^Type=notify$", unit, re.M), "")
    check("unit: WatchdogSec= set", re.search(r"^WatchdogSec=\S+", unit, re.M), "")
    check("unit: NotifyAccess=main", re.search(r"^NotifyAccess=main$", unit, re.M), "")


def config_errors(sb):
    work = os.path.join(sb.dir, "relay-config")
    for bad, pattern in (("alert_after = soon", r"\[health\] alert_after: 'soon' is not a duration"),
                         ("alert_sms = 0770", r"\[health\] alert_sms: '0770' is not an E\.164 number"),
                         ("alert_to = nobody", r"\[health\] alert_to: 'nobody' is not an email address"),
                         ("remind_every = 0s", r"\[health\] remind_every: '0s' is not a duration")):
        conf = rt.make_config(sb, work, extra="[health]\n" + bad + "\n")
        r = rt.relay(conf, "check")
        check(f"config: {bad} refused with file, line and key", r.returncode == 3 and
              re.search(r"relay\.conf:\d+: " + pattern, r.stdout + r.stderr), r.stdout + r.stderr)
    conf = rt.make_config(sb, work, extra=f"[health]\nalert_sms = {ONCALL}\n")
    r = rt.relay(conf, "check")
    check("config: alert_sms without a gateway refused", r.returncode == 3 and "needs an SMS gateway" in r.stdout + r.stderr,
          r.stdout + r.stderr)
    conf = rt.make_config(sb, work, extra="[health]\nalert_to = a@example.org\nalert_after = 5\nremind_every = 2h\n")
    r = rt.relay(conf, "check")
    check("config: a bare number is minutes, h is hours",
          re.search(r"after 5 min failing, reminders every 2 h 0 min", r.stdout), r.stdout)
    conf = rt.make_config(sb, work, extra=HEALTH)
    r = rt.relay(conf, "check")
    check("check explains the alerts", re.search(r"^OK\s+health alerts: .*alerts@example\.org.*after 2 s", r.stdout, re.M),
          r.stdout)


with Sandbox() as sb:
    rt.run_parts(sb, unit_file, config_errors, inbox_password, smtp_and_gateway)
done()
