"""The generated Perl module judges a line as the Python module does, in the real perl.

Lines go to one perl process as JSON lines (JSON::PP is core), decoded to
character strings as Proxmox's API decodes its parameters; the answers come
back as JSON and are compared with the Python module generated from the same
table.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import random
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import GENERATED, TESTS, Result

pytestmark = pytest.mark.perl

GOLDEN = TESTS / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "HMPPerms.pm").exists())
PACKAGE = "PVE::API2::Qemu::HMPPerms"
BLANK = "blank command line"

#: What C's isspace() skips in the C locale, and so QEMU.
C_SPACE = " \t\n\v\f\r"
#: Every other character Python's isspace() accepts: Unicode's spaces (U+0085, U+00A0,
#: U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000, which Perl's \s
#: matches) and \x1c-\x1f; then the zero-width ones that only look like a space.
OTHER_SPACE: list[str] = [
    *sorted({chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()} - set(C_SPACE)),
    *"\u180e\u200b\u2060\ufeff",
]
#: Proxmox's Qemu.pm reads the name as the first \S+ after leading \s.
PROXMOX_NAME = re.compile(r"^\s*(\S+)")

# Reads JSON lines (each ["line"]) and prints, for each, [command_name, required_permission,
# required_permission of the line's UTF-8 bytes], each {"ok": value} or {"die": message};
# then the module's tables and every warning perl gave.
DRIVER = r"""
use strict;
use warnings;
use JSON::PP;
my @warnings;
$SIG{__WARN__} = sub { push @warnings, $_[0] };
my $module = shift @ARGV;
require $module;
my $json = JSON::PP->new->ascii->canonical;
binmode STDIN;
binmode STDOUT;
sub answer {
    my ($function, $line) = @_;
    my $value;
    return { ok => $value } if eval { $value = $function->($line); 1 };
    return { die => "$@" };
}
while (my $in = <STDIN>) {
    my ($line) = @{ $json->decode($in) };
    my $bytes = $line;
    utf8::encode($bytes);
    print $json->encode([
        answer(\&PVE::API2::Qemu::HMPPerms::command_name, $line),
        answer(\&PVE::API2::Qemu::HMPPerms::required_permission, $line),
        answer(\&PVE::API2::Qemu::HMPPerms::required_permission, $bytes),
    ]), "\n";
}
no warnings 'once';
print $json->encode({
    default => $PVE::API2::Qemu::HMPPerms::default_permission,
    commands => $PVE::API2::Qemu::HMPPerms::hmp_command_perms,
    info => $PVE::API2::Qemu::HMPPerms::hmp_info_perms // {},
    deprecated => \%PVE::API2::Qemu::HMPPerms::deprecated,
    warnings => \@warnings,
}), "\n";
"""


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def perl_answers(
    perl: str, module: Path, lines: Sequence[str]
) -> tuple[list[list[dict[str, str]]], dict[str, object]]:
    """Each line's answers from the Perl module, and its tables and warnings."""
    stdin = "".join(json.dumps([line]) + "\n" for line in lines)
    result = subprocess.run(
        [perl, "-w", "-e", DRIVER, str(module)],
        input=stdin.encode("ascii"),
        capture_output=True,
        timeout=120,
    )
    assert (result.returncode, result.stderr) == (0, b""), result.stderr.decode()
    *answers, tables = (json.loads(line) for line in result.stdout.decode("ascii").splitlines())
    assert len(answers) == len(lines)
    return answers, tables


def outcome(function: Callable[[str], str], line: str) -> tuple[str, str]:
    try:
        return ("ok", function(line))
    except ValueError as exc:
        return ("die", str(exc))


def perl_outcome(answer: dict[str, str]) -> tuple[str, str]:
    if "die" in answer:
        message = answer["die"]
        assert message.endswith("\n"), message  # no " at FILE line N." appended
        return ("die", message.removesuffix("\n"))
    return ("ok", answer["ok"])


def hostile_lines(rng: random.Random, module: ModuleType, count: int) -> list[str]:
    """`count` lines: the hand-picked ones, then seeded random ones from the module's table."""
    commands: list[str] = sorted(module.PERMISSIONS)
    subcommands: list[str] = sorted(module.INFO_PERMISSIONS) or ["status"]
    picked = [
        "x/10i $pc",
        "  x/10i $pc",
        "x/10i",
        "info",
        "info ",
        "info usbhost",
        "\tinfo  usbhost",
        "info nosuch",
        "info/x usbhost",
        "info\x00usbhost",
        "info \x00usbhost",
        "infousbhost",
        "info\u00a0usbhost",
        "info\u2003status",
        "info usbhost\u00a0",
        "nosuch",
        "CONT",
        "help?",
        "?",
        "quit\x1c",
        "quit\u00a0now",
        "\u00a0quit",
        "\u2003quit",
        "\u3000quit",
        "\u0085quit",
        "\ufeffquit",
        "\x1cquit",
        "quit\u2028",
        "quit\n",
        "quit\r\n",
        "\v\f\r\nc",
        "cont\x00; quit",
        "/10x 0",
        "/",
        "a" * 255,
        "a" * 256,
        "a" * 300,
        "s" + " " * 300 + "x",
        "q" + "\U0001f600",
        "\U0001f600",
        "\U0010ffff quit",
        "qu\u0131t",
        "\u0430",  # Cyrillic a
        "é/10i",
        "",
        " ",
        "\n",
        C_SPACE,
        C_SPACE * 50,
        "\x00",
        "\x00quit",
        "  \x00 quit",
        "\u00a0",
        "".join(OTHER_SPACE),
        "info " + "u" * 255,
        "info " + "u" * 256,
        "info" + C_SPACE,
        "info" + C_SPACE + "\x00",
    ]
    unknown_chars = "abcdefghijklmnopqrstuvwxyz0123456789_-?.:,=+%#'\"\\$!@{}[]()<>|&;`~^*"
    wide = "\u00e9\u00ff\u0100\u0131\u0430\u05d0\u4e2d\U0001f600\U00010348\U0010fffd\ufffd"

    def spaces(high: int = 3) -> str:
        return "".join(rng.choice(C_SPACE) for _ in range(rng.randrange(high + 1)))

    def lead() -> str:
        kind = rng.randrange(10)
        if kind < 4:
            return ""
        if kind < 8:
            return spaces()
        return spaces(1) + rng.choice(OTHER_SPACE) + spaces(1)

    def unknown() -> str:
        kind = rng.randrange(8)
        if kind == 0:
            return rng.choice(commands).upper()
        if kind == 1:
            return rng.choice(commands) + rng.choice(unknown_chars + wide)
        if kind == 2:
            return rng.choice(commands)[:-1]
        if kind == 3:
            return rng.choice(commands) + rng.choice(OTHER_SPACE)
        if kind == 4:
            return "".join(rng.choice(wide) for _ in range(rng.randrange(1, 6)))
        if kind == 5:
            base = rng.choice(commands)
            return base + "a" * (rng.choice([254, 255, 256, 300]) - len(base))
        if kind == 6:
            return rng.choice(wide) * rng.choice([254, 255, 256])
        return "".join(rng.choice(unknown_chars) for _ in range(rng.randrange(1, 12)))

    def name() -> str:
        kind = rng.randrange(10)
        if kind < 4:
            return rng.choice(commands)
        if kind < 6:
            return "info"
        if kind < 9:
            return unknown()
        return ""

    def separator() -> str:
        return rng.choice(
            ["", " ", "\t", "\n", "\v", "\f", "\r", "  ", "/", "\x00", rng.choice(OTHER_SPACE)]
        )

    def tail() -> str:
        return rng.choice(
            [
                "",
                "",
                "10i $pc",
                "0x1000",
                "-f arg",
                rng.choice(subcommands),
                rng.choice(subcommands) + separator() + "-a",
                unknown(),
                "\x00quit",
                rng.choice(wide),
            ]
        )

    lines = picked[:count]
    while len(lines) < count:
        kind = rng.randrange(20)
        if kind == 0:  # blank to QEMU, or nearly
            line = "".join(rng.choice(C_SPACE + "\x00") for _ in range(rng.randrange(6)))
        elif kind == 1:  # only spaces C does not know
            line = "".join(
                rng.choice(OTHER_SPACE + list(C_SPACE)) for _ in range(rng.randrange(1, 5))
            )
        elif kind < 8:  # info and a subcommand, or not
            sub = rng.choice([rng.choice(subcommands)] * 3 + [unknown(), "", "info"])
            line = lead() + "info" + separator() + lead() + sub + separator() + tail()
        else:
            line = lead() + name() + separator() + tail()
        lines.append(line)
    return lines


def compare(perl: str, pm: Path, py: Path, count: int, seed: int) -> dict[str, int]:
    """Run `count` lines through both modules; every answer must agree. Returns tallies."""
    module = load_module(py, f"hmp_perms_{py.parent.name}")
    lines = hostile_lines(random.Random(seed), module, count)
    answers, tables = perl_answers(perl, pm, lines)
    assert tables == {
        "default": module.DEFAULT_PERMISSION,
        "commands": dict(module.PERMISSIONS),
        "info": dict(module.INFO_PERMISSIONS),
        "deprecated": dict(module.DEPRECATED),
        "warnings": [],
    }
    tally = {"blank": 0, "default": 0, "known": 0, "info": 0, "proxmox differs": 0}
    for line, (name, level, level_of_bytes) in zip(lines, answers, strict=True):
        expected_name = outcome(module.command_name, line)
        expected_level = outcome(module.required_permission, line)
        assert perl_outcome(name) == expected_name, (line, name)
        assert perl_outcome(level) == expected_level, (line, level)
        # Undecoded UTF-8 is not what the module takes, yet it fails no wider: every
        # name in the table is ASCII and shorter than 255.
        assert perl_outcome(level_of_bytes) == expected_level, (line, level_of_bytes)
        if expected_name[0] == "die":
            assert expected_name == ("die", BLANK)
            tally["blank"] += 1
        elif expected_name[1] == "info":
            tally["info"] += 1
        proxmox = PROXMOX_NAME.match(line)
        if expected_name[0] == "die" or proxmox is None or proxmox[1] != expected_name[1]:
            tally["proxmox differs"] += 1
        tally["default" if expected_level[1] == module.DEFAULT_PERMISSION else "known"] += 1
    return tally


def test_perl_and_python_agree_on_3000_lines(perl: str) -> None:
    tally = compare(perl, GENERATED / "HMPPerms.pm", GENERATED / "hmp_perms.py", 3000, 20260417)
    assert tally["blank"] >= 100, tally
    assert tally["info"] >= 500, tally
    assert tally["known"] >= 500 and tally["default"] >= 1000, tally
    assert tally["proxmox differs"] >= 1000, tally


@pytest.mark.parametrize("case", CASES)
def test_perl_and_python_agree_on_the_golden_tables(perl: str, case: str) -> None:
    folder = GOLDEN / case
    tally = compare(perl, folder / "HMPPerms.pm", folder / "hmp_perms.py", 500, 7)
    assert tally["known"] >= 50 and tally["default"] >= 250, tally


def run_perl(perl: str, code: str, module: Path = GENERATED / "HMPPerms.pm") -> str:
    script = (
        "use strict; use warnings; my @w; $SIG{__WARN__} = sub { push @w, @_ };"
        f" require $ARGV[0]; {code}; print 'warnings: ', scalar(@w), \"\\n\";"
    )
    result = subprocess.run(
        [perl, "-w", "-e", script, str(module)], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return result.stdout


def test_undef_and_references_die(perl: str) -> None:
    code = (
        "for my $f (qw(command_name required_permission)) {"
        f" my $sub = {PACKAGE}->can($f);"
        " for my $arg (undef, [], {}, \\'quit', sub { 1 }) {"
        '  my $ok = eval { $sub->($arg); 1 }; print $ok ? "lived\\n" : $@; }'
        ' my $ok = eval { $sub->(); 1 }; print $ok ? "lived\\n" : $@; }'
    )
    out = run_perl(perl, code)
    undef, ref = "{}() takes a string, not undef\n", "{}() takes a string, not a reference\n"
    expected = ""
    for function in ("command_name", "required_permission"):
        expected += undef.format(function) + ref.format(function) * 4 + undef.format(function)
    assert out == expected + "warnings: 0\n"


def test_numbers_are_lines_and_a_blank_line_fails_closed(perl: str) -> None:
    code = (
        f"print {PACKAGE}::required_permission($_), qq(\\n) for 0, 42, '', ' ', qq(\\0);"
        f" print eval {{ {PACKAGE}::command_name(' ') }} // $@;"
        f" print {PACKAGE}::command_name(0), qq(\\n);"
    )
    assert run_perl(perl, code) == "root\n" * 5 + f"{BLANK}\n0\nwarnings: 0\n"


#: A module in the layout of Proxmox VE's own (written here): groups apart, rationale
#: comments above some entries, help after each, the description grouped at run time.
PROXMOX_LAYOUT = r"""package PVE::API2::Qemu::HMPPerms;

use v5.36;

# Which monitor command needs which privilege.
#
# 'root' reaches the host, 'none' is harmless.
our $hmp_command_perms = {
    help => 'none', # show the help
    '?' => 'none', # short-form of 'help'
    info => 'none', # show the state

    # root-only: writes a file the caller names
    backup => 'root', # create a VM backup
    # root-only: opens host files
    drive_add => 'root', # add drive
    # root-only: tells host addresses
    gpa2hpa => 'Sys.Modify', # print the host physical address
    'chardev-add' => 'root', # add chardev
    # root-only: writes a file the caller names
    wavcapture => 'root', # capture audio to a wave file

    cont => 'Sys.Modify', # resume emulation
    c => 'Sys.Modify', # short-form of 'cont'
    stopcapture => 'Sys.Modify', # stop capture
    # not root-only: it only reads
    'qom-get' => 'Sys.Modify', # print QOM property
};

sub generate_description() {
    my $cmd_by_priv = {};
    for my $cmd (sort keys $hmp_command_perms->%*) {
        my $priv = $hmp_command_perms->{$cmd};
        $cmd_by_priv->{$priv} = [] if !exists($cmd_by_priv->{$priv});

        push $cmd_by_priv->{$priv}->@*, $cmd;
    }
    my $none_cmds = delete($cmd_by_priv->{none})
        or die "no commands for 'none'";
    my $root_only_cmds = delete($cmd_by_priv->{'root'})
        or die "no commands for 'root'";

    my $text = '';
    $text .= "The following commands do not require any additional privilege: "
        . join(', ', $none_cmds->@*) . "\n\n";

    for my $priv (sort keys $cmd_by_priv->%*) {
        $text .= "The following commands require '$priv': "
            . join(', ', $cmd_by_priv->{$priv}->@*) . "\n\n";
    }

    $text .= "The following commands are root-only: " . join(', ', $root_only_cmds->@*) . "\n";

    $text .= "\nThe following commands are deprecated: stopcapture, wavcapture\n";

    return $text;
}

1;
"""
ADOPTED = """\
[generate]
outputs = { "HMPPerms.pm" = "HMPPerms.pm" }

[scope]
patterns = ["debian-10.0.*-x86_64", "debian-10.0.*-aarch64"]
vendors = ["pve"]
"""


def test_adopting_keeps_the_consumers_module_but_for_the_subs_that_judge_lines(
    tmp_path: Path, perl: str, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "HMPPerms.pm"
    module.write_text(PROXMOX_LAYOUT)
    monkeypatch.chdir(tmp_path)
    assert cli("init", "--from-perl", module, "--vendor", "pve").status == 0
    (tmp_path / "hmp-perms.toml").write_text(ADOPTED)
    result = cli("generate")
    assert result.status == 0, result.err
    after = module.read_text()
    # What judges lines (and %deprecated) is new; the rest is measured line by line.
    head, judging = after.split("\n# Deprecated commands", 1)
    assert judging.endswith("\n}\n\n1;\n") and "sub required_permission {" in judging
    diff = list(difflib.ndiff(PROXMOX_LAYOUT.splitlines(), (head + "\n1;").splitlines()))
    removed = [line[2:] for line in diff if line.startswith("- ")]
    added = [line[2:] for line in diff if line.startswith("+ ")]
    assert removed == [
        "# Which monitor command needs which privilege.",
        "# 'root' reaches the host, 'none' is harmless.",
        "",  # the blank lines between groups
        "",
        "    my $none_cmds = delete($cmd_by_priv->{none})",
        "        or die \"no commands for 'none'\";",
        "    my $root_only_cmds = delete($cmd_by_priv->{'root'})",
        "        or die \"no commands for 'root'\";",
    ]
    # the header (4), the levels (2), the description's two lines, $default_permission (3)
    assert len(added) == 11, added
    # perl holds the same hash and says the same description, deprecations included
    before = tmp_path / "before.pm"
    before.write_text(PROXMOX_LAYOUT)
    assert perl_answers_of(perl, before) == perl_answers_of(perl, module)
    # Perl's \s and $ are not QEMU's reading: the code uses neither.
    code = judging.split("\nmy $name_re = ", 1)[1]
    assert "\\s" not in code and "$/" not in code


def perl_answers_of(perl: str, module: Path) -> str:
    script = (
        "require $ARGV[0]; my $h = $PVE::API2::Qemu::HMPPerms::hmp_command_perms;"
        ' print map { "$_=$h->{$_}\\n" } sort keys %$h;'
        " print PVE::API2::Qemu::HMPPerms::generate_description();"
    )
    return subprocess.run(
        [perl, "-w", "-e", script, str(module)], capture_output=True, text=True, check=True
    ).stdout
