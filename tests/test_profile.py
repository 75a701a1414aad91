"""`make profile` (tests/bench/profile.sh) runs and reports what it promises.

One short run of the tap->tap path under the light load: a row with the
frame rate and CPU time per frame, the system calls per frame by name (the
tap's read and write among them), wake-ups per frame, the shares and the top
symbols; then nothing of its namespaces or daemons is left.  No speed is
asserted."""

import os
import re
import shutil
import subprocess

import pytest

from vswlab import BUILDS, ROOT


@pytest.mark.skipif(shutil.which("perf") is None, reason="linux-perf is not installed")
def test_profile_script_smoke():
    env = dict(os.environ, PATHS="tap", LOADS="light", DUR="1",
               VSWITCHD=str(BUILDS["release"] / "vswitchd"),
               VSWCTL=str(BUILDS["release"] / "vswctl"))
    proc = subprocess.Popen(["sh", ROOT / "tests" / "bench" / "profile.sh"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    prefix = f"vp{proc.pid}"
    left = [n for n in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                      text=True).stdout.split() if n.startswith(prefix)]
    for n in left:
        subprocess.run(["ip", "netns", "del", n], capture_output=True)
    assert proc.returncode == 0, out + err
    assert left == [], "not cleaned up: " + " ".join(left)
    assert re.search(r"^tap +light +\d+ fr/s +CPU +\d+ ns/frame +cycles/frame ~?\d+", out,
                     re.M), out
    calls = re.search(r"^ +syscalls/frame ([\d.]+):(.*)$", out, re.M)
    assert calls and float(calls.group(1)) > 0, out
    by = dict(re.findall(r" (\w+) ([\d.]+)", calls.group(2)))
    assert float(by.get("read", 0)) + float(by.get("readv", 0)) > 0, out
    assert float(by.get("write", 0)) + float(by.get("writev", 0)) > 0, out
    assert re.search(r"^ +wakeups/frame [\d.]+ +epoll returns/frame [\d.]+", out, re.M), out
    assert re.search(r"^ +shares: kernel \d+%.*tap read [\d.]+%.*MAC table [\d.]+%", out,
                     re.M), out
    assert re.search(r"^ +top: \S+ [\d.]+%;", out, re.M), out
