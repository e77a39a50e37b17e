"""import-perl reads a module as Perl does (PPI), or refuses it in one line.

Each module here is also handed to perl itself: a tiny harness `require`s it and
prints the hash as JSON. import-perl must give exactly those levels, or refuse.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.perl import ppi as reader
from generator.table.loader import load_table
from tests.conftest import Result, run_ensure_deps

# Prints the package's $hmp_command_perms as a JSON object after `require`, or null.
HARNESS = r"""
use strict;
use warnings;
use JSON::PP;
my ($file, $package) = @ARGV;
require $file;
no strict 'refs';
my $perms = ${"${package}::hmp_command_perms"};
print JSON::PP->new->canonical->encode(ref($perms) eq 'HASH' ? $perms : undef);
"""

HEAD = "package Hostile;\nuse strict;\nuse warnings;\n\n"
TAIL = "\n1;\n"
# A whole table of its own, which the line-based importer took for the real one.
DECOY = (
    "our $hmp_command_perms = {\n    help => 'none',\n    quit => 'none',\n"
    "    logfile => 'root',\n};\n"
)
# The real definition, written over two lines.
TWO_LINES = (
    "our $hmp_command_perms\n"
    "  = {\n"
    "    # shows the commands\n"
    "    help => 'none', # show the help\n"
    "    quit => 'root', # quit the emulator\n"
    "};\n"
)
PERL_SEES = {"help": "none", "quit": "root"}

READ = {
    "two-lines": HEAD + TWO_LINES + TAIL,
    "decoy-in-q-string": HEAD + "my $old = q{\n" + DECOY + "};\n\n" + TWO_LINES + TAIL,
    "decoy-in-q-parens": HEAD
    + "my $old = q(\n"
    + DECOY.replace("{", "(").replace("}", ")")
    # q() nests parentheses: a balanced copy is still one string
    + ");\n"
    + TWO_LINES
    + TAIL,
    "decoy-in-heredoc-after-hash-in-string": HEAD
    + "my $mark = '#'; my $doc = <<'EOT';\n"
    + DECOY
    + "EOT\n"
    + TWO_LINES
    + TAIL,
    "decoy-in-heredoc-after-hash-in-qq": HEAD
    + 'my $mark = "#"; my $doc = <<"EOT";\n'
    + DECOY.replace("$", "\\$")
    + "EOT\n"
    + TWO_LINES
    + TAIL,
    "decoy-in-comment-and-pod": HEAD
    + "# our $hmp_command_perms = { quit => 'none' };\n=pod\n\n"
    + DECOY
    + "\n=cut\n\n"
    + TWO_LINES
    + TAIL,
    "double-quoted-and-q-values": HEAD
    + TWO_LINES.replace("'root'", '"root"').replace("'none'", "q{none}")
    + TAIL,
    "data-after": HEAD + TWO_LINES + TAIL + "__DATA__\n" + DECOY,
    "reads-after": HEAD
    + TWO_LINES
    + "sub level_of {\n    my ($cmd) = @_;\n    my $level = $hmp_command_perms->{$cmd};\n"
    "    return exists $hmp_command_perms->{$cmd} ? $level : 'root';\n}\n"
    "sub names { return sort keys %$hmp_command_perms }\n"
    "sub also { return scalar(keys(%{$hmp_command_perms})) }\n"
    "sub by { my %by; $by{ $hmp_command_perms->{$_} }++ for keys $hmp_command_perms->%*; %by }\n"
    "sub or_root { my $level = $hmp_command_perms->{$_[0]} // 'root'; return $level }\n" + TAIL,
}


def perl_sees(perl: str, path: Path) -> dict[str, str] | None:
    """What perl holds in Hostile's hash after `require`-ing the module; None if nothing."""
    run = subprocess.run(
        [perl, "-e", HARNESS, str(path.resolve()), "Hostile"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if run.returncode != 0:
        return None
    held = json.loads(run.stdout)
    assert held is None or isinstance(held, dict)
    return held


def imported(cli: Callable[..., Result], source: Path) -> dict[str, str] | None:
    """What import-perl wrote, by name (aliases too); None when it refused, in one line."""
    out = source.with_suffix(".yaml")
    result = cli("import-perl", source, "-o", out)
    if result.status != 0:
        assert result.status == 2 and result.out == ""
        assert len(result.err.splitlines()) == 1, result.err
        assert result.err.startswith(f"hmp-perms: {source}:"), result.err
        return None
    table = load_table(str(out))
    return {n: table.level_of(e) for e in table.commands.values() for n in e.names}


def module(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Hostile.pm"
    path.write_text(text)
    return path


@pytest.mark.perl
@pytest.mark.parametrize("case", sorted(READ))
def test_read_with_exactly_the_levels_perl_sees(
    tmp_path: Path, ppi_perl: str, cli: Callable[..., Result], case: str
) -> None:
    source = module(tmp_path, READ[case])
    assert perl_sees(ppi_perl, source) == PERL_SEES
    assert imported(cli, source) == PERL_SEES


@pytest.mark.perl
def test_two_line_definition_keeps_rationale_and_help(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    source = module(tmp_path, READ["two-lines"])
    result = cli("import-perl", source)
    assert result.status == 0, result.err
    assert "  help:\n    permission: none\n    rationale: shows the commands\n" in result.out
    assert (
        "  quit:\n    permission: root\n    rationale: no reason given in Hostile.pm" in result.out
    )


@pytest.mark.perl
def test_aliases_fold_by_their_help_comment(tmp_path: Path, cli: Callable[..., Result]) -> None:
    text = TWO_LINES.replace("};", "    q => 'root', # short-form of 'quit'\n};")
    source = module(tmp_path, HEAD + text + TAIL)
    result = cli("import-perl", source)
    assert result.status == 0, result.err
    assert "  quit:\n    permission: root\n    aliases: [q]\n" in result.out


def body(entries: str = "    help => 'none',\n    quit => 'root',\n") -> str:
    return "our $hmp_command_perms = {\n" + entries + "};\n"


# Each: the module, the line refused, and what the one line says.
REFUSED = {
    "value-a-variable": (HEAD + "my $r = 'root';\n" + body("    quit => $r,\n") + TAIL, 7, "not a plain string literal"),
    "value-interpolates": (HEAD + body('    quit => "r$x",\n') + TAIL, 6, "interpolates a variable"),
    "value-an-escape": (HEAD + body("    quit => 'ro\\ot',\n") + TAIL, 6, "backslash"),
    "value-a-call": (HEAD + body("    quit => lc('ROOT'),\n") + TAIL, 6, "not a plain string literal"),
    "value-a-heredoc": (HEAD + body("    quit => <<EOT,\nroot\nEOT\n") + TAIL, 6, "not a plain string literal"),
    "key-a-number": (HEAD + body("    1 => 'root',\n") + TAIL, 6, "not a plain string literal"),
    "comma-for-arrow": (HEAD + body("    'quit', 'root',\n") + TAIL, 6, "cannot read this line"),
    "second-definition": (HEAD + body() + body("    quit => 'none',\n") + TAIL, 9, "defined again (first on line 5)"),
    "my-shadow": (HEAD + body() + "my $hmp_command_perms = {};\n" + TAIL, 9, "defined again"),
    "assigned-later": (HEAD + body() + "$hmp_command_perms = { quit => 'none' };\n" + TAIL, 9, "changed outside"),
    "element-written": (HEAD + body() + "$hmp_command_perms->{quit} = 'none';\n" + TAIL, 9, "changed outside"),
    "element-substituted": (HEAD + body() + "$hmp_command_perms->{quit} =~ s/root/none/;\n" + TAIL, 9, "changed outside"),
    "element-deleted": (HEAD + body() + "delete $hmp_command_perms->{quit};\n" + TAIL, 9, "changed outside"),
    "reference-taken": (HEAD + body() + "my $p = \\$hmp_command_perms;\n" + TAIL, 9, "changed outside"),
    "ref-copied": (HEAD + body() + "my $p = $hmp_command_perms;\n$p->{quit} = 'none';\n" + TAIL, 9, "cannot prove"),
    "values-aliased": (HEAD + body() + "$_ = 'none' for values %$hmp_command_perms;\n" + TAIL, 9, "cannot prove"),
    "element-aliased": (HEAD + body() + "$_ = 'none' for $hmp_command_perms->{quit};\n" + TAIL, 9, "cannot prove"),
    "element-passed": (HEAD + body() + "sub set { $_[0] = 'none' }\nset($hmp_command_perms->{quit});\n" + TAIL, 10, "cannot prove"),
    "nested-write": (HEAD + body() + "$hmp_command_perms->{quit}{x} = 1;\n" + TAIL, 9, "cannot prove"),
    "glob": (HEAD + body() + "*hmp_command_perms = \\{};\n" + TAIL, 9, "its glob"),
    "qualified": (HEAD + body() + "$Hostile::hmp_command_perms->{quit} = 'none';\n" + TAIL, 9, "another variable"),
    "stash": (HEAD + body() + "${ *{ $Hostile::{'hmp_command_perms'} }{SCALAR} }->{quit} = 'none';\n" + TAIL, 9, "symbol table"),
    "bare-name": (HEAD + body() + "${hmp_command_perms}->{quit} = 'none';\n" + TAIL, 9, "bare word"),
    "string-eval": (HEAD + body() + "eval q{$hmp_command_perms->{quit} = 'none'};\n" + TAIL, 9, "string eval"),
    "subst-e": (HEAD + body() + "my $s = 'x'; $s =~ s/x/$hmp_command_perms->{quit} = 'none'/e;\n" + TAIL, 9, "s///e"),
    "interpolated-code": (HEAD + body() + "my $s = \"@{[ $hmp_command_perms->{quit} = 'none' ]}\";\n" + TAIL, 9, "interpolates an expression"),
    "do-file": (HEAD + body() + "do 'other.pl';\n" + TAIL, 9, "do FILE"),
    "use-module": (HEAD + "use Filter::Simple;\n" + body() + TAIL, 5, "loads code"),
    "no-strict": (HEAD + body() + "no strict 'refs';\n" + TAIL, 9, "no strict"),
    "by-name-without-strict": ("package Hostile;\n\n" + body() + "my $n = 'hmp_command_perms';\n${$n}->{quit} = 'none';\n" + TAIL, 8, "'use strict' is not in force"),
    "by-name-under-strict-vars": ("package Hostile;\nuse strict 'vars';\n" + body() + "my $n = 'x';\n$$n->{quit} = 'none';\n" + TAIL, 8, "'use strict' is not in force"),
    "by-name-above-strict": ("package Hostile;\nsub f { my $n = 'x'; *{$n} = {} }\nuse strict;\n" + body() + TAIL, 2, "'use strict' is not in force"),
    "begin-block": (HEAD + "BEGIN { }\n" + body() + TAIL, 5, "BEGIN block"),
    "code-first": (HEAD + "return 1;\n" + body() + TAIL, 5, "code before the hash"),
    "in-a-sub": (HEAD + "sub f {\n" + body() + "}\n" + TAIL, 6, "inside a block or sub"),
    "statement-modifier": (HEAD + body().replace("};", "} if 0;") + TAIL, 5, "cannot read this definition"),
    "used-before-declared": (HEAD + "sub f { return $hmp_command_perms }\n" + body() + TAIL, 5, "before it is declared"),
    "interpolated-before-declared": (HEAD + 'my $s = "$hmp_command_perms";\n' + body() + TAIL, 5, "before it is declared"),
    "pod-inside": (HEAD + body("    help => 'none',\n=pod\n\n=cut\n    quit => 'root',\n") + TAIL, 7, "POD inside a statement"),
    "lone-cr": (HEAD + body("    help => 'none', # x\r    quit => 'none',\n    quit => 'root',\n") + TAIL, 6, "carriage return"),
    "unclosed-hash": (HEAD + body().replace("};", "") + TAIL, 5, "is not closed"),
    "unclosed-heredoc": (HEAD + body() + "my $d = <<'EOT';\n" + TAIL, 9, "no terminator"),
    "control-character": (HEAD + body("\x1c   quit => 'root',\n") + TAIL, 6, "PPI cannot parse"),
    "no-hash": (HEAD + "my $doc = <<'EOT';\n" + body() + "EOT\n" + TAIL, 1, "permission hash found"),
    "not-a-name": (HEAD + body("    'qu it' => 'root',\n") + TAIL, 6, "not a QEMU command name"),
    "not-a-level": (HEAD + body("    quit => 'ro ot',\n") + TAIL, 6, "is not a plain name"),
    "listed-twice": (HEAD + body("    quit => 'root',\n    quit => 'none',\n") + TAIL, 7, "listed twice (first on line 6)"),
    # Perl ends POD at =cut and no letter; PPI at =cut and no \w: Perl read quit => 'none'.
    "pod-cut-digit": (HEAD + "=pod\n\n=cut2\n" + body("    quit => 'none',\n") + "=cut\n\n" + body() + "\n=cut\n" + TAIL, 7, "a =cut that PPI reads as POD"),
    "pod-begun-by-cut": (HEAD + "=cut\n" + body() + "=cut\n" + TAIL, 5, "begins with =cut"),
    "pod-not-a-letter": (HEAD + "=_x\n\n=cut\n" + body() + TAIL, 5, "not = and a letter"),
    # PPI ends <<~ at a terminator indented with \f; Perl does not: Perl read quit => 'none'.
    "heredoc-form-feed-indent": (HEAD + "my $d = <<~'EOT';\n\fEOT\n" + body() + "my $e = <<'1;';\nEOT\n" + body("    quit => 'none',\n") + TAIL, 5, "indented with other than spaces and tabs"),
    "subscript-code": (HEAD + body() + "my %h; my $s = \"$h{ $hmp_command_perms = {} }\";\n" + TAIL, 9, "an expression in a subscript"),
    "subscript-eval": (HEAD + body() + "my %h; my $s = \"$h{ eval $code }\";\n" + TAIL, 9, "an expression in a subscript"),
    "block-in-string": (HEAD + body() + "my $s = \"${\\ eval $code}\";\n" + TAIL, 9, "an expression in ${...}"),
    "heredoc-code": (HEAD + body() + "my $s = <<EOT;\n@{[ eval $code ]}\nEOT\n" + TAIL, 9, "an expression in ${...}"),
    "pattern-code-block": (HEAD + body() + "'x' =~ /(?{ $hmp_command_perms = {} })/;\n" + TAIL, 9, "(?{ }) code block"),
    "subst-e-eval": (HEAD + body() + "my $s = 'x'; $s =~ s/x/eval $code/e;\n" + TAIL, 9, "s///e runs its replacement"),
    "stash-in-braces": (HEAD + body() + "${ *{ ${Hostile::}{'hmp_command' . '_perms'} }{SCALAR} }->{quit} = 'none';\n" + TAIL, 9, "symbol table"),
    "stash-after-space": (HEAD + body() + "${ *{ $ Hostile::{'hmp_command' . '_perms'} }{SCALAR} }->{quit} = 'none';\n" + TAIL, 9, "symbol table"),
    "dies-before": (HEAD + "my $x = 1 / 0;\n" + body() + TAIL, 5, "code before the hash"),
    "fatal-warning-before": ("package Hostile;\nuse strict;\nuse warnings FATAL => 'all';\nmy $u;\nmy $s = \"$u\";\n" + body() + TAIL, 5, "code before the hash"),
    "defined-not-binds": (HEAD + body() + "my $r = defined $hmp_command_perms->{quit} !~ s/root/none/;\n" + TAIL, 9, "changed outside"),
    "string-bitwise-assign": (HEAD + "use v5.36;\n" + body() + "$hmp_command_perms->{quit} &.= 'none';\n" + TAIL, 10, "cannot prove"),
    "default-assigned": (HEAD + body() + "my $l = $hmp_command_perms->{quit} //= 'none';\n" + TAIL, 9, "changed outside"),
    "default-then-written": (HEAD + body() + "my $l = $hmp_command_perms->{x} // ($hmp_command_perms->{quit} = 'none');\n" + TAIL, 9, "changed outside"),
    "default-then-passed": (HEAD + body() + "sub set { $_[0] = 'none' }\nmy $l = $hmp_command_perms->{x} // set($hmp_command_perms->{quit});\n" + TAIL, 10, "cannot prove"),
}  # fmt: skip


@pytest.mark.perl
@pytest.mark.parametrize("case", ["pod-cut-digit", "heredoc-form-feed-indent"])
def test_where_perl_and_ppi_split_text_perl_reads_the_other_hash(
    tmp_path: Path, ppi_perl: str, case: str
) -> None:
    """These two are refused above because perl really holds quit => 'none' there."""
    assert perl_sees(ppi_perl, module(tmp_path, REFUSED[case][0])) == {"quit": "none"}


@pytest.mark.perl
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_ppi_cannot_prove_is_refused_in_one_line(
    tmp_path: Path, ppi_perl: str, cli: Callable[..., Result], case: str
) -> None:
    text, line, message = REFUSED[case]
    source = module(tmp_path, text)
    result = cli("import-perl", source)
    assert result.status == 2, result.out
    assert result.out == ""
    assert result.err.startswith(f"hmp-perms: {source}:{line}: "), result.err
    assert message in result.err
    assert len(result.err.splitlines()) == 1 and "Traceback" not in result.err


# -- perl itself: missing, failing, slow, talkative ------------------------------------


def fake_perl(tmp_path: Path, script: str) -> Path:
    """A directory holding a `perl` that runs `script` (sh)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    perl = folder / "perl"
    perl.write_text("#!/bin/sh\n" + script)
    perl.chmod(perl.stat().st_mode | stat.S_IXUSR)
    return folder


@pytest.mark.perl
def test_without_ppi_it_says_how_to_get_it(
    tmp_path: Path, ppi_perl: str, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "PPI.pm").write_text("die qq{Can't locate PPI.pm in \\@INC\\n};\n")
    monkeypatch.setenv("PATH", str(fake_perl(tmp_path, f'exec "{ppi_perl}" -I"{hide}" "$@"\n')))
    source = module(tmp_path, READ["two-lines"])
    result = cli("import-perl", source)
    assert result.status == 2
    assert result.err.splitlines() == [
        f"hmp-perms: {source}: import-perl reads the module with Perl's PPI module,"
        " which is not installed: apt-get install libppi-perl"
    ]


def test_without_perl_it_says_how_to_get_it(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    source = module(tmp_path, READ["two-lines"])
    result = cli("import-perl", source)
    assert result.status == 2
    assert len(result.err.splitlines()) == 1
    assert "perl is not installed: apt-get install perl libppi-perl" in result.err


def test_a_failing_perl_gives_one_line_with_its_stderr(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "PATH", str(fake_perl(tmp_path, "echo 'Out of memory!' >&2\necho more >&2\nexit 1\n"))
    )
    source = module(tmp_path, READ["two-lines"])
    result = cli("import-perl", source)
    assert result.status == 2
    assert result.err == (
        f"hmp-perms: {source}: perl failed reading it with PPI (exit 1): Out of memory! more\n"
    )


@pytest.mark.slow  # waits out a timeout or fuzzes: left out of the fast run
def test_a_slow_perl_is_stopped(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "TIMEOUT", 1)
    monkeypatch.setenv("PATH", str(fake_perl(tmp_path, f"exec {shutil.which('sleep')} 60\n")))
    source = module(tmp_path, READ["two-lines"])
    result = cli("import-perl", source)
    assert result.status == 2
    assert result.err == f"hmp-perms: {source}: perl did not finish reading it with PPI in 1 s\n"


def test_a_talkative_perl_is_cut_off(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "MAX_OUTPUT", 4096)
    monkeypatch.setenv("PATH", str(fake_perl(tmp_path, f"exec {shutil.which('yes')}\n")))
    source = module(tmp_path, READ["two-lines"])
    result = cli("import-perl", source)
    assert result.status == 2
    assert result.err == (
        f"hmp-perms: {source}: perl wrote more than 4,096 bytes reading it with PPI; stopped\n"
    )


def test_an_answer_that_is_not_json_is_refused(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(fake_perl(tmp_path, 'echo \'{"entries": 3, "line": 1}\'\n')))
    source = module(tmp_path, READ["two-lines"])
    result = cli("import-perl", source)
    assert result.status == 2
    assert "perl's PPI reader gave an answer this tool cannot use" in result.err


def test_ensure_deps_installs_ppi_when_it_is_missing(tmp_path: Path, ppi_perl: str) -> None:
    """scripts/ensure-deps names libppi-perl when perl cannot load PPI (here: no apt-get)."""
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "PPI.pm").write_text("die qq{Can't locate PPI.pm in \\@INC\\n};\n")
    folder = fake_perl(tmp_path, f'exec "{ppi_perl}" -I"{hide}" "$@"\n')
    for name in ("qemu-system-x86_64", "qemu-system-aarch64", "qemu-system-s390x",
                 "qemu-system-ppc64", "bwrap"):  # fmt: skip
        (folder / name).write_text("#!/bin/sh\n")
        (folder / name).chmod(0o755)
    result = run_ensure_deps(folder)
    assert result.returncode == 1, result
    assert result.stderr.splitlines() == [
        "missing: libppi-perl",
        "run: sudo apt-get update && sudo apt-get install -y --no-install-recommends libppi-perl",
    ]


@pytest.mark.slow  # waits out a timeout or fuzzes: left out of the fast run
@pytest.mark.perl
def test_a_module_that_makes_ppi_grow_is_stopped(
    tmp_path: Path, ppi_perl: str, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nested 100,000 deep, 200 KB took PPI 6 GB; here a smaller limit ends it sooner."""
    monkeypatch.setattr(reader, "MAX_MEMORY", 256 * 1024 * 1024)
    depth = 20000
    source = module(tmp_path, HEAD + body() + "my $x = " + "[" * depth + "]" * depth + ";\n" + TAIL)
    result = cli("import-perl", source)
    assert result.status == 2
    assert result.err == (
        f"hmp-perms: {source}: perl failed reading it with PPI (exit 1): Out of memory!\n"
    )
