"""Children's data, end to end on real Dovecot and Postfix and the Twilio
double: retention (relay purge, and daily inside run) leaves no trace of the
text in any database file while the counts survive; the audit trail; what
advisers see of a contact (show_contact); the daemon dropping root; and
canary strings sent through every path never reaching the log, the process's
command line or its environment."""
import json
import os
import pwd
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "doubles"))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402
from sms_gateway import Gateway  # noqa: E402

SID = "AC" + "3" * 32
CANARY = "Zebracanary4417"          # in every text a young person or adviser writes
CANARY_NUMBER = "07700 900417"      # a young person's number
CANARY_E164 = "+447700900417"
CANARY_ADDRESS = "canary.sender4417@example.net"
SERVICE_USER = "relaytest"


body = rt.body


def db_files(conf):
    base = os.path.join(os.path.dirname(conf), "relay.db")
    return [p for p in (base, base + "-wal", base + "-shm", base + "-journal") if os.path.exists(p)]


def files_holding(conf, needle):
    found = []
    for p in db_files(conf):
        with open(p, "rb") as f:
            if needle.encode() in f.read():
                found.append(os.path.basename(p))
    return found


def stats(conf, env=None):
    r = rt.relay(conf, "--json", "stats", env=env)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"error": r.stdout + r.stderr}


def conversation_with_canaries(sb, gw, conf):
    """An email and a text conversation whose every written part carries the canary."""
    sb.send(CANARY_ADDRESS, [rt.SERVICE], rt.mail(f"Sam {CANARY} <{CANARY_ADDRESS}>", rt.SERVICE, f"help {CANARY}",
                                                 f"My secret is {CANARY} and I am scared.\n"))
    sb.wait_for(rt.SERVICE, len(sb.messages(rt.SERVICE)))
    gw.add_inbound(CANARY_NUMBER, f"text {CANARY} please call")
    r = rt.relay(conf, "poll")
    check("canaries: poll ok", r.returncode == 0, r.stderr[-600:])
    fwd = sb.wait_for(rt.ADVISERS[0], 2)
    email_fwd = [m for m in fwd if "by email" in str(m["Subject"])][-1]
    rt.adviser_replies(sb, rt.ADVISERS[0], email_fwd, f"#note called school about {CANARY}\n\nWe hear you {CANARY}.\n")
    r = rt.relay(conf, "poll")
    check("canaries: adviser reply relayed", r.returncode == 0 and
          any(CANARY in body(m) for m in sb.wait_for(CANARY_ADDRESS, 2)), r.stderr[-600:])
    return r


def retention(sb):
    with Gateway("twilio", username=SID, password="tok", account=SID, number="+447700900000") as gw:
        work = os.path.join(sb.dir, "relay-retention")
        conf = rt.make_config(sb, work, extra=rt.twilio_section(gw, work, SID))
        conversation_with_canaries(sb, gw, conf)
        db = rt.db(conf)
        refs = [r[0] for r in db.execute("SELECT ref FROM conversation ORDER BY id")]
        db.close()
        check("retention: the canary is in the database before", files_holding(conf, CANARY) != [],
              files_holding(conf, CANARY))
        for ref in refs:
            rt.relay(conf, "close", ref)
        before = stats(conf)
        # 30 days on: closed, but within retention_days (365): nothing goes
        soon = {"RELAY_TEST_NOW": str(int(time.time()) + 30 * 86400)}
        r = rt.relay(conf, "purge", "--dry-run", env=soon)
        check("retention: nothing is due within retention_days", r.stdout.startswith("0 conversations"), r.stdout)
        later = {"RELAY_TEST_NOW": str(int(time.time()) + 366 * 86400)}
        r = rt.relay(conf, "purge", "--dry-run", env=later)
        check("retention: --dry-run counts and changes nothing", r.stdout.startswith("2 conversations") and
              files_holding(conf, CANARY) != [], r.stdout)
        # on a terminal, as an operator runs it: a progress line on stderr
        rc, out, shown = rt.relay_on_terminal(conf, "purge", env=later)
        check("retention: purge reports what it did", rc == 0 and out.startswith("2 conversations purged"), out)
        check("retention: purge shows its progress on a terminal", "purge: conversations 2/2 (100%)" in shown,
              shown[-300:])
        for needle, what in [(CANARY, "message text"), (CANARY_ADDRESS, "the email address"),
                             ("7700900417", "the number"), ("We hear you", "the adviser's reply")]:
            check(f"retention: {what} is in no database file", files_holding(conf, needle) == [],
                  files_holding(conf, needle))
        after = stats(conf)
        check("retention: the counts survive", after == before, (before, after))
        r = rt.relay(conf, "show", refs[0])
        check("retention: show says the text was removed", "text removed after the retention period" in r.stdout and
              CANARY not in r.stdout, r.stdout)
        db = rt.db(conf)
        purged = db.execute("SELECT count(*) FROM audit WHERE action = 'purged' AND actor = ?", (rt.OPERATOR,)).fetchone()[0]
        check("retention: the purge is in the audit trail", purged == 2, purged)
        check("retention: integrity", db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
        db.close()
        r = rt.relay(conf, "purge", env=later)
        check("retention: a second purge finds nothing", r.stdout.startswith("0 conversations"), r.stdout)

        # the daemon does it by itself, once a day
        conf2 = rt.make_config(sb, os.path.join(sb.dir, "relay-retention-run"))
        sb.send(CANARY_ADDRESS, [rt.SERVICE], rt.mail(CANARY_ADDRESS, rt.SERVICE, "again", f"Again {CANARY}.\n"))
        sb.wait_for(rt.SERVICE, len(sb.messages(rt.SERVICE)))
        rt.relay(conf2, "poll")
        db = rt.db(conf2)
        ref = db.execute("SELECT ref FROM conversation").fetchone()[0]
        rt.relay(conf2, "close", ref)
        log = os.path.join(os.path.dirname(conf2), "run.log")
        with open(log, "w") as out:
            p = subprocess.Popen([rt.RELAY, "-c", conf2, "run"], stdout=out, stderr=subprocess.STDOUT,
                                 env=dict(os.environ, **later))
        try:
            deadline = time.time() + 30
            while time.time() < deadline and not db.execute(
                    "SELECT purged_at FROM conversation WHERE ref = ?", (ref,)).fetchone()[0]:
                time.sleep(0.2)
        finally:
            rt.stop(p)
        check("retention: run purges by itself", db.execute("SELECT purged_at FROM conversation WHERE ref = ?",
                                                           (ref,)).fetchone()[0] > 0, open(log).read()[-800:])
        db.close()
        check("retention: run leaves the text in no file", files_holding(conf2, CANARY) == [],
              files_holding(conf2, CANARY))
        check("retention: run logged it without text", "retention: text of 1 conversation" in open(log).read() and
              CANARY not in open(log).read(), open(log).read()[-800:])


def show_contact(sb):
    for mode, expect, absent in [("full", CANARY_ADDRESS, None),
                                 ("none", "(an email address, not shown)", CANARY_ADDRESS),
                                 ("masked", "c***@example.net", CANARY_ADDRESS)]:
        work = os.path.join(sb.dir, f"relay-contact-{mode}")
        conf = rt.make_config(sb, work, extra="")
        rt.edit_config(conf, "user = root", f"user = root\nshow_contact = {mode}")
        n = len(sb.messages(rt.ADVISERS[0]))
        sb.send(CANARY_ADDRESS, [rt.SERVICE], rt.mail(CANARY_ADDRESS, rt.SERVICE, "hi", f"contact test {mode}\n"))
        sb.wait_for(rt.SERVICE, len(sb.messages(rt.SERVICE)))
        rt.relay(conf, "poll")
        fwd = sb.wait_for(rt.ADVISERS[0], n + 1)[-1]
        b = body(fwd)
        check(f"show_contact = {mode}: the forward shows {expect}", expect in b, b)
        if absent:
            check(f"show_contact = {mode}: the address is not in the forward", absent not in fwd.as_string(), b)
        r = rt.relay(conf, "list")
        check(f"show_contact = {mode}: list agrees", expect in r.stdout, r.stdout)
    conf = rt.make_config(sb, os.path.join(sb.dir, "relay-contact-bad"))
    rt.edit_config(conf, "user = root", "user = root\nshow_contact = partial")
    r = rt.relay(conf, "list")
    check("show_contact: a wrong word names file, line and key", r.returncode == 3 and
          "[service] show_contact" in r.stderr and "masked, full or none" in r.stderr, r.stderr)


def drop_root(sb):
    if os.geteuid() != 0:
        check("drop root: the suite runs as root", False, os.geteuid())
        return
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                   capture_output=True)
    pw = pwd.getpwnam(SERVICE_USER)
    work = os.path.join(sb.dir, "relay-drop")
    # what the daemon reads after dropping root lives where that user can read it
    templates = os.path.join(work, "templates")
    os.makedirs(work, exist_ok=True)
    shutil.copytree(os.path.join(rt.ROOT, "templates"), templates, dirs_exist_ok=True)
    conf = rt.make_config(sb, work, templates=templates)
    shutil.copy(sb.ca_file, os.path.join(work, "ca.pem"))
    rt.edit_config(conf, "user = root", f"user = {SERVICE_USER}")
    rt.edit_config(conf, f"ca_file = {sb.ca_file}\n", "ca_file = ca.pem\n")
    rt.edit_config(conf, f"ca_file = {sb.ca_file}\n", "ca_file = ca.pem\n")   # [imap] and [smtp]
    state = os.path.join(work, "state")
    os.makedirs(state, mode=0o700, exist_ok=True)
    os.chown(state, pw.pw_uid, pw.pw_gid)
    rt.edit_config(conf, "database = relay.db", "database = state/relay.db")
    for d in (sb.dir, work, templates):   # traversable; the secrets stay root's, mode 0600
        os.chmod(d, 0o711 if d != templates else 0o755)
    for root, dirs, files in os.walk(templates):
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
    os.chmod(os.path.join(work, "ca.pem"), 0o644)
    r = rt.relay(conf, "check")
    check("drop root: check reports the user", f"OK   user: {SERVICE_USER} (root dropped)" in r.stdout, r.stdout)
    log = os.path.join(work, "run.log")
    with open(log, "w") as out:
        p = subprocess.Popen([rt.RELAY, "-c", conf, "run"], stdout=out, stderr=subprocess.STDOUT)
    try:
        young = "dropper@example.net"
        n = len(sb.messages(rt.ADVISERS[0]))
        time.sleep(1.0)
        sb.send(young, [rt.SERVICE], rt.mail(young, rt.SERVICE, "hello", "as the service user\n"))
        got = sb.wait_for(rt.ADVISERS[0], n + 1, timeout=30)
        check("drop root: the daemon relays", len(got) == n + 1, open(log).read()[-800:])
        pid = p.pid   # valgrind-relay execs valgrind, which runs the relay in the same process
        uids = [line.split()[1:] for line in open(f"/proc/{pid}/status") if line.startswith(("Uid:", "Gid:"))]
        check("drop root: every uid and gid is the service user's",
              uids == [[str(pw.pw_uid)] * 4, [str(pw.pw_gid)] * 4], uids)
        groups = [line.split()[1:] for line in open(f"/proc/{pid}/status") if line.startswith("Groups:")]
        check("drop root: no supplementary group of root's", "0" not in (groups[0] if groups else []), groups)
    finally:
        rt.stop(p)
    st = os.stat(os.path.join(state, "relay.db"))
    check("drop root: the database belongs to the service user, mode 0600",
          st.st_uid == pw.pw_uid and (st.st_mode & 0o777) == 0o600, (st.st_uid, oct(st.st_mode)))
    rt.edit_config(conf, f"user = {SERVICE_USER}", "user = nosuchrelayuser")
    r = rt.relay(conf, "poll")
    check("drop root: an unknown user is a configuration error that says how to create it",
          r.returncode == 3 and "no user 'nosuchrelayuser'" in r.stderr and "useradd" in r.stderr, r.stderr)
    # a private database directory is what check asks for
    os.chmod(state, 0o755)
    rt.edit_config(conf, "user = nosuchrelayuser", f"user = {SERVICE_USER}")
    r = rt.relay(conf, "check")
    check("check: a database directory open to others fails with the fix", r.returncode == 1 and
          "FAIL files: the database directory" in r.stdout and "chmod 0700" in r.stdout, r.stdout)


def log_canaries(sb):
    """Canaries through every path, under run -v (debug), with the log on a
    pipe systemd would call the journal."""
    with Gateway("twilio", username=SID, password="tok", account=SID, number="+447700900000") as gw:
        work = os.path.join(sb.dir, "relay-canary")
        conf = rt.make_config(sb, work, poll_interval=5, extra=rt.twilio_section(gw, work, SID, extra="poll_interval = 5\n"))
        read_end, write_end = os.pipe()
        st = os.fstat(write_end)
        env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
        p = subprocess.Popen([rt.RELAY, "-v", "-c", conf, "run"], stdout=write_end, stderr=write_end, env=env)
        os.close(write_end)
        try:
            time.sleep(1.0)
            young = CANARY_ADDRESS
            sb.send(young, [rt.SERVICE], rt.mail(f"{CANARY} <{young}>", rt.SERVICE, f"subject {CANARY}",
                                                 f"body {CANARY} hes outside my house\n"))
            gw.add_inbound(CANARY_NUMBER, f"text {CANARY}")
            fwd = sb.wait_for(rt.ADVISERS[0], len(sb.messages(rt.ADVISERS[0])) + 2, timeout=40)
            email_fwd = [m for m in fwd if "by email" in str(m["Subject"])]
            # a stranger's reply (held), an adviser's note and reply, an unknown command
            if email_fwd:
                tag = rt.reply_tag(email_fwd[-1])
                sb.send("stranger@example.com", [tag], rt.mail("stranger@example.com", tag, "re", f"stranger {CANARY}\n"))
                rt.adviser_replies(sb, rt.ADVISERS[0], email_fwd[-1], f"#note {CANARY}\n\nReply {CANARY}\n")
                rt.adviser_replies(sb, rt.ADVISERS[1], email_fwd[-1], f"#clsoe {CANARY}\n")
            cmdline = open(f"/proc/{p.pid}/cmdline", "rb").read()
            environ = open(f"/proc/{p.pid}/environ", "rb").read()
            time.sleep(8)
            got = sb.messages(young)
        finally:
            rt.stop(p)
        with os.fdopen(read_end, "rb") as f:
            log = f.read().decode(errors="replace")
        check("canaries: the relay worked (reply relayed)", any(f"Reply {CANARY}" in body(m) for m in got),
              log[-1500:])
        check("canaries: the log has debug lines", "debug:" in log, log[-500:])
        check("canaries: journal priorities on each line", all(line.startswith("<") for line in log.splitlines() if line),
              log[:400])
        secrets = [sb.password, "test-secret-0123456789abcdef", "tok"]
        for needle, what in [(CANARY, "message text"), (CANARY_ADDRESS, "an address"), ("7700900417", "a number"),
                             ("900 417", "a number as written"), ("stranger@example.com", "a stranger's address"),
                             (rt.ADVISERS[0], "an adviser's address"), (secrets[0], "the mail password"),
                             (secrets[1], "the signing key")]:
            check(f"canaries: {what} is not in the log", needle not in log, needle)
        for needle in secrets[:2] + [CANARY]:
            check("canaries: not in /proc/PID/cmdline or environ",
                  needle.encode() not in cmdline and needle.encode() not in environ, needle)


def state_dir(sb):
    """The relay makes its database directory private (0700) and the database 0600."""
    work = os.path.join(sb.dir, "relay-state")
    conf = rt.make_config(sb, work)
    rt.edit_config(conf, "database = relay.db", "database = fresh-state/relay.db")
    old = os.umask(0o022)
    try:
        r = rt.relay(conf, "list")
    finally:
        os.umask(old)
    d = os.path.join(work, "fresh-state")
    check("state: list ok on a new directory", r.returncode == 0, r.stderr)
    check("state: the directory is created 0700", os.path.isdir(d) and (os.stat(d).st_mode & 0o777) == 0o700,
          oct(os.stat(d).st_mode) if os.path.isdir(d) else "missing")
    files = {n: oct(os.stat(os.path.join(d, n)).st_mode & 0o777) for n in os.listdir(d)} if os.path.isdir(d) else {}
    check("state: every database file is 0600", files and all(m == "0o600" for m in files.values()), files)


def syslog(sb):
    """log = syslog: one datagram per event to /dev/log, facility mail, no text."""
    import socket
    if os.path.exists("/dev/log"):
        check("syslog: /dev/log belongs to this machine's logger; not replaced", True)
        return
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("/dev/log")
    try:
        work = os.path.join(sb.dir, "relay-syslog")
        conf = rt.make_config(sb, work)
        rt.edit_config(conf, "user = root", "user = root\nlog = syslog")
        sb.send(CANARY_ADDRESS, [rt.SERVICE], rt.mail(CANARY_ADDRESS, rt.SERVICE, "hi", f"syslog {CANARY}\n"))
        sb.wait_for(rt.SERVICE, len(sb.messages(rt.SERVICE)))
        r = rt.relay(conf, "poll")
        sock.settimeout(0.5)
        lines = []
        try:
            while True:
                lines.append(sock.recv(4096).decode(errors="replace"))
        except OSError:
            pass
        check("syslog: poll ok and nothing on stderr", r.returncode == 0 and "relay info" not in r.stderr, r.stderr)
        check("syslog: events arrive with the tag and the mail facility (<22> = mail.info)",
              any(x.startswith("<22>") and "relay[" in x and "forwarded" in x for x in lines), lines[:5])
        check("syslog: no text, no address", not any(CANARY in x or CANARY_ADDRESS in x for x in lines), lines)
    finally:
        sock.close()
        os.unlink("/dev/log")


def main():
    with Sandbox() as sb:
        rt.run_parts(sb, retention, show_contact, drop_root, log_canaries, state_dir, syslog)
    done()


if __name__ == "__main__":
    main()
