"""`generator.core.text.comment`: rationales as comment lines of the generated modules."""

from __future__ import annotations

import itertools

from generator.core.text import comment
from generator.table.loader import load_table
from tests.conftest import ROOT


def test_comment_lines_fill_the_width_and_no_more() -> None:
    words = " ".join(f"w{n:02}" for n in range(40))  # 40 words of 3 characters
    lines = comment(words, "    # ", 40).split("\n")
    assert all(line.startswith("    # ") for line in lines)
    assert all(len(line) <= 40 for line in lines)
    # Each line took as many words as fit: one more would have gone over.
    for line, after in itertools.pairwise(lines):
        assert len(line) + 1 + len(after.removeprefix("    # ").split(" ")[0]) > 40
    assert " ".join(line.removeprefix("    # ") for line in lines) == words


def test_a_word_longer_than_a_line_stands_alone_and_whole() -> None:
    url = "https://www.qemu.org/docs/master/system/monitor.html#" + "x" * 60
    assert comment(f"see {url} for more", "# ", 40).split("\n") == [
        "# see",
        f"# {url}",
        "# for more",
    ]


def test_nothing_ends_the_comment() -> None:
    assert comment("one\nimport os\r\n\x1b[2Jtwo", "# ", 79) == "# one import os [2Jtwo"
    assert comment("", "    # ") == "    #"


def test_every_rationale_of_the_table_wraps_within_the_line() -> None:
    table = load_table(str(ROOT / "data" / "hmp-commands.yaml"))
    for entry in [*table.commands.values(), *table.info.values()]:
        text = comment(entry.rationale, "    # ")
        assert all(len(line) <= 79 for line in text.split("\n")), entry.name
