"""Command line: every option and command as data, from which `main.build_parser` makes
the parser."""

from __future__ import annotations

import argparse
from typing import Any

from generator.app import settings
from generator.check import DIFF_FORMATS
from generator.check import FORMATS as REPORT_FORMATS


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _path(text: str) -> str:
    """`-o "$UNSET"` must not mean stdout, nor `--builds ''` no records at all."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path")
    return text


_S = settings
# One line an option: flags and how argparse reads it. Commands pick theirs by key.
# fmt: off
OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "--qemu": (("--qemu",), dict(action="append", default=[], metavar="CMD", help="QEMU to start: a binary or a command line, split as a shell would (`chroot ROOT qemu-system-x86_64`); repeatable, run concurrently; default $HMP_PERMS_QEMU or qemu-system-x86_64")),
    "--connect": (("--connect",), dict(action="append", default=[], metavar="ADDRESS", help="a running QEMU's QMP socket: a UNIX socket path or HOST:PORT (repeatable; read only)")),
    "--all-local": (("--all-local",), dict(action="store_true", help="every qemu-system-* on PATH too")),
    "--timeout": (("--timeout",), dict(type=_seconds, default=_S.DEFAULT_TIMEOUT, metavar="S", help=f"seconds each QEMU gets to answer (default {_S.DEFAULT_TIMEOUT:g})")),
    "--snapshot": (("--snapshot",), dict(action="append", default=[], type=_path, metavar="FILE", help="a snapshot from `collect -o` (repeatable)")),
    "--table": (("--table",), dict(type=_path, metavar="FILE", help=f"the permission table (default {_S.DEFAULT_TABLE})")),
    "--builds": (("--builds",), dict(type=_path, metavar="DIR", help=f"the recorded builds (default {_S.DEFAULT_BUILDS})")),
    "--rules": (("--rules",), dict(type=_path, metavar="FILE", help="the suggestion rules (default suggest-rules.yaml beside the table)")),
    "--templates": (("--templates",), dict(type=_path, metavar="DIR", help=f"the templates (default {_S.DEFAULT_TEMPLATES})")),
    "--out": (("--out",), dict(type=_path, metavar="DIR", help=f"the output folder (default {_S.DEFAULT_OUT})")),
    "-o": (("-o", "--output"), dict(type=_path, metavar="FILE", help="write here (whole, or not at all) instead of to stdout")),
    "--names": (("--names",), dict(action="store_true", help="print only names, one a line")),
    "--from-text": (("--from-text",), dict(type=_path, metavar="HELP.txt", help="read saved `help` output instead of a live QEMU")),
    "--info-text": (("--info-text",), dict(type=_path, metavar="INFO.txt", help="with --from-text: saved `info` output")),
    "--from-source": (("--from-source",), dict(type=_path, metavar="DIR", help="read a QEMU source tree's hmp-commands*.hx and VERSION instead of a live QEMU")),
    "--define": (("--define",), dict(action="append", metavar="CONFIG_X=y|n", help="with --from-source: set a CONFIG_ value (repeatable)")),
    "--qemu-version": (("--qemu-version",), dict(metavar="X.Y.Z", help="with --from-text or --from-source: the QEMU version")),
    "--target": (("--target",), dict(help="with --from-text or --from-source: the target (default x86_64)")),
    "--package": (("--package",), dict(help="with --from-text or --from-source: query-version's package string")),
    "--variant": (("--variant",), dict(metavar="NAME", help="with --from-text: the binary (default qemu-system-TARGET)")),
    "--format": (("--format",), dict(default="text")),
    "--strict": (("--strict",), dict(action="store_true", help="warnings fail the check too")),
    "--write": (("--write",), dict(action="store_true", help="record the builds and add stubs to the table (default: a dry run)")),
    "--check": (("--check",), dict(action="store_true", help="only compare; print a diff and exit 1 if stale")),
    "names": (("names",), dict(nargs="*", metavar="NAME", help="a command, or 'info NAME'")),
    "old": (("old",), dict(metavar="A.json")),
    "new": (("new",), dict(metavar="B.json")),
    "file": (("file",), dict(metavar="FILE.pm")),
    "--config": (("--config",), dict(type=_path, metavar="FILE", help="the config file (default: hmp-perms.toml here or in the nearest parent)")),
    "--vendor": (("--vendor",), dict(metavar="NAME", help="mark the names no recorded build has as this vendor's, and declare it")),
    "--from-perl": (("--from-perl",), dict(type=_path, metavar="FILE.pm", help="start from the table in this Perl module instead of the curated one")),
}
_LIVE = ("--qemu", "--connect", "--all-local", "--timeout")
_TEXT = ("--from-text", "--info-text", "--qemu-version", "--target", "--package", "--variant")
#: Every command: what it does and its options.
COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "collect": ("read the HMP command lists of QEMU binaries", (*_LIVE, "-o", "--names", *_TEXT, "--from-source", "--define")),
    "lint": ("validate the table; print every problem", ("--table",)),
    "check": ("compare QEMU builds with the table and their baselines", (*_LIVE, "--snapshot", "--table", "--builds", "--rules", "--format", "--strict", "-o")),
    "sync": ("accept an upgrade: record the builds, stub what they add", (*_LIVE, "--snapshot", "--table", "--builds", "--rules", "--write")),
    "suggest": ("propose levels from QEMU's text", ("names", "--snapshot", "--table", "--builds", "--rules")),
    "diff": ("what changed between two snapshots", ("old", "new", "--format")),
    "generate": ("render the templates into the output folder", ("--check", "--table", "--builds", "--templates", "--out")),
    "import-perl": ("turn a Perl permission hash into a table", ("file", "-o", "--vendor")),
    "kinds": ("list the kinds of finding a check reports", ("--format",)),
    "init": ("start here: write hmp-perms.toml, a table, the rules and a records folder", ("--from-perl", "--vendor")),
}
# fmt: on
#: `--format`'s choices per command.
FORMATS = {"check": REPORT_FORMATS, "diff": DIFF_FORMATS, "kinds": ("text", "json", "markdown")}
