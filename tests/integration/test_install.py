"""Installation and documentation: `make install` puts exactly the expected
files in place with their modes and paths, `make uninstall` takes them all
away again (and leaves the operator's configuration), both man pages are
lint-clean, every command and option has its entry in relay(8), every key of
the configuration table its entry in relay.conf(5) (with its default and
range) and in the example configuration, every template and placeholder is
documented, and the systemd unit is verified and exposed no more than 2.0 by
`systemd-analyze security`. The installed program is the production build:
it says so, and a test hook (RELAY_TEST_NOW) moves neither its audit trail
nor its purge, where the test build's does."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from lib import check, done  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RELAY = os.path.join(ROOT, "build", "relay")
MAN8 = os.path.join(ROOT, "man", "relay.8")
MAN5 = os.path.join(ROOT, "man", "relay.conf.5")
UNIT = os.path.join(ROOT, "config", "relay.service")
EXAMPLE = os.path.join(ROOT, "config", "relay.conf.example")

# The commands of the specification (issue 7). Kept here as well as parsed
# from `relay --help`, so that the man page is held to the whole list even
# before every command is built.
SPEC_COMMANDS = ["run", "poll", "check", "list", "show", "close", "reopen", "send", "stats", "export", "purge"]
SPEC_OPTIONS = ["-c", "-v", "-q", "--json", "-h"]
MAX_EXPOSURE = 2.0


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def run(*args, env=None, cwd=ROOT):
    return subprocess.run(list(args), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def files_under(top):
    """{relative path: mode} of every file (not directory) under top."""
    out = {}
    for d, _, names in os.walk(top):
        for n in names:
            p = os.path.join(d, n)
            out[os.path.relpath(p, top)] = os.lstat(p).st_mode & 0o7777
    return out


def plain(roff):
    """Man source as words: font escapes dropped, \\- as -, quotes gone."""
    s = re.sub(r"\\f[BIRP]|\\f\(..|\\&|\\c", "", roff)
    s = s.replace("\\-", "-").replace("\\e", "\\").replace('"', "")
    return s


def man_sections(roff, macro):
    """Splits man source at each `macro` line (.SH or .SS): {heading: body}."""
    out, head, body = {}, None, []
    for line in roff.splitlines():
        if line.startswith(macro + " "):
            if head is not None:
                out[head] = "\n".join(body)
            head, body = plain(line[len(macro) + 1:]).strip(), []
        elif line.startswith(".SH ") and macro != ".SH":
            if head is not None:
                out[head] = "\n".join(body)
            head, body = None, []
        elif head is not None:
            body.append(line)
    if head is not None:
        out[head] = "\n".join(body)
    return out


def tagged_entries(body):
    """The .TP entries of a section: {first word of the tag: entry text}."""
    out = {}
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if line == ".TP" and i + 1 < len(lines):
            tag = plain(re.sub(r"^\.[A-Z]+ ?", "", lines[i + 1])).split()
            if not tag:
                continue
            rest = []
            for nxt in lines[i + 2:]:
                if nxt == ".TP" or nxt.startswith(".SS") or nxt.startswith(".SH"):
                    break
                rest.append(nxt)
            out[tag[0]] = plain("\n".join(rest))
    return out


def config_table():
    """Rows of relay/config.c's option table: (section, key, type, default, min, max, help)."""
    src = read(os.path.join(ROOT, "relay", "config.c"))
    table = src[src.index("static const struct option options[]"):]
    table = table[:table.index("};")]
    rows = []
    pat = re.compile(r'\{\s*"(\w+)",\s*"(\w+)",\s*OPT_(\w+),\s*F\([^)]*\),\s*'
                     r'(NULL|RELAY_SHAREDIR\s*"[^"]*"|"[^"]*"),\s*(-?\d+),\s*(-?\d+),\s*(?:\d+|[A-Z_]+),\s*"([^"]*)"\s*\}', re.S)
    for m in pat.finditer(table):
        sec, key, typ, dflt, lo, hi, hlp = m.groups()
        if dflt == "NULL":
            dflt = None
        elif dflt.startswith("RELAY_SHAREDIR"):
            dflt = "/usr/local/share/relay" + re.search(r'"([^"]*)"', dflt).group(1)
        else:
            dflt = dflt.strip('"')
        rows.append((sec, key, typ, dflt, int(lo), int(hi), hlp))
    return rows, table.count('{ "')


def example_keys():
    """{section: set of keys} in the example configuration, commented-out keys included."""
    out, sec = {}, None
    for line in read(EXAMPLE).splitlines():
        m = re.match(r"^\[(\w+)\]", line)
        if m:
            sec = m.group(1)
            out.setdefault(sec, set())
            continue
        m = re.match(r"^[#;]?\s*(\w+)\s*=", line)
        if m and sec:
            out[sec].add(m.group(1))
    return out


def template_registry():
    src = read(os.path.join(ROOT, "relay", "template.c"))
    return [(m.group(1), re.findall(r'"(\w+)"', m.group(2)))
            for m in re.finditer(r'\{\s*"((?:email|sms)/\w+)",\s*\{([^}]*)\}', src)]


# -- make install / make uninstall --------------------------------------------

def expected_install(prefix):
    p = prefix.lstrip("/")
    want = {f"{p}/bin/relay": 0o755,
            f"{p}/share/relay/relay.conf.example": 0o644,
            f"{p}/share/relay/urgent.txt": 0o644,
            f"{p}/share/relay/bank-holidays-england-and-wales.txt": 0o644,
            f"{p}/share/man/man8/relay.8": 0o644,
            f"{p}/share/man/man5/relay.conf.5": 0o644,
            f"{p}/lib/systemd/system/relay.service": 0o644}
    for kind in ("email", "sms"):
        for n in os.listdir(os.path.join(ROOT, "templates", kind)):
            if n.endswith(".txt"):
                want[f"{p}/share/relay/templates/{kind}/{n}"] = 0o644
    return want


def test_install(tmp):
    dest = os.path.join(tmp, "dest")
    r = run("make", "-s", "install", f"DESTDIR={dest}", "PREFIX=/usr")
    check("make install DESTDIR PREFIX=/usr succeeds", r.returncode == 0, r.stderr[-2000:])
    got, want = files_under(dest), expected_install("/usr")
    check("make install: exactly the expected files", set(got) == set(want),
          f"missing {sorted(set(want) - set(got))}, unexpected {sorted(set(got) - set(want))}")
    wrong = {p: oct(m) for p, m in got.items() if p in want and m != want[p]}
    check("make install: modes (0755 program, 0644 the rest)", not wrong, str(wrong))
    check("make install: /etc/relay created", os.path.isdir(os.path.join(dest, "etc", "relay")))
    check("templates installed as in the tree",
          read(os.path.join(dest, "usr/share/relay/templates/email/first_contact.txt")) ==
          read(os.path.join(ROOT, "templates/email/first_contact.txt")))

    unit = read(os.path.join(dest, "usr/lib/systemd/system/relay.service"))
    check("installed unit runs the installed program",
          re.search(r"^ExecStart=/usr/bin/relay -c /etc/relay/relay.conf run$", unit, re.M), unit[:400])
    example = read(os.path.join(dest, "usr/share/relay/relay.conf.example"))
    check("installed example names the installed data files",
          "templates = /usr/share/relay/templates" in example and "/usr/local" not in example)
    for page in ("man5/relay.conf.5", "man8/relay.8"):
        text = read(os.path.join(dest, "usr/share/man", page))
        check(f"installed {os.path.basename(page)} names the installed paths",
              "/usr/share/relay/templates" in text and "/usr/local/" not in text,
              re.findall(r".*/usr/local/.*", text))
    out = run(os.path.join(dest, "usr/bin/relay"), "--help")
    check("installed program runs", out.returncode == 0 and "usage" in out.stdout, out.stderr)
    with open(os.path.join(dest, "usr/bin/relay"), "rb") as f:
        binary = f.read()
    check("installed program looks for its templates in /usr/share/relay (PREFIX rebuilt in)",
          b"/usr/share/relay/templates" in binary and b"/usr/local/share/relay" not in binary)
    test_hooks_absent(tmp, dest, binary)

    # The installed unit, with the built program in place of the installed
    # one, verified with the installed man pages.
    if shutil.which("systemd-analyze"):
        vunit = os.path.join(tmp, "verify", "relay.service")
        os.makedirs(os.path.dirname(vunit))
        with open(vunit, "w") as f:
            f.write(unit.replace("ExecStart=/usr/bin/relay", "ExecStart=" + RELAY))
        env = dict(os.environ, MANPATH=os.path.join(dest, "usr/share/man"))
        v = run("systemd-analyze", "verify", vunit, env=env)
        check("systemd-analyze verify: the installed unit is clean (man pages found)",
              v.returncode == 0 and not v.stderr.strip(), v.stdout + v.stderr)
    else:
        check("systemd-analyze is installed (apt-get install systemd)", False)

    # The operator's configuration is theirs: uninstall leaves it, and only it.
    conf = os.path.join(dest, "etc", "relay", "relay.conf")
    with open(conf, "w") as f:
        f.write("[service]\n")
    r = run("make", "-s", "uninstall", f"DESTDIR={dest}", "PREFIX=/usr")
    check("make uninstall succeeds", r.returncode == 0, r.stderr[-2000:])
    left = files_under(dest)
    check("make uninstall removes every installed file, keeps relay.conf",
          set(left) == {"etc/relay/relay.conf"}, str(sorted(left)))
    check("make uninstall removes share/relay", not os.path.exists(os.path.join(dest, "usr/share/relay")))
    os.unlink(conf)
    r = run("make", "-s", "uninstall", f"DESTDIR={dest}", "PREFIX=/usr")
    check("make uninstall a second time: no file left, /etc/relay gone when empty",
          r.returncode == 0 and not files_under(dest) and not os.path.exists(os.path.join(dest, "etc/relay")),
          r.stderr + str(files_under(dest)))

    # SYSTEMDUNITDIR and the default PREFIX.
    dest2 = os.path.join(tmp, "dest2")
    r = run("make", "-s", "install", f"DESTDIR={dest2}", "SYSTEMDUNITDIR=/lib/systemd/system")
    got = files_under(dest2)
    check("SYSTEMDUNITDIR puts the unit there; PREFIX defaults to /usr/local",
          r.returncode == 0 and "lib/systemd/system/relay.service" in got and "usr/local/bin/relay" in got
          and "usr/local/lib/systemd/system/relay.service" not in got, str(sorted(got)))
    r = run("make", "-s", "uninstall", f"DESTDIR={dest2}", "SYSTEMDUNITDIR=/lib/systemd/system")
    check("uninstall with the same variables leaves no file", r.returncode == 0 and not files_under(dest2),
          str(sorted(files_under(dest2))))


def test_hooks_absent(tmp, dest, binary):
    """The installed program is the production build: no test hook in it."""
    installed = os.path.join(dest, "usr/bin/relay")
    v = run(installed, "--version")
    check("installed relay --version: the production build", v.returncode == 0 and "production build" in v.stdout,
          v.stdout + v.stderr)
    check("installed program holds no test hook", b"RELAY_TEST_NOW" not in binary)
    test_build = os.path.join(ROOT, "build", "relay-test")
    t = run(test_build, "--version") if os.access(test_build, os.X_OK) else None
    check("build/relay-test --version: a test build", t and t.returncode == 0 and "test build" in t.stdout,
          t and t.stdout)

    import sqlite3
    import time

    def setup(name):
        work = os.path.join(tmp, name)
        os.makedirs(work, mode=0o700)
        for f, text in (("imap.password", "pw\n"), ("secret", "test-secret-0123456789abcdef0123456789\n")):
            fd = os.open(os.path.join(work, f), os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, text.encode())
            os.close(fd)
        share = os.path.join(dest, "usr/share/relay")
        conf = os.path.join(work, "relay.conf")
        with open(conf, "w") as f:
            f.write(f"""[service]
name = R-U-Safe?
reference_prefix = RUS
database = relay.db
templates = {share}/templates
timezone = Europe/London
secret_file = secret
user = root
retention_days = 30
[hours]
bank_holidays = {share}/bank-holidays-england-and-wales.txt
[policy]
urgent_phrases = {share}/urgent.txt
[imap]
host = localhost
port = 1
security = none
username = rusafe@example.org
password_file = imap.password
[smtp]
host = localhost
port = 1
security = none
from = R-U-Safe? <rusafe@example.org>
[advisers]
forward_to = adviser1@example.org
allowed = adviser1@example.org
authserv_id = mx.example.org
""")
        os.chmod(conf, 0o600)
        r = run(installed, "-c", conf, "list")
        check(f"a database made for the {name} check", r.returncode == 0, r.stderr[-800:])
        now = int(time.time())
        db = sqlite3.connect(os.path.join(work, "relay.db"))
        db.execute("INSERT INTO conversation(ref, channel, contact, state, created_at, last_activity, closed_at) "
                   "VALUES ('RUS-AAAAA', 'email', 'young@example.net', 'closed', ?, ?, ?)", (now - 120, now - 60, now - 60))
        db.execute("INSERT INTO message(conversation_id, kind, channel, at, body) "
                   "VALUES (1, 'inbound', 'email', ?, 'the words of a child')", (now - 120,))
        db.commit()
        db.close()
        return conf, os.path.join(work, "relay.db")

    def state(path):
        db = sqlite3.connect(path)
        body = db.execute("SELECT body FROM message WHERE kind = 'inbound'").fetchone()[0]
        old = db.execute("SELECT count(*) FROM audit WHERE at < 1000000000").fetchone()[0]
        db.close()
        return body, old

    for name, binary_path, honoured in (("installed", installed, False), ("test build", test_build, True)):
        if honoured and not t:
            continue
        conf, path = setup(name.replace(" ", "-"))
        env = dict(os.environ, RELAY_TEST_NOW="1")
        r1 = run(binary_path, "-c", conf, "reopen", "RUS-AAAAA", env=env)
        r2 = run(binary_path, "-c", conf, "close", "RUS-AAAAA")   # closed now
        env = dict(os.environ, RELAY_TEST_NOW="4102444800")      # purge "in 2100"
        r3 = run(binary_path, "-c", conf, "purge", env=env)
        body, old = state(path)
        ok = all(r.returncode == 0 for r in (r1, r2, r3))
        if honoured:
            check("the test build honours RELAY_TEST_NOW (a 1970 audit row, the text purged), so the "
                  "checks of the installed program can fail", ok and old > 0 and body is None,
                  (r1.stderr, r3.stdout, body, old))
        else:
            check("installed relay: RELAY_TEST_NOW=1 reopen writes no 1970 audit row", ok and old == 0,
                  (r1.stderr, old))
            check("installed relay: RELAY_TEST_NOW in 2100 does not fool purge (the text closed a minute ago stays)",
                  ok and body == "the words of a child", (r3.stdout, r3.stderr, body))


# -- man pages ------------------------------------------------------------------

def test_lint():
    for page in (MAN8, MAN5):
        name = os.path.basename(page)
        if shutil.which("mandoc"):
            r = run("mandoc", "-T", "lint", "-W", "style", page)
            check(f"mandoc -T lint {name}: clean", r.returncode == 0 and not (r.stdout + r.stderr).strip(),
                  r.stdout + r.stderr)
        else:
            check("mandoc is installed (apt-get install mandoc)", False)
        r = run("groff", "-man", "-ww", "-z", page)
        check(f"groff -man -ww -z {name}: no warning", r.returncode == 0 and not r.stderr.strip(), r.stderr)


def help_commands_and_options():
    r = run(RELAY, "--help")
    cmds, opts, block = [], [], None
    for line in r.stdout.splitlines():
        if re.match(r"^commands?:", line):
            block = "c"
        elif re.match(r"^options?:", line):
            block = "o"
        elif not line.strip() or not line.startswith(" "):
            block = None if not line.startswith(" ") else block
        elif block == "c":
            cmds.append(line.split()[0])
        elif block == "o":
            opts.extend(o.rstrip(",") for o in line.split()[:3] if o.startswith("-"))
    return r, cmds, opts


def test_man8():
    roff = read(MAN8)
    r, cmds, opts = help_commands_and_options()
    check("relay --help lists its commands", r.returncode == 0 and len(cmds) >= 5, r.stdout + r.stderr)
    sections = man_sections(roff, ".SS")
    documented = {h.split()[0] for h in sections}
    for cmd in sorted(set(cmds) | set(SPEC_COMMANDS)):
        check(f"relay(8) has a section for the command {cmd}", cmd in documented, sorted(documented))
    options = tagged_entries(man_sections(roff, ".SH").get("OPTIONS", ""))
    text_opts = plain(man_sections(roff, ".SH").get("OPTIONS", ""))
    for opt in sorted(set(opts) | set(SPEC_OPTIONS)):
        check(f"relay(8) documents the option {opt}", opt in options or re.search(
            r"(^|[\s,])" + re.escape(opt) + r"\b", text_opts), sorted(options))
    top = man_sections(roff, ".SH")
    for head in ("SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "SIGNALS", "EXIT STATUS", "ENVIRONMENT",
                 "FILES", "SEE ALSO"):
        check(f"relay(8) has {head}", head in top, sorted(top))
    status = tagged_entries(top.get("EXIT STATUS", ""))
    check("relay(8) EXIT STATUS names 0, 1, 2 and 3", all(str(n) in status for n in range(4)), sorted(status))
    sig = plain(top.get("SIGNALS", ""))
    check("relay(8) SIGNALS names SIGTERM, SIGINT and SIGHUP", all(s in sig for s in ("SIGTERM", "SIGINT", "SIGHUP")))
    check("relay(8) ENVIRONMENT names RELAY_CONFIG", "RELAY_CONFIG" in top.get("ENVIRONMENT", ""))


def test_man5_and_example():
    roff = read(MAN5)
    rows, nrows = config_table()
    check("config.c's option table parsed whole", len(rows) == nrows and nrows > 50, f"{len(rows)} of {nrows}")
    sections = man_sections(roff, ".SS")
    ex = example_keys()
    for sec, key, typ, dflt, lo, hi, hlp in rows:
        entries = tagged_entries(sections.get(f"[{sec}]", ""))
        ok = check(f"relay.conf(5) documents [{sec}] {key}", key in entries, sorted(entries))
        if ok:
            text = " ".join(entries[key].split())
            if typ == "INT":
                rng = re.search(r"(\d+) to (\d+)", hlp)
                want = [f"{lo} to {hi}"] + ([f"{rng.group(1)} to {rng.group(2)}"] if rng else [])
                check(f"relay.conf(5) [{sec}] {key}: range {want[-1]}", any(w in text for w in want), text)
            if dflt and dflt != "0":
                check(f"relay.conf(5) [{sec}] {key}: default {dflt}", "Default" in text and dflt in text, text)
            elif dflt is None:
                check(f"relay.conf(5) [{sec}] {key}: required or default stated",
                      "Required" in text or "Default" in text, text)
        check(f"relay.conf.example has [{sec}] {key}", key in ex.get(sec, set()), sorted(ex.get(sec, set())))

    templates = plain(man_sections(roff, ".SH").get("TEMPLATES", ""))
    reg = template_registry()
    check("template.c's registry parsed", len(reg) >= 10, str(len(reg)))
    for name, variables in reg:
        check(f"relay.conf(5) TEMPLATES describes {name}", name in templates)
        for v in variables:
            check(f"relay.conf(5) TEMPLATES names {{{{{v}}}}} ({name})", "{{" + v + "}}" in templates)


# -- the systemd unit ---------------------------------------------------------

def test_unit(tmp):
    unit = read(UNIT)
    for want in ("User=relay", "Group=relay", "StateDirectory=relay", "StateDirectoryMode=0700", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "PrivateTmp=yes", "CapabilityBoundingSet=\n", "MemoryDenyWriteExecute=yes",
                 "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallFilter=@system-service"):
        check(f"relay.service: {want.strip()}", re.search("^" + re.escape(want), unit, re.M))
    creds = dict(re.findall(r"^LoadCredential=([\w.]+):(\S+)$", unit, re.M))
    # Every secret the example points at under /run/credentials is loaded by the unit.
    wanted = re.findall(r"^#?\s*(?:password_file|secret_file)\s*=\s*/run/credentials/relay\.service/(\S+)$",
                        read(EXAMPLE), re.M)
    check("relay.conf.example reads its four secrets from /run/credentials/relay.service", len(wanted) == 4, wanted)
    for name in wanted:
        check(f"relay.service loads the credential {name}", name in creds, sorted(creds))
    check("relay.service: credential sources in /etc/relay/secrets",
          all(p == "/etc/relay/secrets/" + n for n, p in creds.items()), str(creds))
    if not shutil.which("systemd-analyze"):
        check("systemd-analyze is installed (apt-get install systemd)", False)
        return
    r = run("systemd-analyze", "security", "--offline=yes", "--no-pager", UNIT)
    m = re.search(r"Overall exposure level for relay\.service:\s*([\d.]+)", r.stdout)
    level = float(m.group(1)) if m else None
    check(f"systemd-analyze security: overall exposure {level} <= {MAX_EXPOSURE}",
          level is not None and level <= MAX_EXPOSURE, r.stdout[-1500:] + r.stderr)
    print(f"install: relay.service exposure level {level}")
    check("systemd-analyze security: no syntax warning", "Invalid" not in r.stderr and "Unknown" not in r.stderr,
          r.stderr)


def test_readme():
    readme = read(os.path.join(ROOT, "README.md"))
    for cmd in SPEC_COMMANDS:
        check(f"README's command table has {cmd}", re.search(r"^\| `" + cmd + r"\b", readme, re.M))


def main():
    os.makedirs(os.path.join(ROOT, "tests", "tmp"), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="install-", dir=os.path.join(ROOT, "tests", "tmp"))
    try:
        test_install(tmp)
        test_lint()
        test_man8()
        test_man5_and_example()
        test_unit(tmp)
        test_readme()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        run("make", "-s", "all")   # build/relay as the other suites expect it (default PREFIX)
    done()


if __name__ == "__main__":
    main()
