"""Reading a Perl module as Perl does, without running it: PPI, in a perl subprocess.

Entry point: `read_hash`. It hands the module's text to `perl` on stdin, where
the script below parses it with PPI (Debian: libppi-perl), finds the statement
``our $hmp_command_perms = { ... };`` and prints its entries as JSON, or the
first thing it cannot prove, as a line and a message. PPI works on statements
and tokens, so a copy of the hash in a string, a here-document, POD or a
comment is never taken for code, and a definition split over lines is read.

What the script refuses, each as ``file:line: what``: a parse PPI calls
incomplete or cannot place; a value that is not a plain string literal (a
double-quoted one without variables or escapes is plain); a second definition,
or one not at file scope; any use of the variable that is not a read it can
prove harmless (``$hmp_command_perms->{$name}`` as a subscript, under
``exists``, or as a ``my`` variable's value; ``keys`` of the hash), so no write,
``delete``, reference or alias; code it cannot see (string ``eval``, ``do FILE``,
``s///e``, an expression inside a string or pattern such as ``"$h{ eval $x }"``,
``@{[ ... ]}`` or ``(?{ ... })``, modules other than strict, warnings and utf8,
``BEGIN`` blocks); a symbol table reached by a sigil (``%Hostile::``,
``${Hostile::}``); a
dereference by name (``${...}``, ``$$x``, ``*{...}``) where ``use strict`` is not
in force; code before the hash other than declarations of literals; and
the places where Perl and PPI read text differently (a lone carriage return,
POD inside a statement, POD begun by ``=cut`` or ended by ``=cut2``, a ``<<~``
terminator indented with other than spaces and tabs, odd whitespace).

The run is bounded: `TIMEOUT` seconds, `MAX_MEMORY` bytes of address space,
`MAX_OUTPUT` bytes of output (a file size limit on its stdout and stderr files), and perl's own environment
switches (PERL5OPT and the like) are dropped so that they cannot load code.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from typing import IO, Any

from generator.core.errors import HmpPermsError, SourceInfo
from generator.perl.ppi_document import PERL as DOCUMENT
from generator.perl.ppi_hash import PERL as HASH

TIMEOUT = 60  # seconds; PPI reads Proxmox's module in a fraction of one
MAX_OUTPUT = 64 * 1024 * 1024  # bytes of perl's stdout or stderr
#: Bytes of address space perl may take: a module of a few hundred lines needs
#: tens of MB, while a small one nested 100,000 deep took PPI 6 GB in 60 s.
MAX_MEMORY = 1024 * 1024 * 1024
INSTALL = "apt-get install libppi-perl"
#: Variables that make perl load or run code, or read stdin as other than bytes.
_PERL_SWITCHES = ("PERL5OPT", "PERL5DB", "PERL_UNICODE", "PERLIO")


@dataclass(frozen=True)
class Entry:
    key: str
    level: str
    line: int
    comments: tuple[str, ...]  # the comment lines just above it, in order
    help: str  # the comment at the end of its line


@dataclass(frozen=True)
class Hash:
    line: int  # where the definition starts
    entries: tuple[Entry, ...]


def read_hash(path: str, text: str) -> Hash:
    """The permission hash of the module `text` (read from `path`), as PPI reads it."""
    perl = shutil.which("perl")
    if perl is None:
        raise HmpPermsError(
            f"{path}: import-perl reads the module with perl and PPI, and perl is not"
            f" installed: apt-get install perl libppi-perl"
        )
    answer = _answer(path, _run(path, perl, text.encode("utf-8")))
    if "missing" in answer:
        raise HmpPermsError(
            f"{path}: import-perl reads the module with Perl's PPI module, which is not"
            f" installed: {INSTALL}"
        )
    if "error" in answer:
        error = answer["error"]
        line, message = error.get("line"), error.get("message")
        if type(line) is not int or not isinstance(message, str):
            raise _bad_answer(path, "an error without a line and a message")
        raise HmpPermsError(" ".join(message.split()), SourceInfo(path, max(line, 1)))
    return _hash(path, answer)


def _run(path: str, perl: str, source: bytes) -> bytes:
    env = {k: v for k, v in os.environ.items() if k not in _PERL_SWITCHES}

    def limit_output() -> None:  # in the child, before perl starts
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_OUTPUT, MAX_OUTPUT))
        resource.setrlimit(resource.RLIMIT_AS, (MAX_MEMORY, MAX_MEMORY))

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            done = subprocess.run(
                [perl, "-e", SCRIPT],
                input=source,
                stdout=out,
                stderr=err,
                env=env,
                timeout=TIMEOUT,
                preexec_fn=limit_output,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise HmpPermsError(
                f"{path}: perl did not finish reading it with PPI in {TIMEOUT} s"
            ) from None
        except OSError as exc:
            raise HmpPermsError(f"{path}: cannot run perl: {exc.strerror or exc}") from None
        said = _head(err, 2000).decode("utf-8", "replace")
        if done.returncode == -signal.SIGXFSZ:
            raise HmpPermsError(
                f"{path}: perl wrote more than {MAX_OUTPUT:,} bytes reading it with PPI; stopped"
            )
        if done.returncode != 0:
            how = f"exit {done.returncode}" if done.returncode > 0 else f"signal {-done.returncode}"
            reason = " ".join(said.split()) or "nothing on stderr"
            raise HmpPermsError(f"{path}: perl failed reading it with PPI ({how}): {reason}")
        return _head(out, MAX_OUTPUT)


def _head(file: IO[bytes], size: int) -> bytes:
    file.seek(0)
    return file.read(size)


def _bad_answer(path: str, what: str) -> HmpPermsError:
    return HmpPermsError(f"{path}: perl's PPI reader gave an answer this tool cannot use: {what}")


def _answer(path: str, output: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(output.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _bad_answer(path, f"not JSON ({output[:60]!r})") from None
    if not isinstance(answer, dict):
        raise _bad_answer(path, "not a JSON object")
    return answer


def _hash(path: str, answer: dict[str, Any]) -> Hash:
    line, items = answer.get("line"), answer.get("entries")
    if type(line) is not int or not isinstance(items, list):
        raise _bad_answer(path, "no line and entries")
    entries = []
    for item in items:
        if not isinstance(item, dict):
            raise _bad_answer(path, "an entry that is not an object")
        key, level, at, comments, help_text = (
            item.get(k) for k in ("key", "level", "line", "comments", "help")
        )
        if not (
            isinstance(key, str)
            and isinstance(level, str)
            and type(at) is int
            and isinstance(help_text, str)
            and isinstance(comments, list)
            and all(isinstance(c, str) for c in comments)
        ):
            raise _bad_answer(path, "an entry without key, level, line, comments and help")
        entries.append(Entry(key, level, at, tuple(comments), help_text))
    return Hash(line, tuple(entries))


# The Perl side, in two halves (the module, then the hash). It reads bytes and
# prints bytes: a module without `use utf8` is bytes to Perl too, and the JSON
# carries them through unchanged.
SCRIPT = DOCUMENT + HASH
