"""test_demo.py: the README's first command, `make demo`, as a newcomer runs
it: from nothing, twice in a row over the same directory, once in office
hours and once out of hours (the relay's clock pinned to UK time), each run
exiting 0 with exactly the messages it produced. The demo's sandbox is
stopped and its directory removed afterwards. (Not run under ASan or valgrind:
the demo drives build/relay as the README's command does.)"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Sandbox, check, done  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# A Wednesday in term time, not a bank holiday: 11:00 is in office hours, 23:00 is not.
RUNS = [
    ("office hours", "2026-12-02T11:00", "An adviser will reply"),
    ("out of hours", "2026-12-02T23:00", "We're closed and will reply tomorrow at 9am"),
]


def main():
    base = tempfile.mkdtemp(prefix="relay-demo-test-")
    os.chmod(base, 0o755)   # the servers run as their own users
    env = dict(os.environ, RELAY_DEMO_DIR=base)
    try:
        for what, at, text in RUNS:
            r = subprocess.run([os.path.join(ROOT, "tests", "demo"), "--at", at], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
            out = r.stdout
            check("demo (%s) exits 0" % what, r.returncode == 0, out[-3000:])
            check("demo (%s): the young person's phone got the %s text" % (what, what), text in out, out[-3000:])
            check("demo (%s) ran to the end" % what, "== Done" in out, out[-1500:])
            check("demo (%s): no run counted another run's mail" % what, "demo:" not in out, out[-1500:])
        check("the demo leaves its sandbox running for the newcomer",
              os.path.exists(os.path.join(base, "sandbox", "env.json")))
    finally:
        if os.path.exists(os.path.join(base, "sandbox")):
            Sandbox(os.path.join(base, "sandbox")).down(remove=True)
        shutil.rmtree(base, ignore_errors=True)
    done()


if __name__ == "__main__":
    main()
