"""Command line: parse the arguments, call one use case, print, pick the exit status (1 for
drift, stale files or lint problems; the rest is `exits`'). Each command imports its use
case when it runs: importing them all costs about 90 ms (asyncio, qemu.qmp, re2)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from generator import __version__
from generator.app.settings import Settings, Sources, settings_for
from generator.check.kinds import Policy, format_kinds
from generator.cli.exits import error, guarded
from generator.cli.options import COMMANDS as COMMAND_OPTIONS
from generator.cli.options import FORMATS, OPTIONS
from generator.core.errors import HmpPermsError
from generator.core.files import refuse_inputs, write_atomic
from generator.core.text import terminal


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """A usage error, escaped as every error line is (an argument may hold an escape)."""
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {terminal(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hmp-perms", description="Keep a QEMU human-monitor (HMP) permission table honest."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command, (what, options) in COMMAND_OPTIONS.items():
        p = sub.add_parser(command, help=what, description=what)
        reads_config = command not in ("init", "import-perl", "diff")
        for option in (*options, "--config") if reads_config else options:
            flags, spec = OPTIONS[option]
            if option == "--format":
                choices = FORMATS[command]
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


def use_colour(isatty: bool, environ: Mapping[str, str]) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    return isatty and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


def _failures(problems: Sequence[HmpPermsError]) -> int:
    for problem in problems:
        error(str(problem))
    return 2 if problems else 0


def cmd_collect(args: argparse.Namespace) -> int:
    from generator.app import collecting

    saved = {o: getattr(args, o) for o in collecting.TEXT_OPTIONS}
    result = collecting.collect(_sources(args), args.from_text, saved, _settings(args).builds)
    if args.output:
        collecting.save_snapshot(result, args.output)
        return 0
    for line in collecting.listing(result.snapshots, args.names):
        print(line)
    return _failures(result.errors)


def cmd_lint(args: argparse.Namespace) -> int:
    from generator.table.loader import lint_table, load_table

    settings = _settings(args)
    path = settings.table
    problems = lint_table(path)
    for problem in problems:
        print(terminal(str(problem)))
    if problems:
        error(f"{path}: {len(problems)} problem(s)")
        return 1
    if settings.scope is not None:
        settings.scope.verify(load_table(path).vendors, settings.builds)
    print(f"{path}: ok")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from generator.app.checking import check_builds
    from generator.check.report import format_report

    settings = _settings(args)
    report, errors = check_builds(_sources(args), settings, _policy(settings, args.strict))
    colour = (
        args.format == "text" and not args.output and use_colour(sys.stdout.isatty(), os.environ)
    )
    text = format_report(report, args.format, colour)
    if args.output:
        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return _failures(errors) or report.exit_status


def cmd_diff(args: argparse.Namespace) -> int:
    from generator.check.diff import diff_snapshots
    from generator.check.report import format_diff
    from generator.collect.snapshot import load_snapshot

    old, new = load_snapshot(args.old), load_snapshot(args.new)
    sys.stdout.write(format_diff(diff_snapshots(old, new), old.label, new.label, args.format))
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from generator.app.collecting import gather_all
    from generator.app.sync import sync_table

    paths = _settings(args)
    snapshots = gather_all(_sources(args), paths.builds)
    print("\n".join(map(terminal, sync_table(paths, snapshots, write=args.write))))
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    from generator.app.suggesting import suggest_for

    if not args.names:  # not nargs="+": argparse names an unknown option before this
        raise HmpPermsError("suggest: give one or more command names")
    for row in suggest_for(args.names, _settings(args), args.snapshot):
        print("\t".join(row))
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from generator.app.generating import generate

    paths = _settings(args)
    result = generate(paths, args.check)
    if result.left_out:
        error(
            f"the scope leaves out {', '.join(result.left_out)}: recorded builds newer than"
            " every build in it have them (widen [scope] patterns to take them in)"
        )
    sys.stdout.write("".join(result.diffs.values()))
    if result.diffs:
        error(f"stale: {', '.join(result.diffs)}; run: hmp-perms generate")
        return 1
    for name in result.written:
        print(f"wrote {name}")
    return 0


def cmd_import_perl(args: argparse.Namespace) -> int:
    from generator.app.importing import import_perl_table

    text, notes = import_perl_table(args.file, args.output, args.vendor)
    for note in notes:
        error(note)
    if not args.output:
        sys.stdout.write(text)
    return 0


def cmd_kinds(args: argparse.Namespace) -> int:
    sys.stdout.write(format_kinds(args.format, _policy(_settings(args))))
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from generator.app.init import init

    for name in init(Path.cwd(), args.from_perl, args.vendor):
        print(f"wrote {name}")
    return 0


#: Each command's function, `cmd_NAME`.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    name: globals()["cmd_" + name.replace("-", "_")] for name in COMMAND_OPTIONS
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status (one line per error, never a traceback)."""

    def command() -> int:
        args = build_parser().parse_args(argv)
        output = getattr(args, "output", None)
        if output not in (None, "-"):  # never a file the same run reads, however it was named
            inputs = [getattr(args, n, None) for n in ("file", "from_text", "info_text")]
            inputs += getattr(args, "snapshot", [])
            if args.command in ("check", "collect"):  # and the table, rules and config
                settings = _settings(args)
                inputs += [settings.table, settings.rules_path, settings.config]
            refuse_inputs([output], {path: "" for path in inputs if path})
        return COMMANDS[args.command](args)

    return guarded(command)
