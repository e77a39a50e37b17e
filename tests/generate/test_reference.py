"""The Markdown reference: its filters on hostile text, read back with a Markdown parser."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from generator.core.text import html_comment, md_cell, md_code, one_line
from generator.table.loader import load_table
from tests.conftest import GENERATED, TABLE, Result
from tests.generate.test_render import HOSTILE, hostile_table

# GitHub's flavour as far as it matters here: tables and strikethrough.
MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])

NASTY = [
    *HOSTILE,
    "a | b || c",
    "\\| already escaped \\",
    "<script>alert(1)</script>",
    "<!-- comment --> <b>bold</b> <img src=x onerror=alert(1)>",
    "&lt;b&gt; &amp; &#x3C; &copy;",
    "**bold** __bold__ *em* _em_ snake_case _lead trail_",
    "[link](javascript:alert(1)) ![img](http://x/y.png) [ref][1]",
    "`code` ``two`` ```",
    "~~struck~~ ~one~",
    "line\n| --- | --- |\n| cell | cell |",
    "<http://example.com> <a@b.c>",
    "trailing two spaces  \nhard break\\\nsoft",
    "# heading\n> quote\n- item\n1. item",
    "\x00nul \x1b[31mescape\x7f",
]


def cells(text: str) -> list[list[Token]]:
    """The inline token of every body cell, row by row; fails unless `text` is tables only."""
    rows: list[list[Token]] = []
    tokens = MD.parse(text)
    in_body = False
    if tokens and tokens[0].type == "html_block":  # the header, and nothing else
        assert tokens[0].content.startswith("<!--\n") and tokens[0].content.count("-->") == 1
        tokens = tokens[1:]
    for token in tokens:
        assert all("html" not in c.type for c in token.children or []), token
        if token.type == "tbody_open":
            in_body = True
        elif token.type == "tbody_close":
            in_body = False
        elif token.type == "tr_open" and in_body:
            rows.append([])
        elif token.type == "inline" and in_body:
            rows[-1].append(token)
        assert "html" not in token.type, token
    return rows


def plain(inline: Token) -> str:
    """The text of a cell that holds only text; fails on any markup in it."""
    children = inline.children or []
    assert all(c.type == "text" for c in children), [c.type for c in children]
    return "".join(c.content for c in children)


def one_cell(text: str) -> Token:
    rows = cells(f"| head |\n|---|\n| {text} |\n")
    assert len(rows) == 1 and len(rows[0]) == 1, rows
    return rows[0][0]


@pytest.mark.parametrize("text", NASTY)
def test_md_cell_is_the_text_and_nothing_else(text: str) -> None:
    assert plain(one_cell(md_cell(text))) == one_line(text.replace("\x00", " "))


@pytest.mark.parametrize("text", NASTY)
def test_md_code_cell_is_one_code_span(text: str) -> None:
    children = one_cell(md_code(text)).children or []
    assert [c.type for c in children] == ["code_inline"]
    assert children[0].content == one_line(text).strip()


@given(st.text(alphabet=st.sampled_from("ab_ *`[]()|\\<>&!~#-:\n\t\u00e9"), max_size=30))
def test_md_any_text_stays_text(text: str) -> None:
    assert plain(one_cell(md_cell(text))) == one_line(text)


def test_md_keeps_snake_case_readable() -> None:
    assert md_cell("device_add and nbd_server_start's level") == (
        "device_add and nbd_server_start's level"
    )


@pytest.mark.parametrize("text", ["a-->b", "--!>", "---", "<!-- x -->"])
def test_html_comment_cannot_be_ended(text: str) -> None:
    tokens = MD.parse(f"<!--\n{html_comment(text)}\n-->\n\nafter\n")
    assert [t.type for t in tokens][:1] == ["html_block"]
    assert tokens[0].content.count("-->") == 1 and tokens[0].content.endswith("-->\n")


def test_hostile_table_reference(tmp_path: Path, cli: Callable[..., Result]) -> None:
    table = hostile_table(tmp_path)
    out = tmp_path / "out"
    builds = table.parent / "builds"
    assert cli("generate", "--table", table, "--builds", builds, "--out", out).status == 0
    loaded = load_table(str(table))
    rows = cells((out / "hmp-commands.md").read_text())[len(loaded.levels) :]
    by_name = {_code(r[0]): r for r in rows}
    assert len(by_name) == len(loaded.commands) + len(loaded.info)
    for entry in loaded.commands.values():
        row = by_name[entry.name]
        assert len(row) == 6
        assert prose(row[3]) == one_line(entry.rationale)
        assert plain(row[5]) in ("upstream 10.2: all 1", "no recorded build")


def prose(inline: Token) -> str:
    """The text of a cell that holds text and code spans only, each span in backticks."""
    children = inline.children or []
    assert all(c.type in ("text", "code_inline") for c in children), [c.type for c in children]
    return "".join(f"`{c.content}`" if c.type == "code_inline" else c.content for c in children)


def _code(inline: Token) -> str:
    children = inline.children or []
    assert [c.type for c in children] == ["code_inline"], children
    return children[0].content


def test_reference_says_what_the_table_says() -> None:
    """Every command and info subcommand once, at its level, most privileged section first."""
    table = load_table(str(TABLE))
    text = (GENERATED / "hmp-commands.md").read_text()
    tokens = MD.parse(text)
    headings = [
        tokens[i + 1].content
        for i, t in enumerate(tokens)
        if t.type == "heading_open" and t.tag == "h2"
    ]
    info_level = table.level_of(table.commands["info"])
    assert headings == [
        "Index",
        *reversed(table.levels),
        f"Info subcommands at the level of `info` (`{info_level}`)",
    ]
    rows = cells(text)
    summary, rest = rows[: len(table.levels)], rows[len(table.levels) :]
    entries = [r for r in rest if len(r) == 6]  # a level of their own
    inheriting = [r for r in rest if len(r) == 3]  # one compact table, at the end
    assert len(entries) + len(inheriting) == len(rest)
    assert [_code(r[0]) for r in summary] == list(reversed(table.levels))
    expected = {name: table.level_of(e) for name, e in table.commands.items()}
    expected |= {f"info {n}": e.permission for n, e in table.info.items() if e.permission}
    seen = {_code(r[0]): _code(r[1]) for r in entries}
    assert seen == expected
    assert len(entries) == len(expected)
    assert [_code(r[0]) for r in inheriting] == [
        f"info {n}" for n in sorted(table.info) if table.info[n].permission is None
    ]
    for row in entries:
        name = _code(row[0])
        entry = table.info[name[5:]] if name.startswith("info ") else table.commands[name]
        aliases = [c.content for c in row[2].children or [] if c.type == "code_inline"]
        assert aliases == list(entry.aliases)
        assert prose(row[3]) == " ".join(entry.rationale.split())
        assert ("deprecated since" in row[4].content) == (entry.deprecated is not None)
    levels = [_code(r[1]) for r in entries]
    order = list(reversed(table.levels))
    assert levels == sorted(levels, key=order.index)
