"""The command line: parse arguments, call the stages, print, pick the exit status.

Entry point: `main`. The only module that prints. Exit status: 0 success,
1 the check found what it looks for (drift, stale files, lint problems),
2 the tool could not do its job (bad input, QEMU failed), 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn, TypeVar

from generator import __version__
from generator.errors import HmpPermsError

if TYPE_CHECKING:
    from generator.model import Snapshot, Table

T = TypeVar("T")

DEFAULT_TABLE = "data/hmp-commands.yaml"
DEFAULT_TEMPLATES = "templates"
DEFAULT_OUT = "generated"
DEFAULT_TIMEOUT = 30.0


class UsageError(HmpPermsError):
    pass


def _timeout(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hmp-perms",
        description="Keep a QEMU human-monitor (HMP) permission table honest.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def qemu_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--qemu",
            action="append",
            metavar="BIN",
            help="QEMU binary to start (repeatable; run concurrently). Default:"
            " $HMP_PERMS_QEMU or qemu-system-x86_64",
        )
        p.add_argument(
            "--all-local",
            action="store_true",
            help="every qemu-system-* binary on PATH (with any --qemu given)",
        )
        p.add_argument(
            "--timeout",
            type=_timeout,
            default=DEFAULT_TIMEOUT,
            metavar="S",
            help=f"seconds each QEMU gets to answer (default {DEFAULT_TIMEOUT:g})",
        )

    p = sub.add_parser("collect", help="read the HMP command lists of QEMU binaries")
    qemu_options(p)
    p.add_argument("-o", "--output", metavar="FILE", help="write the JSON snapshot here")
    p.add_argument("--names", action="store_true", help="print only names, one command a line")
    p.add_argument("--from-text", metavar="HELP.txt", help="parse saved `help` output instead")
    p.add_argument("--info-text", metavar="INFO.txt", help="with --from-text: saved `info` output")
    p.add_argument("--qemu-version", metavar="X.Y.Z", help="with --from-text: the QEMU version")
    p.add_argument("--target", default="x86_64", help="with --from-text: the target (x86_64)")
    p.add_argument("--package", default="", help="with --from-text: query-version's package string")

    p = sub.add_parser("lint", help="validate the table; print every problem")
    p.add_argument("--table", default=DEFAULT_TABLE, metavar="FILE")

    p = sub.add_parser("check", help="compare QEMU binaries or snapshots with the table")
    qemu_options(p)
    p.add_argument(
        "--snapshot",
        action="append",
        default=[],
        metavar="FILE",
        help="a snapshot from `collect -o` (repeatable)",
    )
    p.add_argument("--table", default=DEFAULT_TABLE, metavar="FILE")
    p.add_argument(
        "--format", default="text", choices=("text", "json", "junit", "github", "markdown")
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", help="also show absences the table explains"
    )
    p.add_argument("--strict", action="store_true", help="warnings fail the check too")
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write the report here (whole, or not at all)"
    )

    p = sub.add_parser(
        "sync", help="bring the table up to date with QEMU (dry run without --write)"
    )
    qemu_options(p)
    p.add_argument("--snapshot", action="append", default=[], metavar="FILE")
    p.add_argument("--table", default=DEFAULT_TABLE, metavar="FILE")
    p.add_argument("--write", action="store_true", help="rewrite the table in place")

    p = sub.add_parser("diff", help="what changed between two snapshots")
    p.add_argument("old", metavar="A.json")
    p.add_argument("new", metavar="B.json")
    p.add_argument("--format", default="text", choices=("text", "markdown"))

    p = sub.add_parser("generate", help="render templates/*.j2 into generated/")
    p.add_argument(
        "--check", action="store_true", help="only compare; print a diff, exit 1 if stale"
    )
    p.add_argument("--table", default=DEFAULT_TABLE, metavar="FILE")
    p.add_argument("--templates", default=DEFAULT_TEMPLATES, metavar="DIR")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR")

    p = sub.add_parser("import-perl", help="turn a Perl permission hash into a table")
    p.add_argument("file", metavar="FILE.pm")
    p.add_argument("-o", "--output", metavar="OUT.yaml", help="write here instead of stdout")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(COMMANDS[args.command](args))
    except HmpPermsError as exc:
        print(f"hmp-perms: {exc}".replace("\n", "\nhmp-perms: "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hmp-perms: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1


def run() -> NoReturn:
    """The console script: `main`, then a hard exit.

    Freeing every object of ruamel.yaml, Jinja2 and asyncio at interpreter exit
    takes about 10 ms, more than the check itself (mypy skips it the same way).
    Output is flushed first; files are already closed, temp dirs removed.
    """
    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        status = status or 1
    os._exit(status)


def _snapshots(args: argparse.Namespace) -> list[Snapshot]:
    """Live binaries and snapshot files named on the command line (a live default if none)."""
    return _collect_alongside(args, None)[0]


def _collect_alongside(
    args: argparse.Namespace, work: Callable[[], T] | None
) -> tuple[list[Snapshot], T | None]:
    """The snapshots, and the result of `work`, done while QEMU starts up."""
    import asyncio

    from generator.launcher import collect_all, default_binary, local_binaries

    snaps: list[Snapshot] = []
    files = getattr(args, "snapshot", [])  # `collect` reads no snapshot files
    if files:
        from generator.snapshot import load_snapshot

        snaps = [load_snapshot(path) for path in files]
    binaries = list(args.qemu or [])
    if args.all_local:
        binaries += [b for b in local_binaries() if b not in binaries]
        if not binaries:
            raise UsageError("--all-local: no qemu-system-* binary on PATH")
    if not binaries and not snaps:
        binaries = [default_binary()]

    if not binaries:
        return snaps, work() if work else None
    live, result = asyncio.run(collect_all(binaries, args.timeout, work))
    return snaps + live, result


def cmd_collect(args: argparse.Namespace) -> int:
    if args.from_text:
        from generator.snapshot import snapshot_from_text

        if args.qemu or args.all_local:
            raise UsageError("collect: --from-text and --qemu exclude each other")
        snaps = [
            snapshot_from_text(
                args.from_text, args.info_text, args.qemu_version, args.target, args.package
            )
        ]
    else:
        snaps = _snapshots(args)
    from generator.model import fold_space

    if args.output:
        if len(snaps) != 1:
            raise UsageError("collect: -o takes one binary; run it once per binary")
        from generator.snapshot import snapshot_to_json
        from generator.writer import write_atomic

        write_atomic(args.output, snapshot_to_json(snaps[0]))
        return 0
    for snap in snaps:
        if args.names:
            for e in snap.commands:
                print(" ".join(e.names))
            for e in snap.info:
                print(f"info {e.name}")
            continue
        print(f"{snap.label}{' ' + snap.package if snap.package else ''}")
        print(f"  {len(snap.commands)} commands:")
        for e in snap.commands:
            print(f"    {'|'.join(e.names):<32} {fold_space(e.help)}")
        print(f"  {len(snap.info)} info subcommands:")
        for e in snap.info:
            print(f"    info {e.name:<27} {fold_space(e.help)}")
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from generator.table import lint_table

    problems = lint_table(args.table)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{args.table}: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"{args.table}: ok")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    def prepare() -> Table:
        # Runs while QEMU starts: the imports and the table load cost nothing then.
        import generator.compare
        import generator.report  # noqa: F401
        from generator.table import load_table

        return load_table(args.table)

    snaps, table = _collect_alongside(args, prepare)
    assert table is not None

    from generator.compare import check_drift
    from generator.report import format_report, use_colour

    report = check_drift(snaps, table)
    colour = args.format == "text" and not args.output and use_colour(sys.stdout.isatty())
    text = format_report(report, args.format, args.verbose, args.strict, colour)
    if args.output:
        from generator.writer import write_atomic

        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return report.exit_status(args.strict)


def cmd_diff(args: argparse.Namespace) -> int:
    from generator.compare import diff_snapshots
    from generator.report import format_diff
    from generator.snapshot import load_snapshot

    a, b = load_snapshot(args.old), load_snapshot(args.new)
    sys.stdout.write(format_diff(diff_snapshots(a, b), a.label, b.label, args.format))
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from generator.sync import sync_table

    changes, written = sync_table(args.table, _snapshots(args), write=args.write)
    for line in changes:
        print(line)
    if not changes:
        print(f"{args.table}: up to date")
    elif written:
        print(f"{args.table}: rewritten; choose a level and a rationale for each new entry")
    else:
        print("(dry run: add --write to change the table)")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from generator.render import check_outputs, render_templates, write_outputs
    from generator.table import load_table

    table = load_table(args.table)
    outputs = render_templates(table, args.templates)
    if args.check:
        diffs = check_outputs(outputs, args.out)
        if diffs:
            sys.stdout.write("".join(diffs))
            print(f"hmp-perms: {args.out}/ is stale; run: hmp-perms generate", file=sys.stderr)
            return 1
        return 0
    for name in write_outputs(outputs, args.out):
        print(f"wrote {args.out}/{name}")
    return 0


def cmd_import_perl(args: argparse.Namespace) -> int:
    from generator.perlimport import import_perl
    from generator.writer import write_atomic

    text, notes = import_perl(args.file)
    for note in notes:
        print(f"hmp-perms: {note}", file=sys.stderr)
    if args.output:
        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


COMMANDS = {
    "collect": cmd_collect,
    "lint": cmd_lint,
    "check": cmd_check,
    "diff": cmd_diff,
    "sync": cmd_sync,
    "generate": cmd_generate,
    "import-perl": cmd_import_perl,
}
