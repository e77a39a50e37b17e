"""The command line: parse the arguments, call one use case, print, pick the exit status.

Entry point: `main`; the console script is `console.run`. The only module
that prints, apart from the writer's warning about a broken hard link. Exit
status: 0 success, 1 the check found what it looks for (drift, stale files,
lint problems), 2 the tool could not do its job (bad input, QEMU failed, or a
bug: ``internal error``, with a traceback only under ``HMP_PERMS_DEBUG=1``),
128+signal when signalled (130 on Ctrl-C; see `console`), 141 when the reader
of standard output went away.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from generator import __version__
from generator.app import settings
from generator.app.settings import Settings, Sources, settings_for
from generator.check.kinds import Policy
from generator.check.report import DIFF_FORMATS, FORMATS
from generator.errors import HmpPermsError


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
# A table, one line an option: flags and how argparse reads it. Commands pick theirs by key.
# fmt: off
_OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
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
    "--qemu-version": (("--qemu-version",), dict(metavar="X.Y.Z", help="with --from-text: the QEMU version")),
    "--target": (("--target",), dict(help="with --from-text: the target (default x86_64)")),
    "--package": (("--package",), dict(help="with --from-text: query-version's package string")),
    "--variant": (("--variant",), dict(metavar="NAME", help="with --from-text: the binary (default qemu-system-TARGET)")),
    "--format": (("--format",), dict(default="text")),
    "--strict": (("--strict",), dict(action="store_true", help="warnings fail the check too")),
    "--write": (("--write",), dict(action="store_true", help="record the builds and add stubs to the table (default: a dry run)")),
    "--evaluate": (("--evaluate",), dict(action="store_true", help="suggest for every table entry, compare with its decision")),
    "--check": (("--check",), dict(action="store_true", help="only compare; print a diff and exit 1 if stale")),
    "names": (("names",), dict(nargs="*", metavar="NAME", help="a command, or 'info NAME'")),
    "old": (("old",), dict(metavar="A.json")),
    "new": (("new",), dict(metavar="B.json")),
    "file": (("file",), dict(metavar="FILE.pm")),
    "--config": (("--config",), dict(type=_path, metavar="FILE", help="the config file (default: hmp-perms.toml here or in the nearest parent)")),
    "--from-perl": (("--from-perl",), dict(type=_path, metavar="FILE.pm", help="start from the table in this Perl module instead of the curated one")),
}
_LIVE = ("--qemu", "--connect", "--all-local", "--timeout")
_TEXT = ("--from-text", "--info-text", "--qemu-version", "--target", "--package", "--variant")
#: Every command: what it does and its options.
_COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "collect": ("read the HMP command lists of QEMU binaries", (*_LIVE, "-o", "--names", *_TEXT)),
    "lint": ("validate the table; print every problem", ("--table",)),
    "check": ("compare QEMU builds with the table and their baselines", (*_LIVE, "--snapshot", "--table", "--builds", "--rules", "--format", "--strict", "-o")),
    "sync": ("accept an upgrade: record the builds, stub what they add", (*_LIVE, "--snapshot", "--table", "--builds", "--write")),
    "suggest": ("propose levels from QEMU's text, or measure the rules", ("names", "--evaluate", "--snapshot", "--table", "--builds", "--rules")),
    "diff": ("what changed between two snapshots", ("old", "new", "--format")),
    "generate": ("render the templates into the output folder", ("--check", "--table", "--builds", "--templates", "--out")),
    "import-perl": ("turn a Perl permission hash into a table", ("file", "-o")),
    "kinds": ("list the kinds of finding a check reports", ("--format",)),
    "init": ("start here: write hmp-perms.toml, a table, the rules and a records folder", ("--from-perl",)),
}
# fmt: on
#: `--format`'s choices per command.
_FORMATS = {"check": FORMATS, "diff": DIFF_FORMATS, "kinds": ("text", "json", "markdown")}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hmp-perms", description="Keep a QEMU human-monitor (HMP) permission table honest."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command, (what, options) in _COMMANDS.items():
        p = sub.add_parser(command, help=what, description=what)
        for option in (*options, "--config") if command != "init" else options:
            flags, spec = _OPTIONS[option]
            if option == "--format":
                choices = _FORMATS[command]
                spec = dict(spec, choices=choices, help=f"one of {', '.join(choices)}")
            p.add_argument(*flags, **spec)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    paths = {k: getattr(args, k, None) for k in ("table", "builds", "rules", "templates", "out")}
    return settings_for(args.config, paths)


def _policy(settings: Settings, strict: bool = False) -> Policy:
    return Policy.of(settings.severity, settings.ignore, strict, settings.config or "")


def _sources(args: argparse.Namespace) -> Sources:
    return Sources(
        args.qemu, args.connect, getattr(args, "snapshot", ()), args.all_local, args.timeout
    )


def _failures(errors: Sequence[HmpPermsError]) -> int:
    for error in errors:
        _error(str(error))
    return 2 if errors else 0


def cmd_collect(args: argparse.Namespace) -> int:
    from generator.app import collecting

    saved = {o: getattr(args, o) for o in collecting.TEXT_OPTIONS}
    result = collecting.collect(_sources(args), args.from_text, saved)
    if args.output:
        collecting.save_snapshot(result, args.output)
        return 0
    for line in collecting.listing(result.snapshots, args.names):
        print(line)
    return _failures(result.errors)


def cmd_lint(args: argparse.Namespace) -> int:
    from generator.table.loader import lint_table

    path = _settings(args).table
    problems = lint_table(path)
    for problem in problems:
        print(problem)
    if problems:
        _error(f"{path}: {len(problems)} problem(s)")
        return 1
    print(f"{path}: ok")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from generator.app.checking import check_builds
    from generator.check.report import format_report
    from generator.files import write_atomic

    settings = _settings(args)
    run = check_builds(_sources(args), settings, _policy(settings, args.strict))
    colour = args.format == "text" and not args.output and use_colour(sys.stdout.isatty())
    text = format_report(run.report, args.format, colour)
    if args.output:
        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return _failures(run.errors) or run.exit_status


def use_colour(isatty: bool) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    return isatty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def cmd_diff(args: argparse.Namespace) -> int:
    from generator.app.checking import diff_files
    from generator.check.report import format_diff

    sys.stdout.write(format_diff(*diff_files(args.old, args.new), args.format))
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from generator.app.collecting import gather_all
    from generator.app.sync import MARKS, sync_table

    paths = _settings(args)
    result = sync_table(paths.table, gather_all(_sources(args)), paths.builds, write=args.write)
    for line in result.changes:
        print(line)
    if result.changes:
        print(MARKS)
    if not args.write:
        print("(dry run: add --write to record the builds and add the stubs)")
        return 0
    for path, changed in result.records:
        print(f"{path}: {'recorded' if changed else 'unchanged'}")
    done = "stubs added; choose a level and write a rationale for each"
    print(f"{paths.table}: {done if result.written else 'unchanged'}")
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    from generator.app.suggesting import evaluate_rules, suggest_for
    from generator.suggest.evaluate import format_evaluation

    if args.evaluate == bool(args.names):
        raise HmpPermsError("suggest: give command names or --evaluate (one of the two)")
    paths = _settings(args)
    if args.evaluate:
        ev, rules_path = evaluate_rules(paths, args.snapshot)
        sys.stdout.write(format_evaluation(ev, paths.table, rules_path))
        return 0 if ev.passed else 1
    for row in suggest_for(args.names, paths, args.snapshot):
        print("\t".join(row))
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from generator.app.generating import generate

    paths = _settings(args)
    result = generate(paths, args.check)
    sys.stdout.write("".join(result.diffs))
    if result.diffs:
        _error(f"{paths.out}/ is stale; run: hmp-perms generate")
        return 1
    for name in result.written:
        print(f"wrote {name}")
    return 0


def cmd_import_perl(args: argparse.Namespace) -> int:
    from generator.app.importing import import_perl_table

    text, notes = import_perl_table(args.file, args.output)
    for note in notes:
        _error(note)
    if not args.output:
        sys.stdout.write(text)
    return 0


def cmd_kinds(args: argparse.Namespace) -> int:
    from generator.check.kinds import format_kinds

    sys.stdout.write(format_kinds(args.format, _policy(_settings(args))))
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from generator.app.init import init

    for name in init(Path.cwd(), args.from_perl):
        print(f"wrote {name}")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "collect": cmd_collect,
    "lint": cmd_lint,
    "check": cmd_check,
    "diff": cmd_diff,
    "sync": cmd_sync,
    "suggest": cmd_suggest,
    "generate": cmd_generate,
    "import-perl": cmd_import_perl,
    "kinds": cmd_kinds,
    "init": cmd_init,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status. One line per error, never a traceback."""
    _tolerant_output()
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except HmpPermsError as exc:
        _error(str(exc))
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP under the console script
        from generator.console import interrupted

        return interrupted(exc)
    except BrokenPipeError:
        _silence_stdout()
        return 128 + 13  # as if SIGPIPE had ended it, as it ends `cat`
    except (Exception, RecursionError) as exc:
        if os.environ.get("HMP_PERMS_DEBUG", "") not in ("", "0"):
            import traceback

            traceback.print_exc()
        detail = " ".join(str(exc).split())[:300]
        _error(
            f"internal error: {type(exc).__name__}{': ' + detail if detail else ''}"
            " (a bug: rerun with HMP_PERMS_DEBUG=1 for a traceback and report it)"
        )
        return 2


def _error(text: str) -> None:
    with contextlib.suppress(OSError, ValueError):  # stderr gone: the status still tells
        print(f"hmp-perms: {text}".replace("\n", "\nhmp-perms: "), file=sys.stderr)


def _tolerant_output() -> None:
    """Text the terminal's encoding cannot show is escaped (``\\xe9``), not a crash."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(OSError, ValueError):
                reconfigure(errors="backslashreplace")


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
