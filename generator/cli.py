"""The command line: parse arguments, call the stages, print, pick the exit status.

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
from typing import TYPE_CHECKING, TypeVar

from generator import __version__
from generator.errors import ErrorList, HmpPermsError

if TYPE_CHECKING:
    from generator.collect.launcher import Collected
    from generator.model import HelpEntry, Snapshot, Table
    from generator.suggest.rules import Suggestion

T = TypeVar("T")

DEFAULT_TABLE = "data/hmp-commands.yaml"
DEFAULT_BUILDS = "data/builds"
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
            metavar="CMD",
            help="QEMU to start: a binary or a command line, split as a shell would"
            " (`chroot ROOT qemu-system-x86_64`; repeatable; run concurrently)."
            " Default: $HMP_PERMS_QEMU or qemu-system-x86_64",
        )
        p.add_argument(
            "--connect",
            action="append",
            default=[],
            metavar="ADDRESS",
            help="read a running QEMU through its QMP socket: a UNIX socket path or"
            " HOST:PORT (repeatable; changes nothing in that QEMU)",
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

    def builds_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--builds",
            default=DEFAULT_BUILDS,
            metavar="DIR",
            help=f"recorded builds: baselines and facts (default {DEFAULT_BUILDS})",
        )

    def snapshot_option(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument(
            "--snapshot", action="append", default=[], metavar="FILE", help=f"{what} (repeatable)"
        )

    p = sub.add_parser("collect", help="read the HMP command lists of QEMU binaries")
    qemu_options(p)
    p.add_argument("-o", "--output", metavar="FILE", help="write the JSON snapshot here")
    p.add_argument("--names", action="store_true", help="print only names, one command a line")
    p.add_argument("--from-text", metavar="HELP.txt", help="parse saved `help` output instead")
    p.add_argument("--info-text", metavar="INFO.txt", help="with --from-text: saved `info` output")
    p.add_argument("--qemu-version", metavar="X.Y.Z", help="with --from-text: the QEMU version")
    p.add_argument("--target", help="with --from-text: the target (x86_64)")
    p.add_argument("--package", help="with --from-text: query-version's package string")
    p.add_argument(
        "--variant",
        metavar="NAME",
        help="with --from-text: the binary it came from (default qemu-system-TARGET)",
    )

    p = sub.add_parser("lint", help="validate the table; print every problem")
    p.add_argument("--table", default=DEFAULT_TABLE, metavar="FILE")

    p = sub.add_parser("check", help="compare QEMU binaries or snapshots with the table")
    qemu_options(p)
    snapshot_option(p, "a snapshot from `collect -o`")
    p.add_argument("--table", default=DEFAULT_TABLE, metavar="FILE")
    builds_option(p)
    p.add_argument(
        "--format", default="text", choices=("text", "json", "junit", "github", "markdown")
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="accepted for older command lines; changes nothing (every finding is listed)",
    )
    p.add_argument("--strict", action="store_true", help="warnings fail the check too")
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write the report here (whole, or not at all)"
    )

    p = sub.add_parser(
        "sync", help="bring the table up to date with QEMU (dry run without --write)"
    )
    qemu_options(p)
    snapshot_option(p, "a snapshot from `collect -o`")
    p.add_argument("--table", default=DEFAULT_TABLE, metavar="FILE")
    builds_option(p)
    p.add_argument(
        "--write", action="store_true", help="record the builds and add stubs to the table"
    )

    p = sub.add_parser(
        "migrate", help="move a schema 1 table to schema 2 (facts go to recorded builds)"
    )
    p.add_argument("--table", default=DEFAULT_TABLE, metavar="FILE")
    p.add_argument("--write", action="store_true", help="rewrite the table in place")

    p = sub.add_parser(
        "suggest", help="propose a level for commands from QEMU's text, or measure the rules"
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="a command, or 'info NAME'")
    p.add_argument(
        "--evaluate",
        action="store_true",
        help="suggest for every table entry and compare with its decision",
    )
    snapshot_option(p, "a snapshot whose text describes the commands (instead of the records)")
    p.add_argument("--table", default=DEFAULT_TABLE, metavar="FILE")
    builds_option(p)
    p.add_argument(
        "--rules", metavar="FILE", help="the rules (default: suggest-rules.yaml beside the table)"
    )

    p = sub.add_parser("diff", help="what changed between two snapshots")
    p.add_argument("old", metavar="A.json")
    p.add_argument("new", metavar="B.json")
    p.add_argument("--format", default="text", choices=("text", "markdown"))

    p = sub.add_parser("generate", help="render templates/*.j2 into generated/")
    p.add_argument(
        "--check", action="store_true", help="only compare; print a diff, exit 1 if stale"
    )
    p.add_argument("--table", default=DEFAULT_TABLE, metavar="FILE")
    builds_option(p)
    p.add_argument("--templates", default=DEFAULT_TEMPLATES, metavar="DIR")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR")

    p = sub.add_parser("import-perl", help="turn a Perl permission hash into a table")
    p.add_argument("file", metavar="FILE.pm")
    p.add_argument("-o", "--output", metavar="OUT.yaml", help="write here instead of stdout")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status. Prints one line per error, never a traceback."""
    _tolerant_output()
    try:
        args = build_parser().parse_args(argv)
        _refuse_empty_paths(args)
        return int(COMMANDS[args.command](args))
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


_PATH_OPTIONS = {
    "output": "-o",
    "table": "--table",
    "builds": "--builds",
    "rules": "--rules",
    "templates": "--templates",
    "out": "--out",
}


def _refuse_empty_paths(args: argparse.Namespace) -> None:
    """`-o "$UNSET"` must not mean stdout, nor `--builds ''` no records at all."""
    for dest, flag in _PATH_OPTIONS.items():
        if getattr(args, dest, None) == "":
            raise UsageError(f"{args.command}: {flag} is given an empty path")


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


def _snapshots(args: argparse.Namespace) -> list[Snapshot]:
    """Every build named on the command line, or an `ErrorList` if any failed."""
    result: Collected[None] = _collect_alongside(args, None)
    if result.errors:
        raise ErrorList(result.errors)
    return result.snapshots


def _collect_alongside(args: argparse.Namespace, work: Callable[[], T] | None) -> Collected[T]:
    """Snapshot files, live and connected QEMUs named on the command line (a live default
    if none), and the result of `work`, done while QEMU starts up."""
    import asyncio

    from generator.collect.launcher import Collected, collect_all, default_binary, local_binaries

    snaps: list[Snapshot] = []
    files = getattr(args, "snapshot", [])  # `collect` reads no snapshot files
    if files:
        from generator.collect.snapshot import load_snapshot

        snaps = [load_snapshot(path) for path in files]
    commands = list(args.qemu or [])
    if args.all_local:
        commands += [b for b in local_binaries() if b not in commands]
        if not commands:
            raise UsageError("--all-local: no qemu-system-* binary on PATH")
    if not commands and not snaps and not args.connect:
        commands = [default_binary()]

    if not commands and not args.connect:
        return Collected(snaps, [], work() if work else None)
    result: Collected[T] = asyncio.run(collect_all(commands, args.timeout, work, args.connect))
    from generator.collect.snapshot import validate_snapshot

    live = []
    for snap in result.snapshots:
        try:
            validate_snapshot(snap)  # an empty or truncated answer is a failed build
            live.append(snap)
        except HmpPermsError as exc:
            result.errors.append(exc)
    result.snapshots[:] = snaps + live
    return result


def _print_failures(errors: Sequence[HmpPermsError]) -> int:
    """One stderr line per build that could not be read; the exit status that follows."""
    for error in errors:
        print(f"hmp-perms: {error}", file=sys.stderr)
    return 2 if errors else 0


def cmd_collect(args: argparse.Namespace) -> int:
    if args.from_text:
        from generator.collect.snapshot import snapshot_from_text

        if args.qemu or args.all_local or args.connect:
            raise UsageError("collect: --from-text excludes --qemu, --connect and --all-local")
        snaps = [
            snapshot_from_text(
                args.from_text,
                args.info_text,
                args.qemu_version,
                args.target or "x86_64",
                args.package or "",
                args.variant or "",
            )
        ]
        failures: list[HmpPermsError] = []
    else:
        given = [
            option
            for option, value in (
                ("--info-text", args.info_text),
                ("--qemu-version", args.qemu_version),
                ("--target", args.target),
                ("--package", args.package),
                ("--variant", args.variant),
            )
            if value is not None
        ]
        if given:
            raise UsageError(
                f"collect: {', '.join(given)}: only with --from-text; a live QEMU reports its own"
            )
        result: Collected[None] = _collect_alongside(args, None)
        snaps, failures = result.snapshots, result.errors
    from generator.model import fold_space

    if args.output:
        if failures:
            raise ErrorList(failures)
        if len(snaps) != 1:
            raise UsageError("collect: -o takes one binary; run it once per binary")
        from generator.collect.snapshot import snapshot_to_json
        from generator.files import write_atomic

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
    return _print_failures(failures)


def cmd_lint(args: argparse.Namespace) -> int:
    from generator.table.loader import lint_table

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
        from generator.table.loader import load_table

        return load_table(args.table)

    collected = _collect_alongside(args, prepare)
    snaps, table = collected.snapshots, collected.side
    assert table is not None
    if collected.errors and not snaps:
        raise ErrorList(collected.errors)

    from generator.check.compare import Checked, check_drift
    from generator.check.report import format_report, use_colour
    from generator.collect.records import build_of, find_baseline

    checked: list[Checked] = []
    seen: dict[str, Snapshot] = {}
    for snap in snaps:
        build = build_of(snap, table.vendors)
        first = seen.setdefault(build.slug, snap)
        if first is not snap:
            # One build given twice (a path and its name, a record and the binary):
            # checked once, so every finding id stays unique in the run.
            if (first.raw_help, first.raw_info) == (snap.raw_help, snap.raw_info):
                continue
            raise UsageError(
                f"{first.binary} and {snap.binary} are both build {build.slug} but list"
                " different commands; check them in separate runs"
            )
        checked.append(Checked(snap, build, find_baseline(build, args.builds, table.vendors)))
    failures = [str(e) for e in collected.errors]
    report = check_drift(checked, table, failures, advise=_lazy_advisor(table))
    colour = args.format == "text" and not args.output and use_colour(sys.stdout.isatty())
    text = format_report(report, args.format, args.verbose, args.strict, colour)
    if args.output:
        from generator.files import write_atomic

        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    # The builds that answered are reported; each that did not fails the run.
    return _print_failures(collected.errors) or report.exit_status(args.strict)


def _lazy_advisor(table: Table) -> Callable[[str, HelpEntry | None, bool], Suggestion | None]:
    """Suggestions for `check`'s hints, with the suggester imported only when a command
    needs one: a clean check never pays for it."""
    found: list[Callable[[str, HelpEntry | None, bool], Suggestion] | None] = []

    def advise(name: str, entry: HelpEntry | None, is_info: bool) -> Suggestion | None:
        if not found:
            from generator.suggest.rules import advisor

            found.append(advisor(table))
        return found[0](name, entry, is_info) if found[0] is not None else None

    return advise


def cmd_diff(args: argparse.Namespace) -> int:
    from generator.check.compare import diff_snapshots
    from generator.check.report import format_diff
    from generator.collect.snapshot import load_snapshot

    a, b = load_snapshot(args.old), load_snapshot(args.new)
    sys.stdout.write(format_diff(diff_snapshots(a, b), a.label, b.label, args.format))
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from generator.app.sync import sync_table

    result = sync_table(args.table, _snapshots(args), args.builds, write=args.write)
    for line in result.changes:
        print(line)
    if not args.write:
        print("(dry run: add --write to record the builds and add the stubs)")
        return 0
    for path, changed in result.records:
        print(f"{path}: {'recorded' if changed else 'unchanged'}")
    if result.written:
        print(f"{args.table}: stubs added; choose a level and write a rationale for each")
    else:
        print(f"{args.table}: unchanged")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from generator.table.edit import migrate_table

    removed, _ = migrate_table(args.table, write=args.write)
    if removed is None:
        print(f"{args.table}: already schema 2")
    elif not args.write:
        print(f"{args.table}: {removed} line(s) of QEMU facts to remove (dry run: add --write)")
    else:
        print(f"{args.table}: schema 2, {removed} line(s) of QEMU facts removed")
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:

    from generator.collect.snapshot import load_snapshot
    from generator.model import is_command_name
    from generator.suggest.rules import (
        Scale,
        default_rules_path,
        describe_from,
        evaluate,
        format_evaluation,
        load_rules,
        suggest,
    )
    from generator.table.loader import load_table

    if args.evaluate == bool(args.names):
        raise UsageError("suggest: give command names or --evaluate (one of the two)")
    queries = []
    for text in args.names:
        words = text.split()
        is_info = len(words) == 2 and words[0] == "info"
        name = words[-1] if words else ""
        if len(words) != 1 + is_info or not is_command_name(name):
            raise UsageError(f"suggest: {text!r} is not a command name or 'info NAME'")
        queries.append((name, is_info))
    table = load_table(args.table)
    rules_path = args.rules or default_rules_path(args.table)
    rules = load_rules(rules_path, table.levels)
    if args.snapshot:
        described = describe_from(load_snapshot(path) for path in args.snapshot)
    else:
        from generator.collect.records import load_records

        described = describe_from(s for _, s in load_records(args.builds, table.vendors))
    if args.evaluate:
        ev = evaluate(table, rules, described)
        sys.stdout.write(format_evaluation(ev, args.table, rules_path))
        return 0 if ev.passed else 1
    scale = Scale.of(table)
    for name, is_info in queries:
        key = f"info {name}" if is_info else name
        s = suggest(rules, scale, name, described.get(key), is_info)
        print(f"{key}\t{s.level}\t{s.reason}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from generator.collect.records import load_records
    from generator.generate.render import check_outputs, render_templates, write_outputs
    from generator.table.loader import load_table

    table = load_table(args.table)
    outputs = render_templates(table, args.templates, load_records(args.builds, table.vendors))
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
    from generator.files import write_atomic
    from generator.perl.importer import import_perl

    text, notes = import_perl(args.file, args.output)
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
    "migrate": cmd_migrate,
    "suggest": cmd_suggest,
    "generate": cmd_generate,
    "import-perl": cmd_import_perl,
}
