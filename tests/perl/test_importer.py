"""import-perl reads the forms permission modules are written in, as perl holds them,
or refuses the module in one line naming where.

The modules here are written in the shapes of Proxmox's HMPPerms.pm and of the one
`generate` writes; where a test compares with perl, perl evaluates the module.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import GENERATED, Result

# Prints the package's $hmp_command_perms as JSON after loading the file.
DRIVER = r"""
use JSON::PP;
my ($file, $package) = @ARGV;
do $file or die "cannot load: $@";
no strict 'refs';
print JSON::PP->new->canonical->encode(${"${package}::hmp_command_perms"});
"""

HASH = """\
our $hmp_command_perms = {
    help => 'none', # show the help
    '?' => 'none', # short-form of 'help'
    info => 'none', # show various information about the system state

    # root-only: writes to a file the caller names
    logfile => 'root', # output logs to 'filename'
    # root-only: host address leak
    gpa2hpa => 'Sys.Modify', # print the host physical address
    # root-only: because migrate is
    'migrate_incoming' => 'root',
    migrate => 'Sys.Modify', # migrate to URI
    'savevm-start' => 'root', # vendor's own

    cont => 'Sys.Modify', # resume emulation
    c => 'Sys.Modify', # short-form of 'cont'
    stop => 'Sys.Modify',
    s => 'Sys.Modify', # short-form of 'stop'
    # stops an audio capture
    stopcapture => 'Sys.Modify',
    x => 'Sys.Modify', # virtual memory dump
};
"""
SUBS = """\
sub generate_description() {
    my $cmd_by_priv = {};
    for my $cmd (sort keys $hmp_command_perms->%*) {
        my $priv = $hmp_command_perms->{$cmd};
        push $cmd_by_priv->{$hmp_command_perms->{$cmd}}->@*, $cmd;
    }
    my $text = join('', map { "The following commands require '$_'.\\n" } keys $cmd_by_priv->%*);
    $text .= "\\nThe following commands are deprecated: stopcapture\\n";
    return $text;
}
"""
MODULE = "package PVE::API2::Qemu::HMPPerms;\n\nuse v5.36;\n\n" + HASH + "\n" + SUBS + "\n1;\n"
IN_SUB = "sub later {\n    {}\n}\n"  # the placeholder a decoy statement replaces

#: Each decoy: a statement in a sub (on line 40), and what its refusal must say.
DECOYS = {
    "arrow-write": ("$hmp_command_perms->{migrate} = 'none';", "other than as a plain read"),
    "sigil-write": ("$$hmp_command_perms{migrate} = 'none';", "other than as a plain read"),
    "slice-write": ("@{$hmp_command_perms}{'migrate'} = ('none');", "plain read"),
    "hash-write": ("%$hmp_command_perms = ();", "other than as a plain read"),
    "defined-or-write": ("$hmp_command_perms->{migrate} //= 'none';", "'//=' is not read"),
    "delete": ("delete $hmp_command_perms->{migrate};", "other than as a plain read"),
    "alias-through-a-call": ("f($hmp_command_perms->{migrate});", "plain read"),
    "reference": ("my $r = \\$hmp_command_perms->{migrate};", "plain read"),
    "qualified": ("$PVE::API2::Qemu::HMPPerms::hmp_command_perms = {};", "not read"),
    "by-name": ('my $n = "hmp_command_perms";', "could reach it by name"),
    "braced-name": ("${hmp_command_perms}->{migrate} = 'none';", "not read"),
    "symbol-table": ("my $g = $PVE::API2::Qemu::HMPPerms::{'x'};", "symbol table"),
    "main-symbol-table": ("my $g = $::{'PVE::'};", "symbol table"),
    "string-eval": ('eval "1";', "'eval' runs or loads code"),
    "heredoc": ("my $t = <<'EOT';\nour $hmp_command_perms = {};\nEOT", "here-document"),
    "q-quoting": ("my $t = q{ migrate => 'none' };", "quoting and pattern operators"),
    "qq-quoting": ("my $t = qq{ x };", "quoting and pattern operators"),
    "qw-quoting": ("my @t = qw(a b);", "quoting and pattern operators"),
    "transliteration": ("$t =~ tr/a/b/;", "quoting and pattern operators"),
    "y-operator": ("$t =~ y/a/b/;", "quoting and pattern operators"),
    "substitution": ("$t =~ s/a/b/e;", "quoting and pattern operators"),
    "match": ("$t =~ m{a};", "quoting and pattern operators"),
    "division-or-pattern": ("my $t = 1 / 2;", "a lone '/'"),
    "interpolated-code": ('my $t = "@{[ 1 ]}";', "interpolating more than a plain $name"),
    "compile-time-block": ("BEGIN { 1 }", "'BEGIN' runs or loads code"),
}
#: The reads docs/table.md names, each in a sub: the import takes the module as it is.
READS = (
    "my @k = (keys %$hmp_command_perms);",
    "my $x = $hmp_command_perms->{'migrate'} // 'root';",
    "my $y = $x->{$hmp_command_perms->{$x}};",
    "return 1 if exists $hmp_command_perms->{$x};",
    "return 1 if defined($hmp_command_perms->{x}) && 1;",
)
#: Decoys at file scope: the module's text, the line refused, what the line must say.
FILE_SCOPE = {
    "y-then-arrow-on-the-next-line": (
        MODULE.replace(
            "    x => 'Sys.Modify', # virtual memory dump\n};\n",
            "    y\n    => 'none',\n};\n$hmp_command_perms->{migrate} = 'none';\n",
        ),
        25,
        "perl 5.36 reads a key, older perls a quoting operator",
    ),
    "write-after-definition": (
        MODULE + "$hmp_command_perms->{migrate} = 'none';\n",
        40,
        "file scope",
    ),
    "defined-twice": (MODULE + HASH, 40, "defined twice"),
    "quoted-name-defined": (
        MODULE.replace("our $hmp_command_perms", "our '$hmp_command_perms'"),
        5,
        "could reach it by name",
    ),
    "no-strict": (MODULE.replace("use v5.36;", "use warnings;"), 5, "no 'use strict' first"),
    "no-strict-later": (MODULE.replace("sub generate", "no strict;\nsub generate"), 28, "'no'"),
    "other-module": (
        MODULE.replace("use v5.36;", "use v5.36;\nuse Filter::Simple;"),
        4,
        "'use Filter::Simple'",
    ),
    "code-before-hash": (MODULE.replace("our $hmp", "return 1;\nour $hmp"), 5, "file scope"),
    "second-package": (MODULE.replace("our $hmp", "package Other;\nour $hmp"), 5, "file scope"),
    "quoted-key-over-lines": (
        MODULE.replace("    x => 'Sys.Modify'", "    x\n    => 'Sys.Modify'"),
        25,
        "one line",
    ),
    "computed-level": (
        MODULE.replace("'root', # output logs", "'ro' . 'ot', # output logs"),
        11,
        "expected ','",
    ),
    "pod": (
        MODULE.replace("sub gen", "=pod\n\nour $hmp_command_perms = {};\n\n=cut\n\nsub gen"),
        28,
        "POD",
    ),
    "pod-head": (MODULE.replace("sub gen", "=head1 OLD\n\n=cut\n\nsub gen"), 28, "POD"),
}


def perl_hash(perl: str, path: Path) -> dict[str, str]:
    run = subprocess.run(
        [perl, "-e", DRIVER, str(path.resolve()), "PVE::API2::Qemu::HMPPerms"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return dict(json.loads(run.stdout))


def imported(cli: Callable[..., Result], source: Path, *options: str) -> tuple[dict, Result]:  # type: ignore[type-arg]
    out = source.with_suffix(".yaml")
    result = cli("import-perl", source, "-o", out, *options)
    assert result.status == 0, result.err
    return YAML().load(out.read_text()), result


def levels(doc: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {
        n: e["permission"] for k, e in doc["commands"].items() for n in [k, *e.get("aliases", [])]
    }


@pytest.mark.perl
@pytest.mark.parametrize("module", ["proxmox-form", "generated-module"])
def test_import_reads_the_levels_perl_holds(
    tmp_path: Path, perl: str, cli: Callable[..., Result], module: str
) -> None:
    source = tmp_path / "HMPPerms.pm"
    source.write_text(
        MODULE if module == "proxmox-form" else (GENERATED / "HMPPerms.pm").read_text()
    )
    doc, _ = imported(cli, source)
    assert levels(doc) == perl_hash(perl, source)


def test_import_keeps_order_comments_deprecations_and_says_what_it_borrowed(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    source = tmp_path / "HMPPerms.pm"
    source.write_text(MODULE)
    doc, result = imported(cli, source)
    commands = doc["commands"]
    assert list(commands) == [
        "help", "info", "logfile", "gpa2hpa", "migrate_incoming", "migrate", "savevm-start",
        "cont", "stop", "stopcapture", "x",
    ]  # fmt: skip
    assert commands["help"]["aliases"] == ["?"] and commands["cont"]["aliases"] == ["c"]
    assert commands["logfile"]["rationale"] == "root-only: writes to a file the caller names"
    assert commands["stopcapture"]["deprecated"] == {}
    assert commands["logfile"]["note"] == "output logs to 'filename'"  # the comment after it
    assert doc["info-subcommands"] == "inherit"  # the module has no per-subcommand levels
    text = source.with_suffix(".yaml").read_text()
    assert "no reason given" not in text
    # no comment above: the curated rationale at the same level, else a todo
    assert commands["stop"]["rationale"] == "Pauses the VM."
    assert commands["stop"]["borrowed"] is True and "borrowed" not in commands["logfile"]
    assert "todo" in commands["migrate"] and "rationale" not in commands["migrate"]
    notes = result.err.splitlines()
    assert (
        f"{source}:13: the comment above 'gpa2hpa' says root-only, its level is 'Sys.Modify'"
        in notes[0]
    )
    assert any("no comment above help, info, " in n and "curated table" in n for n in notes)
    assert any(
        n.endswith("no recorded build has savevm-start (--vendor NAME marks them)") for n in notes
    )


def test_import_with_a_vendor_marks_and_declares_it(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    source = tmp_path / "HMPPerms.pm"
    source.write_text(MODULE)
    doc, _ = imported(cli, source, "--vendor", "pve")
    assert doc["vendors"] == {"pve": {"package": "^pve-qemu-kvm"}}
    assert doc["commands"]["savevm-start"]["vendor"] == "pve"
    assert "vendor" not in doc["commands"]["migrate"]


def test_the_generated_module_imports_back_with_its_deprecations(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    source = tmp_path / "HMPPerms.pm"
    source.write_text((GENERATED / "HMPPerms.pm").read_text())
    doc, _ = imported(cli, source)
    assert doc["commands"]["wavcapture"]["deprecated"] == {"since": "10.2"}
    assert doc["commands"]["balloon"]["rationale"].startswith("Asks the guest to give memory back")


@pytest.mark.parametrize("statement", READS)
def test_import_accepts_the_plain_reads_of_the_hash(
    tmp_path: Path, cli: Callable[..., Result], statement: str
) -> None:
    source = tmp_path / "HMPPerms.pm"
    source.write_text(MODULE.replace("\n1;\n", "\n" + IN_SUB.replace("{}", statement) + "\n1;\n"))
    doc, _ = imported(cli, source)
    assert doc["commands"]["migrate"]["permission"] == "Sys.Modify"


def refused(tmp_path: Path, cli: Callable[..., Result], text: str, line: int, says: str) -> None:
    source = tmp_path / "HMPPerms.pm"
    source.write_text(text)
    result = cli("import-perl", source, "-o", tmp_path / "out.yaml")
    assert (result.status, result.out) == (2, "")
    assert len(result.err.splitlines()) == 1 and result.err.startswith(
        f"hmp-perms: {source}:{line}: "
    )
    assert says in result.err
    assert not (tmp_path / "out.yaml").exists()


@pytest.mark.parametrize("case", sorted(DECOYS))
def test_import_refuses_what_could_change_the_hash_in_a_sub(
    tmp_path: Path, cli: Callable[..., Result], case: str
) -> None:
    statement, says = DECOYS[case]
    module = MODULE.replace("\n1;\n", "\n" + IN_SUB.replace("{}", statement) + "\n1;\n")
    refused(tmp_path, cli, module, 40, says)


@pytest.mark.parametrize("case", sorted(FILE_SCOPE))
def test_import_refuses_what_could_change_the_hash_at_file_scope(
    tmp_path: Path, cli: Callable[..., Result], case: str
) -> None:
    refused(tmp_path, cli, *FILE_SCOPE[case])


@pytest.mark.perl
def test_perl_reads_a_key_where_y_precedes_the_arrow_and_the_import_refuses(
    tmp_path: Path, perl: str, cli: Callable[..., Result]
) -> None:
    """Perl's own reading of the case, so the refusal is not of something perl rejects."""
    text = FILE_SCOPE["y-then-arrow-on-the-next-line"][0]
    source = tmp_path / "HMPPerms.pm"
    source.write_text(text)
    theirs = perl_hash(perl, source)
    assert theirs["y"] == "none" and theirs["migrate"] == "none"
    refused(tmp_path, cli, *FILE_SCOPE["y-then-arrow-on-the-next-line"])
