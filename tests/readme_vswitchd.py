"""`vswitchd` as the README's recipes run it (test_readme.py puts a shim that
runs this first in PATH).

It starts the build under test in the recipe's host namespace with this
host's control socket unless the recipe names one, and returns once the
daemon answers, as the real daemon's parent does when it detaches.  Unlike
a detached daemon, it keeps the daemon's log (in the foreground, at debug
level) so that the test can look for sanitizer reports, and it records the
PID for the test to stop it.  A daemon that exits instead prints its log and
this exits with its status.
"""

import os
import subprocess
import sys
import time

real = os.environ["VSW_README_VSWITCHD"]
vswctl = os.environ["VSW_README_VSWCTL"]
hostns = os.environ["VSW_README_HOSTNS"]
rundir = os.environ["VSW_README_DIR"]

args = sys.argv[1:]
socket = os.environ["VSWCTL_SOCKET"]
for i, a in enumerate(args):
    if a in ("-s", "--socket") and i + 1 < len(args):
        socket = args[i + 1]
    elif a.startswith("--socket="):
        socket = a.split("=", 1)[1]
    if a in ("-h", "--help", "-V", "--version"):
        os.execv(real, [real, *args])
if socket == os.environ["VSWCTL_SOCKET"]:
    args = ["--socket", socket, *args]

n = len([f for f in os.listdir(rundir) if f.startswith("vswitchd-")])
log = os.path.join(rundir, f"vswitchd-{n}.log")
with open(log, "w") as logf:
    proc = subprocess.Popen(["ip", "netns", "exec", hostns, real, "--foreground",
                             "--log-level", "debug", *args],
                            stdout=logf, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
with open(os.path.join(rundir, "pids"), "a") as f:
    f.write(f"{proc.pid} {log}\n")

deadline = time.time() + 20
while True:
    if proc.poll() is not None:
        sys.stderr.write(open(log).read())
        sys.exit(proc.returncode or 1)
    if os.path.exists(socket) and subprocess.run(
            [vswctl, "--socket", socket, "help"], capture_output=True).returncode == 0:
        sys.exit(0)
    if time.time() > deadline:
        sys.stderr.write("vswitchd did not answer within 20 s\n" + open(log).read())
        sys.exit(1)
    time.sleep(0.05)
