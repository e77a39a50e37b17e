"""Hostile rules and hostile help text: every case ends, refused in one line or answered.

No test here times the work: a generous subprocess timeout only turns a hang into
a failure. How fast matching is belongs to a benchmark, not to a test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.collect.helptext import MAX_ENTRY
from generator.core.model import HelpEntry
from generator.suggest.engine import EngineError, Pattern, escape
from generator.suggest.rules import load_rules, suggest
from generator.table.loader import load_table
from tests.conftest import ROOT, TABLE, Result

HANG = 120  # seconds: far over what any of these takes, only there to end a hang
LEVELS = ("none", "Sys.Modify", "root")
CORE = "help|?  -- show the help\ninfo  -- show various information\nquit|q  -- quit the emulator\n"


def hmp_perms(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The command line in a process of its own: stderr as the C++ library would see it."""
    return subprocess.run(
        [sys.executable, "-m", "generator", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=HANG,
        check=False,
    )


def snapshot_of(tmp_path: Path, cli: Callable[..., Result], listing: str) -> Path:
    """A snapshot built by `collect --from-text` from a saved help listing."""
    text, snap = tmp_path / "help.txt", tmp_path / "snap.json"
    text.write_text(CORE + listing)
    result = cli("collect", "--from-text", text, "-o", snap)
    assert result.status == 0, result.err
    return snap


def rules_file(tmp_path: Path, *rules: tuple[str, str]) -> Path:
    path = tmp_path / "rules.yaml"
    body = "".join(
        f"  - id: {rule_id}\n    field: help\n    {pattern}\n    level: root\n"
        "    reason: matched ({match})\n"
        for rule_id, pattern in rules
    )
    path.write_text("rules:\n" + body)
    return path


# -- the engine ------------------------------------------------------------------


def test_nested_quantifier_is_answered(tmp_path: Path, cli: Callable[..., Result]) -> None:
    # Python's re backtracks on this for longer than anyone waits; RE2 answers.
    snap = snapshot_of(tmp_path, cli, "evil  -- " + "a" * 40 + "!\n")
    rules = rules_file(tmp_path, ("nested", "regex: '(a+)+$'"))
    run = hmp_perms("suggest", "evil", "--snapshot", snap, "--rules", rules)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "evil\troot\tno rule matched: the default\n"
    assert run.stderr == ""


def test_nested_quantifier_still_matches_what_it_should() -> None:
    assert Pattern("(a+)+$").search("xx" + "a" * 40) == (2, 42)


@pytest.mark.parametrize(
    ("pattern", "hint"),
    [
        (r"(?<!\w)file", "no look-around"),
        (r"(?<=x)file", "no look-around"),
        (r"file(?!\s+descriptor)", "no look-around"),
        (r"file(?=s)", "no look-around"),
        (r"(a)\1", "no back-reference"),
        (r"(?P<n>a)(?P=n)", "no back-reference"),
        (r"(host", "missing )"),
    ],
)
def test_patterns_re2_cannot_take_are_refused_one_line_each(
    tmp_path: Path, pattern: str, hint: str
) -> None:
    rules = rules_file(
        tmp_path, ("good", "words: [host]"), ("bad1", f"regex: '{pattern}'"), ("bad2", "words: [x]")
    )
    text = rules.read_text()
    rules.write_text(
        text.replace(
            "    words: [x]\n", f"    words: [x]\n    unless: {{field: help, regex: '{pattern}'}}\n"
        )
    )
    run = hmp_perms("suggest", "--rules", rules, "cont")
    assert run.returncode == 2
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    # One line per bad rule, each file:line, and nothing of RE2's own logging.
    assert [line.split(": ")[1] for line in lines] == [f"{rules}:9", f"{rules}:15"], run.stderr
    assert all(line.startswith("hmp-perms: ") and "does not compile" in line for line in lines)
    assert all(hint in line for line in lines)
    assert "re2.cc" not in run.stderr and "absl" not in run.stderr


def test_nothing_of_re2_reaches_stderr_in_process(capfd: pytest.CaptureFixture[str]) -> None:
    # The C++ library writes to file descriptor 2, past sys.stderr: capfd sees it.
    for pattern in (r"(?<!x)y", r"(", "a{1001}", r"\Z"):
        with pytest.raises(EngineError):
            Pattern(pattern)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_a_long_pattern_error_stays_one_short_line() -> None:
    with pytest.raises(EngineError) as err:
        Pattern("(" + "x" * 100_000)
    assert "\n" not in str(err.value) and len(str(err.value)) <= 200


def test_words_keep_their_old_boundaries() -> None:
    # The look-arounds words were compiled with before, (?<!\w) and (?!\w), as RE2
    # takes them: a word that starts or ends with a non-word character still matches.
    rules_path = ROOT / "data" / "suggest-rules.yaml"
    rules = load_rules(str(rules_path), LEVELS)
    io = suggest(
        rules, load_table(str(TABLE)), "o", HelpEntry("o", (), "/fmt addr value", "I/O port write")
    )
    assert io.reason.startswith("help speaks of raw I/O port access ('I/O port')")
    pattern = Pattern(r"(?:^|\W)(" + escape("-f") + r")(?:\W|$)", group=1)
    assert pattern.search("use -f to force") == (4, 6)
    assert pattern.search("use x-fy") is None


def test_an_escaped_word_matches_only_itself() -> None:
    for text in ("I/O port", "a.b", "(x)", "[", "\\", "a|b", "é"):
        assert Pattern(escape(text)).search("<" + text + ">") == (1, 1 + len(text))


# -- hostile help text ---------------------------------------------------------------


@pytest.mark.parametrize("size", [20_000, 80_000])
def test_one_long_word_is_refused_at_load(
    tmp_path: Path, cli: Callable[..., Result], size: int
) -> None:
    # The listing is read back from a snapshot written before the bound existed.
    snap = tmp_path / "snap.json"
    record = {
        "format": 2,
        "binary": "qemu-system-x86_64",
        "variant": "qemu-system-x86_64",
        "version": "7.2.0",
        "package": "",
        "target": "x86_64",
        "help": [*CORE.splitlines(), "long  -- " + "a" * size],
        "info": None,
    }
    snap.write_text(json.dumps(record))
    run = hmp_perms("suggest", "long", "--snapshot", snap)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr == (
        f"hmp-perms: {snap}: help:4: entry 'long' is over {MAX_ENTRY} characters long:"
        " no QEMU prints one so long\n"
    )


def test_the_longest_entry_allowed_is_answered(tmp_path: Path, cli: Callable[..., Result]) -> None:
    word = "a" * (MAX_ENTRY - len("long  -- "))
    snap = snapshot_of(tmp_path, cli, f"long  -- {word}\n")
    run = hmp_perms("suggest", "long", "--snapshot", snap)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "long\troot\tno rule matched: the default\n"


def test_committed_rules_on_text_far_over_the_bound_end() -> None:
    # Past the parser (whose bound keeps this out of any real run) the matching
    # itself is linear: a million characters is answered, not hung on.
    script = (
        "from generator.core.model import HelpEntry\n"
        "from generator.suggest.rules import load_rules, suggest\n"
        "from generator.table.loader import load_table\n"
        f"rules = load_rules('data/suggest-rules.yaml', {LEVELS!r})\n"
        "table = load_table('data/hmp-commands.yaml')\n"
        "entry = HelpEntry('long', (), 'a' * 100000, 'a' * 1000000)\n"
        "print(suggest(rules, table, 'long', entry).level)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=HANG
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, "root\n", "")


def test_a_regex_rule_captures_nothing_and_a_words_rule_its_word() -> None:
    """Capturing groups made each search run RE2's NFA over the match: 40 rules like
    '(.)*.{1000}' took 7 s on one 4 KiB entry. Only the group a matcher reports captures."""
    assert Pattern(r"(.)*(.{10})").groups == 0
    assert Pattern(r"(.)*(.{10})").search("x" * 40) is not None
    assert Pattern(r"(?:^|\W)(file)(?:\W|$)", group=1).groups == 1


def test_each_rule_is_searched_once_per_suggestion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n"
        + "".join(
            f"  - {{id: r{i}, field: help, regex: 'a+|q{i}', level: root, reason: x}}\n"
            for i in range(5)
        )
    )
    rules = load_rules(str(path), LEVELS)
    searched: list[str] = []
    for rule in rules:
        real = rule.matcher.pattern.search
        monkeypatch.setattr(
            rule.matcher.pattern, "search", lambda t, real=real: searched.append(t) or real(t)
        )
    entry = HelpEntry("aaa", (), "", "aaa")
    assert suggest(rules, load_table(str(TABLE)), "aaa", entry).level == "root"
    assert len(searched) == 5
