"""Suggestions: each rule on text recorded from real QEMU 7.2 builds, the metric
(`bench/evaluate_rules.py`), the CLI."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from generator.collect.snapshot import load_snapshot
from generator.core.errors import HmpPermsError
from generator.core.model import HelpEntry, Snapshot, Table, Version
from generator.suggest.rules import (
    Rules,
    Suggestion,
    describe_from,
    hint_for,
    load_rules,
    matches,
    suggest,
    suggestion_comment,
)
from generator.table.loader import load_table
from tests.conftest import BUILDS, ROOT, TABLE, Result

RULES = ROOT / "data" / "suggest-rules.yaml"
TARGETS = ("x86_64", "aarch64", "s390x")
SNAPSHOTS = [BUILDS / f"debian-7.2.22-{t}.json" for t in TARGETS]


@cache
def snapshot(target: str) -> Snapshot:
    return load_snapshot(str(BUILDS / f"debian-7.2.22-{target}.json"))


@cache
def committed() -> tuple[Rules, Table]:
    table = load_table(str(TABLE))
    return load_rules(str(RULES), table.levels), table


def recorded(target: str, name: str) -> HelpEntry:
    """The entry of a recorded build: ``NAME`` or ``info NAME``."""
    described = describe_from([snapshot(target)])
    return described[name]


# Each rule on real text: (rule, build, command). Commands no recorded 7.2 build has
# (later releases, Proxmox's) are judged by their name only, as the evaluation judges them.
RULE_CASES = [
    ("host-path-param", "x86_64", "change"),  # device [-f] filename [format ...]
    ("host-path-param", "x86_64", "wavcapture"),  # path audiodev ...
    ("host-path-param", "x86_64", "snapshot_blkdev"),  # [-n] device [new-image-file]
    ("host-path-param", "aarch64", "memsave"),  # addr size file
    ("endpoint-param", "x86_64", "migrate"),  # [-d] [-b] [-i] [-r] uri
    ("endpoint-param", "x86_64", "client_migrate_info"),  # protocol hostname port ...
    ("endpoint-param", "x86_64", "hostfwd_add"),  # [tcp|udp]:[hostaddr]:hostport-...
    ("host-file-help", "x86_64", "block_stream"),  # copy data from a backing file ...
    ("host-file-help", "s390x", "dump-skeys"),  # no params; its help names the file
    ("host-file-help", "aarch64", "drive_mirror"),  # ... copied to the new image file
    ("host-help", "x86_64", "drive_del"),  # remove host block device
    ("host-help", "x86_64", "nbd_server_start"),  # ... on the given host and port
    ("host-help", "x86_64", "info usbhost"),  # show host USB devices
    ("network-endpoint-help", "x86_64", "gdbserver"),  # default 'tcp::1234'
    ("serves-network-help", "x86_64", "nbd_server_add"),  # export a block device via NBD
    ("serves-network-help", "x86_64", "nbd_server_stop"),  # stop serving block devices ...
    ("backend-lifecycle-help", "x86_64", "chardev-remove"),  # remove chardev
    ("backend-lifecycle-help", "x86_64", "object_add"),  # create QOM object
    ("backend-lifecycle-help", "aarch64", "device_del"),  # remove device
    ("inject-help", "x86_64", "mce"),
    ("inject-help", "x86_64", "nmi"),
    ("inject-help", "aarch64", "pcie_aer_inject_error"),
    ("io-port-help", "x86_64", "o"),  # I/O port write
    ("set-property-help", "x86_64", "qom-set"),  # set QOM property
    ("inject-name", None, "xen-event-inject"),
    ("file-name", None, "trace-file"),
    ("vm-state-help", "x86_64", "cont"),  # resume emulation
    ("vm-state-help", "s390x", "migration_mode"),  # Enables or disables migration mode
    ("vm-state-help", "x86_64", "qom-get"),  # print QOM property
    ("vm-action-help", "x86_64", "system_reset"),  # reset the system
    ("vm-action-help", "x86_64", "announce_self"),  # Trigger GARP/RARP announcements
    ("passed-fd-help", "x86_64", "closefd"),  # ... previously passed via SCM rights
    ("reports-help", "x86_64", "help"),  # show the help
    ("reports-help", "x86_64", "info"),
]


def rule_ids(target: str | None, name: str) -> list[str]:
    rules, _ = committed()
    is_info = name.startswith("info ")
    entry = recorded(target, name) if target else None
    return list(matches(rules, name.removeprefix("info "), entry, is_info))


@pytest.mark.parametrize(("rule", "target", "name"), RULE_CASES)
def test_rule_matches_real_qemu_text(rule: str, target: str | None, name: str) -> None:
    assert rule in rule_ids(target, name)


def test_every_rule_has_a_case_on_real_text() -> None:
    rules, _ = committed()
    # fd-param: no 7.2 command has an fd parameter; test_fd_param_... covers it.
    # monitor-output-help: QEMU 11.1's `clear` is its case; test_clear_... covers it.
    assert {r.id for r in rules} == {case[0] for case in RULE_CASES} | {
        "fd-param",
        "monitor-output-help",
    }


@pytest.mark.parametrize(
    ("rule", "target", "name"),
    [
        ("host-file-help", "x86_64", "closefd"),  # a file descriptor is not a file
        ("host-path-param", "x86_64", "qom-get"),  # path property: a QOM path
        ("backend-lifecycle-help", "x86_64", "snapshot_delete_blkdev_internal"),
        ("file-name", None, "sync-profile"),  # "profile" is no file
        ("io-port-help", "x86_64", "block_set_io_throttle"),  # I/O throttle
        ("endpoint-param", "x86_64", "balloon"),  # target: a memory size
    ],
)
def test_rule_stays_away_from_real_text_it_must_not_match(
    rule: str, target: str | None, name: str
) -> None:
    assert rule not in rule_ids(target, name)


def test_fd_param_is_a_parameter_not_a_word_in_help() -> None:
    # No HMP command of 7.2 takes an fd parameter (getfd takes a name, its help says
    # "file descriptor"), so the rule is checked on a real entry with an fd parameter
    # spelled as QMP's add-fd spells it, and shown not to fire on getfd's own text.
    rules, table = committed()
    getfd = recorded("x86_64", "getfd")
    assert "fd-param" not in rule_ids("x86_64", "getfd")
    with_fd = getfd._replace(params="fdset-id fd")
    assert suggest(rules, table, "getfd", with_fd) == Suggestion(
        "root", "params name a file descriptor of the QEMU process ('fdset-id')"
    )


@pytest.mark.parametrize(
    ("target", "name", "level", "reason"),
    [
        ("x86_64", "logfile", "root", "params name a host path ('filename')"),
        ("x86_64", "stop", "Sys.Modify", "help speaks of the VM's own state ('emulation')"),
        ("x86_64", "help", "none", "help says it only shows information ('show')"),
        (
            "x86_64",
            "info block",
            "none",
            "an info subcommand: inherits info's level (no rule says it reveals the host)",
        ),
        ("x86_64", "x_colo_lost_heartbeat", "root", "no rule matched: the default"),
        ("x86_64", "watchdog_action", "root", "no rule matched: the default"),
        # Both a VM-state word and a host path: the most privileged wins.
        ("x86_64", "dump-guest-memory", "root", "params name a host path ('filename')"),
    ],
)
def test_suggestion_on_real_text(target: str, name: str, level: str, reason: str) -> None:
    rules, table = committed()
    is_info = name.startswith("info ")
    s = suggest(rules, table, name.removeprefix("info "), recorded(target, name), is_info)
    assert s == Suggestion(level, reason)


CLEAR = "clear  -- clear the monitor screen\n"  # QEMU 11.1 adds it, without params
CORE = "help|?  -- show the help\ninfo  -- show various information\nquit|q  -- quit the emulator\n"


def from_text(cli: Callable[..., Result], tmp_path: Path, listing: str) -> Path:
    """A snapshot that `collect --from-text` builds from a saved help listing."""
    text, snap = tmp_path / "help.txt", tmp_path / "snap.json"
    text.write_text(CORE + listing)
    r = cli("collect", "--from-text", text, "--qemu-version", "11.1.0", "-o", snap)
    assert r.status == 0, r.err
    return snap


def test_clear_only_touches_the_monitor_screen(cli: Callable[..., Result], tmp_path: Path) -> None:
    snap = from_text(cli, tmp_path, CLEAR)
    r = cli("suggest", "clear", "--snapshot", snap)
    assert r.status == 0, r.err
    assert r.out == (
        "clear\tnone\thelp says it only touches the monitor's own output ('monitor screen')\n"
    )


@pytest.mark.parametrize(
    ("listing", "level"),
    [
        # Arguments could reach further than the screen: no longer judged by this rule.
        ("clear [file]  -- clear the monitor screen\n", "root"),
        ("clear lines  -- clear the monitor screen\n", "root"),
        # A rule of a higher level still wins over it.
        ("clear  -- clear the monitor screen and the guest memory\n", "Sys.Modify"),
        # "monitor" alone is not the monitor's own output.
        ("watch  -- start monitoring the guest\n", "Sys.Modify"),
    ],
)
def test_monitor_output_rule_stays_narrow(
    cli: Callable[..., Result], tmp_path: Path, listing: str, level: str
) -> None:
    snap = from_text(cli, tmp_path, listing)
    name = listing.split(" ", 1)[0]
    r = cli("suggest", name, "--snapshot", snap)
    assert r.status == 0, r.err
    assert r.out.split("\t")[1] == level, r.out


def test_an_event_channel_port_is_no_network_endpoint() -> None:
    # xen-event-inject (10.0): "port -- inject event channel".
    rules, table = committed()
    snap = load_snapshot(str(BUILDS / "debian-10.0.13-x86_64.json"))
    entry = describe_from([snap])["xen-event-inject"]
    assert (entry.params, entry.help) == ("port", "inject event channel")
    found = matches(rules, "xen-event-inject", entry, False)
    assert "endpoint-param" not in found
    # Still root, and for what the help says: it injects into the emulated machine.
    assert suggest(rules, table, "xen-event-inject", entry).reason.startswith(
        "help says it injects into emulated hardware ('inject')"
    )
    # A port with no event channel in sight is still a network endpoint.
    other = entry._replace(help="forward a guest port")
    assert "endpoint-param" in matches(rules, "x", other, False)


def test_undescribed_name_gets_the_default_and_says_so() -> None:
    rules, table = committed()
    s = suggest(rules, table, "savevm-start", None)
    assert s.level == "root"
    assert "no QEMU text describes savevm-start" in s.reason
    # Without text an info subcommand cannot be shown not to reveal the host.
    assert suggest(rules, table, "accel", None, is_info=True).level == "root"


def test_describe_from_keeps_the_newest_build_text() -> None:
    old = snapshot("x86_64")
    cont = next(e for e in old.commands if e.name == "cont")
    newer = old._replace(
        version=Version(9, 0),
        commands=(cont._replace(help="resume emulation, now newer"),),
        info=(),
    )
    for order in ([old, newer], [newer, old]):
        described = describe_from(order)
        assert described["cont"].help == "resume emulation, now newer"
        assert described["stop"].help == "stop emulation"
        assert described["info usbhost"].help == "show host USB devices"
        assert described["c"] == described["cont"]


def test_a_suggestion_is_one_comment_line_and_one_hint() -> None:
    s = Suggestion("root", "params name a host path ('filename')")
    assert suggestion_comment(s) == "# suggested: root: params name a host path ('filename')"
    assert hint_for(s) == "suggested level: root (params name a host path ('filename'))"
    # A reason can never break out of its comment line.
    assert "\n" not in suggestion_comment(Suggestion("root", "a\nb"))


# -- the metric on a small table with known answers ---------------------------------

SMALL = """\
schema: 2
levels:
  none: {}
  Sys.Modify: {}
  root: {}
default: root
commands:
  help: {permission: none, rationale: prints the reference}   # suggested none
  info: {permission: none, rationale: read-only queries}      # suggested none
  cont: {permission: Sys.Modify, rationale: resumes the VM}   # suggested Sys.Modify
  logfile: {permission: root, rationale: a host file}         # suggested root
  gpa2hpa: {permission: Sys.Modify, rationale: sensitive}     # suggested root
  stop: {permission: root, rationale: decided high}           # suggested Sys.Modify: under
  balloon: {permission: none, rationale: decided low}         # suggested Sys.Modify
  foo-new: {permission: Sys.Modify, rationale: no text}       # undescribed: root
  trace-file: {permission: root, rationale: no text}          # undescribed, by name: root
info:
  usbhost: {}                                                 # suggested root
  block: {}                                                   # suggested none (inherits)
  nosuch: {}                                                  # undescribed: root
"""


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def evaluate_rules(*args: str | Path) -> Result:
    """Run the maintainers' script `bench/evaluate_rules.py` (`make evaluate`)."""
    script = ROOT / "bench" / "evaluate_rules.py"
    r = subprocess.run(
        [sys.executable, script, *map(str, args)], capture_output=True, text=True, cwd=ROOT
    )
    return Result(r.returncode, r.stdout, r.stderr)


def test_evaluate_prints_the_numbers_and_fails_below_the_bars(small: Path) -> None:
    r = evaluate_rules("--table", small, "--rules", RULES, "--snapshot", SNAPSHOTS[0])
    assert r.status == 1, r.err
    assert "commands that QEMU's text describes: 4 of 7 agree (57.1%)" in r.out
    assert "info subcommands that QEMU's text describes: 1 of 2 agree (50.0%)" in r.out
    # The confusion matrix: one row per decided level, columns by suggested level.
    matrix = r.out.splitlines()[3:7]
    assert [row.split() for row in matrix] == [
        ["decided", "\\", "suggested", "none", "Sys.Modify", "root"],
        ["none", "2", "1", "0"],
        ["Sys.Modify", "0", "1", "1"],
        ["root", "0", "1", "1"],
    ]
    assert "  stop: decided root, suggested Sys.Modify" in r.out
    assert "    table:   decided high" in r.out
    assert "    suggest: help speaks of the VM's own state ('emulation')" in r.out
    # Apart: the entries no QEMU text describes, judged by name alone.
    assert "  commands: 1 of 2 agree (50.0%)" in r.out
    assert "  foo-new: decided Sys.Modify, suggested root" in r.out
    assert "  info subcommands: 0 of 1 agree (0.0%)" in r.out
    assert "  info nosuch: decided none, suggested root" in r.out
    assert "MISS root decisions suggested lower: 1 (must be 0)" in r.out
    assert r.out.rstrip().endswith("FAIL")


def test_evaluate_passes_when_the_decisions_follow_the_rules(small: Path) -> None:
    fixed = small.read_text().replace("stop: {permission: root", "stop: {permission: Sys.Modify")
    small.write_text(
        fixed.replace("balloon: {permission: none", "balloon: {permission: Sys.Modify")
    )
    r = evaluate_rules("--table", small, "--rules", RULES, "--snapshot", SNAPSHOTS[0])
    # 6 of 7 commands (gpa2hpa stays apart) but 1 of 2 info subcommands (usbhost).
    assert "6 of 7 agree (85.7%)" in r.out
    assert "ok   root decisions suggested lower: 0 (must be 0)" in r.out
    assert "MISS agreement on described info subcommands: 50.0% (at least 85.0%)" in r.out
    assert r.status == 1
    small.write_text(
        small.read_text().replace(
            "usbhost: {}", "usbhost: {permission: root, rationale: host devices}"
        )
    )
    r = evaluate_rules("--table", small, "--rules", RULES, "--snapshot", SNAPSHOTS[0])
    assert (r.status, r.out.rstrip()[-4:]) == (0, "PASS"), r.out


def test_committed_table_meets_the_bars_on_recorded_builds() -> None:
    r = evaluate_rules()  # the committed table, with the text of every recorded build
    assert r.status == 0, r.out
    assert "ok   root decisions suggested lower: 0 (must be 0)" in r.out
    assert r.out.rstrip().endswith("PASS")
    # The README quotes the agreement, with and without QEMU's text; it must be
    # what the script prints today.
    readme = (ROOT / "README.md").read_text().splitlines()
    quoted = [line for line in r.out.splitlines() if " agree (" in line]
    assert len(quoted) == 4, r.out
    for line in quoted:
        assert line in readme, line


def test_evaluate_without_text_fails(tmp_path: Path) -> None:
    r = evaluate_rules("--table", TABLE, "--builds", tmp_path)
    assert r.status == 1
    assert "commands that QEMU's text describes: 0 of 0 agree (0.0%)" in r.out
    assert "MISS agreement on described commands: 0.0% (at least 85.0%)" in r.out


def test_evaluate_reports_bad_input_in_one_line_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text("rules: []\n")
    r = evaluate_rules("--rules", tmp_path / "rules.yaml")
    assert (r.status, r.out) == (2, "")
    assert r.err == f"evaluate_rules: {tmp_path / 'rules.yaml'}:1: rules is empty\n"


# -- the command line -----------------------------------------------------------------


def test_suggest_names_prints_name_level_reason(cli: Callable[..., Result]) -> None:
    r = cli(
        "suggest",
        "dump-skeys",
        "info usbhost",
        "info skeys",
        "backup",
    )
    assert r.status == 0, r.err
    assert r.out.splitlines() == [
        "dump-skeys\troot\thelp speaks of a file on the host ('into file')",
        "info usbhost\troot\thelp speaks of the host ('host'):"
        " what it reaches or reveals is outside the VM",
        "info skeys\tnone\tan info subcommand: inherits info's level"
        " (no rule says it reveals the host)",
        "backup\troot\tno QEMU text describes backup, and no rule matches its name: the default",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "hmp-perms: suggest: give one or more command names"),
        (["info a b"], "hmp-perms: suggest: 'info a b' is not a command name or 'info NAME'"),
        (["x;y"], "hmp-perms: suggest: 'x;y' is not a command name"),
        # measuring the rules is `make evaluate`'s, not the command's
        (["--evaluate"], "hmp-perms: error: unrecognized arguments: --evaluate"),
        (["--evaluate", "cont"], "hmp-perms: error: unrecognized arguments: --evaluate"),
    ],
)
def test_suggest_usage_errors(cli: Callable[..., Result], args: list[str], message: str) -> None:
    r = cli("suggest", *args)
    assert (r.status, r.out) == (2, "")
    assert message in r.err


def test_suggest_info_alone_is_the_info_command(cli: Callable[..., Result]) -> None:
    r = cli("suggest", "info")
    assert r.status == 0 and r.out.startswith("info\tnone\thelp says it only shows")


RULE = """\
  - id: r1
    field: help
    words: [host]
    level: root
    reason: help speaks of the host ({match})
"""


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (RULE.replace("level: root", "level: admin"), 5, "level 'admin' is not a declared level"),
        (RULE.replace("words: [host]", "regex: '(host'"), 4, "regex does not compile"),
        (RULE.replace("field: help", "field: target"), 3, "field 'target' is not one of"),
        (RULE + "    regex: host\n", 2, "give either 'words' or 'regex'"),
        (RULE + "    colour: red\n", 7, "unknown key 'colour'"),
        (RULE + RULE, 7, "rule id 'r1' is used twice (first at"),
        (RULE.replace("({match})", "({where})"), 6, "only the placeholder {match}"),
        (RULE.replace("    reason: help speaks of the host ({match})\n", ""), 2, "needs 'reason'"),
        (RULE.replace("words: [host]", "words: []"), 4, "words is empty"),
        (RULE + "    reveals-host: maybe\n", 7, "reveals-host must be true or false"),
        (RULE + "    unless: {words: [x]}\n", 7, "unless needs 'field'"),
        ("  - just a string\n", 2, "a rule must be a mapping"),
        ("  - id: [\n", 3, "invalid YAML"),
    ],
)
def test_bad_rules_files_are_reported_with_file_and_line(
    cli: Callable[..., Result], tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n" + text)
    r = cli("suggest", "--rules", path, "cont")
    assert r.status == 2
    assert r.out == ""
    first = r.err.splitlines()[0]
    assert first.startswith(f"hmp-perms: {path}:{line}: "), r.err
    assert message in r.err


def test_every_problem_in_a_rules_file_is_reported(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    path = tmp_path / "rules.yaml"
    bad = RULE.replace("level: root", "level: admin")
    path.write_text("rules:\n" + bad + bad.replace("r1", "r2").replace("[host]", "[]"))
    r = cli("suggest", "--rules", path, "cont")
    assert r.status == 2
    assert r.err.count("is not a declared level") == 2
    assert f"{path}:9: rule 'r2': words is empty" in r.err


def test_rules_default_to_the_file_beside_the_table(
    cli: Callable[..., Result], table_copy: Path
) -> None:
    (table_copy.parent / "suggest-rules.yaml").unlink()
    r = cli("suggest", "--table", table_copy, "cont")
    assert r.status == 2
    assert f"{table_copy.parent / 'suggest-rules.yaml'}: cannot read" in r.err
    (table_copy.parent / "suggest-rules.yaml").write_text("rules:\n" + RULE)
    r = cli("suggest", "--table", table_copy, "--snapshot", SNAPSHOTS[0], "drive_del", "cont")
    assert r.out.splitlines() == [
        "drive_del\troot\thelp speaks of the host ('host')",
        "cont\troot\tno rule matched: the default",
    ]


def test_rules_file_without_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("other: 1\n")
    with pytest.raises(HmpPermsError, match=r"rules.yaml:1: rules file: unknown key 'other'"):
        load_rules(str(path), ("none", "root"))


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        # an empty word matched every command: each got this rule's level
        (RULE.replace("[host]", "[host, '']"), 4, "words holds an empty word"),
        (RULE.replace("[host]", "[' ']"), 4, "words holds an empty word"),
        # a regex that matched no characters matched every command, 'migrate' too
        (RULE.replace("words: [host]", "regex: 'x*'"), 4, "regex can match no characters"),
        (RULE.replace("words: [host]", "regex: 'host|\\b'"), 4, "regex can match no characters"),
        (RULE.replace("words: [host]", "regex: '(?m)^$'"), 4, "regex can match no characters"),
        (RULE + "    unless: {field: help, regex: '\\B'}\n", 7, "unless: regex can match no"),
        # a reason is printed as one tab-separated line: a line break or ESC broke it
        (
            RULE.replace("reason: help speaks of the host ({match})", 'reason: "two\\nlines"'),
            6,
            "reason must be one line",
        ),
        (
            RULE.replace("reason: help speaks of the host ({match})", 'reason: "\\e[31mred"'),
            6,
            "reason holds the control character U+001B",
        ),
        # one mistake was said three times over
        (RULE + "    unless: 5\n", 7, "unless must be a mapping"),
        (RULE.replace("[host]", "host"), 4, "words must be a list"),
    ],
)
def test_a_rule_that_would_match_anything_or_print_raw_text_is_refused_once(
    tmp_path: Path, cli: Callable[..., Result], text: str, line: int, message: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n" + text)
    r = cli("suggest", "--rules", path, "cont")
    assert (r.status, r.out) == (2, "")
    assert r.err.startswith(f"hmp-perms: {path}:{line}: rule 'r1': {message}"), r.err
    assert r.err.count("\n") == 1, r.err
