"""The help-text parser, on help and info text recorded from real QEMU 7.2 builds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.collect.helptext import MAX_ENTRY, parse_help
from generator.collect.snapshot import load_snapshot
from generator.core.errors import HmpPermsError
from generator.core.model import HelpEntry
from tests.conftest import BUILDS, FIXTURES, format_help


def recorded(target: str, kind: str) -> str:
    return (FIXTURES / f"qemu-7.2-{target}.{kind}.txt").read_text()


def by_name(entries: tuple[HelpEntry, ...]) -> dict[str, HelpEntry]:
    return {e.name: e for e in entries}


def test_recorded_x86_help_parses_every_entry() -> None:
    text = recorded("x86_64", "help")
    entries = parse_help(text)
    # Every line that does not continue the one before starts an entry.
    starts = [line for line in text.splitlines() if line and not line.startswith(("\t", "["))]
    assert len(entries) == len(starts) == 108
    got = by_name(entries)
    assert got["cont"].aliases == ("c",)
    assert got["cont"].params == ""
    assert got["help"].aliases == ("?",)
    assert [e.name for e in entries] == sorted(got)


def test_params_continued_at_column_zero() -> None:
    drive_add = by_name(parse_help(recorded("x86_64", "help")))["drive_add"]
    assert drive_add.params.splitlines()[0] == "[-n] [[<domain>:]<bus>:]<slot>"
    assert len(drive_add.params.splitlines()) == 5
    assert drive_add.help == "add drive to PCI storage controller"


def test_help_continued_on_tab_lines() -> None:
    job = by_name(parse_help(recorded("x86_64", "help")))["block_job_cancel"]
    assert job.help.count("\n\t\t\t") == 2
    assert " ".join(job.help.split()).endswith("until data is in sync)")


def test_repeated_name_in_params_is_dropped() -> None:
    got = by_name(parse_help(recorded("x86_64", "help")))
    assert got["nbd_server_add"].params == "[-w] device [name]"
    assert got["nbd_server_stop"].params == ""


def test_crlf_line_ends_as_over_qmp() -> None:
    text = recorded("aarch64", "help")
    assert parse_help(text.replace("\n", "\r\n")) == parse_help(text)


def test_info_listing_with_prefix() -> None:
    entries = by_name(parse_help(recorded("x86_64", "info"), prefix="info "))
    assert "lapic" in entries and "usbhost" in entries
    assert entries["block"].params == "[-n] [-v] [device]"
    arm = by_name(parse_help(recorded("aarch64", "info"), prefix="info "))
    assert "lapic" not in arm


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("\tstray continuation\n", 1, "does not continue any help text"),
        ("cont|c  -- resume\n[stray params\n", 2, "does not continue any params"),
        ("cont|c  -- resume\n\n\nstop  -- stop\n", 3, "blank line inside the listing"),
        ("\ncont|c  -- resume\n", 1, "blank line inside the listing"),
        ("drive_add [-n]\n[file=x]\n", 1, "has no ' -- '"),
        ("st\u00f6p  -- stop\n", 1, "not a command name"),
        ("a b;c -- x\nfoo$ -- y\n", 2, "not a command name"),
        ("cont|c  -- resume\nc  -- again\n", 2, "listed twice"),
        (" cont  -- resume\n", 1, "starts with a space"),
    ],
)
def test_unplaceable_lines_are_errors_with_line_numbers(text: str, line: int, message: str) -> None:
    with pytest.raises(HmpPermsError) as err:
        parse_help(text, "help.txt")
    assert err.value.where is not None
    assert (err.value.where.file, err.value.where.line) == ("help.txt", line)
    assert message in str(err.value)


def test_info_line_without_prefix_is_an_error() -> None:
    with pytest.raises(HmpPermsError, match=r"info.txt:2: line does not start with 'info '"):
        parse_help("info a  -- x\nb  -- y\n", "info.txt", prefix="info ")


def test_every_recorded_entry_is_far_under_the_bound() -> None:
    longest = 0
    for path in sorted(BUILDS.glob("*.json")):
        snap = load_snapshot(str(path))
        for entry in (*snap.commands, *snap.info):
            printed = format_help([entry], "info " if entry in snap.info else "")
            longest = max(longest, len(printed.rstrip("\n")))
    # dump-guest-memory of 10.0, twelve lines of help: the bound leaves over 5x room.
    assert 700 < longest < MAX_ENTRY // 5


@pytest.mark.parametrize(
    "listing",
    [
        "big  -- " + "a" * MAX_ENTRY + "\n",  # one long word
        "big  -- x\n" + "\t\t\tmore help\n" * (MAX_ENTRY // 10),  # many short lines
        "big [a]\n" + "[b]\n" * (MAX_ENTRY // 3) + " -- x\n",  # params over many lines
        "b" * (MAX_ENTRY + 1) + "  -- x\n",  # a long name
    ],
)
def test_an_entry_over_the_bound_is_refused_at_its_first_line(listing: str) -> None:
    text = "cont|c  -- resume emulation\n" + listing + "stop  -- stop emulation\n"
    with pytest.raises(HmpPermsError) as err:
        parse_help(text, "help.txt")
    assert err.value.where is not None
    assert (err.value.where.file, err.value.where.line) == ("help.txt", 2)
    assert f"is over {MAX_ENTRY} characters long" in str(err.value)
    assert len(str(err.value)) < 200


def test_an_entry_at_the_bound_is_read() -> None:
    entry = "big  -- " + "a" * (MAX_ENTRY - len("big  -- "))
    assert len(entry) == MAX_ENTRY
    (got,) = parse_help(entry + "\n")
    assert got.help == entry.removeprefix("big  -- ")
    info = "info " + entry + "\n"  # the prefix is not counted
    assert parse_help(info, prefix="info ")[0].name == "big"


NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-?", min_size=1, max_size=12)
WORD = st.text("abcdefghijklmnopqrstuvwxyz0123456789[]<>=,.:|/$_", min_size=1, max_size=8)
PHRASE = st.lists(WORD, min_size=1, max_size=5).map(" ".join)


@st.composite
def entries(draw: st.DrawFn) -> list[HelpEntry]:
    names = draw(st.lists(NAME, min_size=1, max_size=20, unique=True))
    out = []
    taken = set(names)
    for name in names:
        aliases = [a for a in draw(st.lists(NAME, max_size=2, unique=True)) if a not in taken]
        taken.update(aliases)
        params = draw(st.one_of(st.just(""), PHRASE))
        if params.split(" ")[0] == name:
            params = "x" + params  # QEMU's repeated name is dropped on parse
        if draw(st.booleans()) and params:
            params += "\n[" + draw(PHRASE)
        help_text = draw(PHRASE)
        for more in draw(st.lists(PHRASE, max_size=2)):
            help_text += "\n\t\t\t" + more
        out.append(HelpEntry(name, tuple(aliases), params, help_text))
    return out


@given(entries(), st.sampled_from(["", "info "]))
def test_format_then_parse_gives_the_same_entries(items: list[HelpEntry], prefix: str) -> None:
    parsed = parse_help(format_help(items, prefix), prefix=prefix)
    strip = [HelpEntry(e.name, e.aliases, e.params, e.help) for e in parsed]
    assert strip == sorted(items, key=lambda e: e.name)
