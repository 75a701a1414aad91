"""The README's code blocks as tests: the extractor and the recipe runner.

Each fenced block of README.md carries a marker, an HTML comment on the line
right before it (invisible on GitHub), that says what the block is:

    <!-- recipe NAME[,NAME...] SETUP [host=N] [names=A,B,...] -->
        commands to run; the blocks of one NAME run in document order in
        one test, on the lab SETUP builds (see SETUPS in test_readme.py),
        on its host N; a block may be shared by several recipes
    <!-- output NAME [part] [any-numbers] -->
        what the last command of recipe NAME printed: every line (or, with
        `part`, these lines in this order), compared with runs of blanks
        collapsed; with `any-numbers` a number that stands alone (a counter,
        a time; not an address or a name) matches any number
    <!-- usage PROGRAM -->
        a synopsis: its long options are exactly PROGRAM --help's
    <!-- not run: REASON -->
        a block no test can run (it installs into the system, it is XML)

A recipe's placeholder names (namespaces, interfaces: `names=`) get the
test's prefix, and /tmp/, /etc/, /run/vswitchd/ and /var/lib/vswitchd/ move
into the test's directories, so recipes run side by side with anything
else; outputs are compared after the substitution is undone.  Commands run one line at a time
(a trailing backslash continues one), each with `sh -ec`, so a failure names
its README line.  Two comments change how a line runs: `# until Ctrl-C`
runs it until the test sends SIGINT to it, as a terminal would, and
`# fails: TEXT` expects it to exit non-zero having printed TEXT.
"""

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

MARKER = re.compile(r"^<!--\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass
class Block:
    line: int               # of the first line inside the fence, 1-based
    lang: str
    text: str
    kind: str               # recipe, output, usage, not-run; "" if unmarked
    args: list = field(default_factory=list)
    opts: dict = field(default_factory=dict)

    @property
    def name(self):
        return self.args[0] if self.args else ""

    def belongs(self, recipe):
        """A recipe block may start several recipes: NAME,NAME..."""
        return recipe in self.name.split(",")

    def where(self):
        return f"README.md:{self.line}"


def parse_marker(text):
    """(kind, args, opts) of a marker's text, or None if it is no marker."""
    if text.startswith("not run:"):
        reason = text[len("not run:"):].strip()
        return "not-run", [reason], {}
    words = shlex.split(text)
    if not words or words[0] not in ("recipe", "output", "usage"):
        return None
    args, opts = [], {}
    for w in words[1:]:
        if "=" in w:
            k, v = w.split("=", 1)
            opts[k] = v
        else:
            args.append(w)
    return words[0], args, opts


def blocks(path=README):
    """Every fenced block of the file with its marker."""
    lines = path.read_text().split("\n")
    out = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        kind, args, opts = "", [], {}
        if start > 0 and (mm := MARKER.match(lines[start - 1])):
            parsed = parse_marker(mm.group(1))
            if parsed:
                kind, args, opts = parsed
        out.append(Block(start + 2, m.group(1), "\n".join(lines[start + 1:j]),
                         kind, args, opts))
        i = j + 1
    return out


@dataclass
class Command:
    line: int
    text: str               # what sh runs (continuations joined)
    comment: str            # the trailing comment, "" if none

    @property
    def until_ctrl_c(self):
        return "until Ctrl-C" in self.comment

    @property
    def fails(self):
        """The text a failing command must print, or None."""
        m = re.match(r"fails:\s*(.*)", self.comment)
        return m.group(1) if m else None


def trailing_comment(line):
    """The comment that ends a shell line (a # that starts a word, outside
    quotes), or ""."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t;"):
            return line[i + 1:].strip()
    return ""


def commands(block):
    """The command lines of a recipe block: comment lines and blank lines
    dropped, backslash continuations joined."""
    out = []
    pending, first = "", 0
    for n, raw in enumerate(block.text.split("\n")):
        if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if not pending:
            first = block.line + n
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        text = pending + raw
        pending = ""
        out.append(Command(first, text, trailing_comment(text)))
    assert not pending, f"{block.where()}: the block ends in a continuation"
    return out


def normalize(text, any_numbers=False):
    """Lines with runs of blanks collapsed, blank lines dropped."""
    out = []
    for line in text.split("\n"):
        line = " ".join(line.split())
        if any_numbers:
            line = re.sub(r"(?<![\w.:])\d+(?:\.\d+)?(?![\w.:])", "N", line)
        if line:
            out.append(line)
    return out


def output_matches(sample, actual, part=False, any_numbers=False):
    """None if the sample block agrees with the actual output, else why not."""
    want = normalize(sample, any_numbers)
    got = normalize(actual, any_numbers)
    if not part:
        if want == got:
            return None
        return "expected exactly:\n  " + "\n  ".join(want) + "\ngot:\n  " + "\n  ".join(got)
    it = iter(got)
    for w in want:
        if not any(g == w for g in it):
            return f"line {w!r} not found (in order) in:\n  " + "\n  ".join(got)
    return None


class Names:
    """The placeholder names of a recipe and where its files go."""

    def __init__(self, prefix, names, tmp, rundir, statedir):
        """RUNDIR and STATEDIR stand for /run/vswitchd and /var/lib/vswitchd:
        directories the daemon's user owns, as systemd makes them."""
        self.prefix = prefix
        self.names = [n for n in names if n]
        self.tmp = Path(tmp)
        for n in self.names:
            assert len(prefix + n) < 16, f"{n}: too long for a prefixed interface name"
        self.paths = {"/run/vswitchd/": f"{rundir}/",
                      "/var/lib/vswitchd/": f"{statedir}/",
                      "/tmp/": f"{self.tmp}/",
                      "/etc/": f"{self.tmp}/etc/"}
        (self.tmp / "etc").mkdir(exist_ok=True)

    def name(self, n):
        return self.prefix + n if n in self.names else n

    def _word(self, n):
        return re.compile(rf"(?<![\w./:-]){re.escape(n)}(?![\w/:-])")

    @staticmethod
    def _swap(text, table):
        """TEXT with each key of TABLE replaced by its value, in one pass
        (a value may contain another key: /run/vswitchd/ becomes /tmp/...)."""
        keys = sorted(table, key=len, reverse=True)
        return re.sub("|".join(map(re.escape, keys)), lambda m: table[m.group(0)], text)

    def apply(self, text):
        for n in self.names:
            text = self._word(n).sub(self.prefix + n, text)
        return self._swap(text, self.paths)

    def undo(self, text):
        text = self._swap(text, {v: k for k, v in self.paths.items()})
        for n in self.names:
            text = text.replace(self.prefix + n, n)
        return text
