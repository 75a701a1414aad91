"""The manual pages vswitchd(8) and vswctl(8): clean mdoc, in step with the
programs, installed by make install.

    ns S: vswitchd  <-- vswctl help (the command table) --  this test

mandoc -T lint must find nothing at warning level or above.  Every command
`vswctl help` lists must have its item in vswctl.8, and every long option
of `vswitchd --help` and `vswctl --help` must be in its page, so that a new
command or option without its documentation fails the build.
"""

import re
import subprocess

import pytest

from vswlab import ROOT, sh

PAGES = {"vswitchd": ROOT / "vswitchd" / "vswitchd.8",
         "vswctl": ROOT / "tools" / "vswctl.8"}


def rendered(page):
    """The page as text, without overstrike, runs of blanks collapsed."""
    out = subprocess.run(["mandoc", "-T", "ascii", page], capture_output=True,
                         text=True, check=True).stdout
    text = re.sub(r".\x08", "", out)
    return "\n".join(" ".join(line.split()) for line in text.split("\n"))


@pytest.mark.parametrize("program", sorted(PAGES))
def test_mandoc_lint_finds_nothing(program):
    res = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", PAGES[program]],
                         capture_output=True, text=True)
    assert res.returncode == 0 and not res.stdout and not res.stderr, \
        f"mandoc -T lint {PAGES[program]}:\n{res.stdout}{res.stderr}"


@pytest.mark.parametrize("program", sorted(PAGES))
def test_page_has_every_long_option(lab, program):
    binary = lab.vswitchd if program == "vswitchd" else lab.vswctl
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", sh(binary, "--help").stdout))
    options -= {"--help", "--version"}
    assert options, "no options in --help"
    text = rendered(PAGES[program])
    missing = sorted(o for o in options if not re.search(rf"(?<![\w-]){o}(?![\w-])", text))
    assert not missing, f"{PAGES[program].name} lacks {missing}"


def test_vswctl_page_has_every_command(lab):
    d = lab.daemon(lab.netns("S"))
    text = rendered(PAGES["vswctl"])
    commands = []
    for line in d.ctl("help").stdout.split("\n"):
        if line.startswith("  "):
            words = line.split()
            commands.append(" ".join(w for w in words[:2] if re.fullmatch(r"[a-z-]+", w)))
    assert len(commands) > 20, commands
    # Each command is an item of its own: its name starts a line.
    missing = [c for c in commands
               if not re.search(rf"^{re.escape(c)}(?![\w-])", text, re.MULTILINE)]
    assert not missing, f"vswctl.8 has no item for {missing}"


def test_make_install_installs_the_pages(tmp_path):
    """make install runs install-docs; the pages and the completion land
    under DESTDIR with the right modes."""
    dest = tmp_path / "dest"
    sh("make", "-s", "-C", ROOT, "install-docs", f"DESTDIR={dest}", "PREFIX=/usr")
    for f in ("share/man/man8/vswitchd.8", "share/man/man8/vswctl.8",
              "share/bash-completion/completions/vswctl"):
        p = dest / "usr" / f
        assert p.is_file(), f"{p} not installed"
        assert p.stat().st_mode & 0o777 == 0o644, oct(p.stat().st_mode)
    make_n = sh("make", "-n", "-C", ROOT, "-o", "vswitchd/vswitchd", "-o", "tools/vswctl",
                "install", f"DESTDIR={dest}").stdout
    assert "vswctl.bash-completion" in make_n and "vswitchd.8" in make_n
