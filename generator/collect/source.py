"""What a target's ``help`` and ``info`` would print, read from the C initialisers of
QEMU's ``hmp-commands.hx`` and ``hmp-commands-info.hx``, ``#if``s resolved for one
target: a name or an expression this reader does not know is an error, never a guess."""

from __future__ import annotations

import os
import re

from generator.collect.helptext import parse_help
from generator.collect.snapshot import validate_snapshot
from generator.core.errors import HmpPermsError, Location
from generator.core.files import read_text
from generator.core.model import Snapshot, Version, is_command_name
from generator.core.text import unprintable

#: Each target's ``TARGET_*`` names: meson defines its TARGET_ARCH and TARGET_BASE_ARCH.
ARCHES = {
    "x86_64": "X86_64 I386", "i386": "I386", "aarch64": "AARCH64 ARM", "arm": "ARM",
    "ppc64": "PPC64 PPC", "ppc": "PPC", "mips64": "MIPS64 MIPS", "mips64el": "MIPS64 MIPS",
    "mips": "MIPS", "mipsel": "MIPS", "riscv64": "RISCV64 RISCV", "riscv32": "RISCV32 RISCV",
    "sparc64": "SPARC64 SPARC", "sparc": "SPARC", "loongarch64": "LOONGARCH64 LOONGARCH",
    "s390x": "S390X", "alpha": "ALPHA", "avr": "AVR", "hppa": "HPPA", "m68k": "M68K",
    "microblaze": "MICROBLAZE", "microblazeel": "MICROBLAZE", "or1k": "OPENRISC", "rx": "RX",
    "sh4": "SH4", "sh4eb": "SH4", "tricore": "TRICORE", "xtensa": "XTENSA",
    "xtensaeb": "XTENSA", "cris": "CRIS", "nios2": "NIOS2", "hexagon": "HEXAGON",
}  # fmt: skip
#: ``CONFIG_*`` as Debian's builds have them (docs/collect.md): "*" for every target.
CONFIG = {
    "CONFIG_LINUX": "*", "CONFIG_POSIX": "*", "CONFIG_TCG": "*", "CONFIG_SLIRP": "*",
    "CONFIG_VNC": "*", "CONFIG_SPICE": "*", "CONFIG_PIXMAN": "*", "CONFIG_FDT": "*",
    "CONFIG_REPLICATION": "*", "CONFIG_PASST": "*",
    "CONFIG_TRACE_SIMPLE": "", "CONFIG_VMNET": "", "CONFIG_AF_XDP": "",
    "CONFIG_MOS6522": "ppc ppc64 m68k", "CONFIG_XEN_EMU": "x86_64 i386",
}  # fmt: skip
FILES = ("hmp-commands.hx", "hmp-commands-info.hx")

_DIRECTIVE = re.compile(r"\s*#\s*(\w*)\s*(.*?)\s*")
_CONDITION = re.compile(r"\s*(?:(defined)\s*(?:\(\s*(\w+)\s*\)|(\w+))|(&&|\|\||!|\(|\)))")
_TOKEN = re.compile(
    r'(?P<gap>\s+|/\*.*?\*/|//.*)|"(?P<str>(?:[^"\\]|\\.)*)"|\.(?P<key>\w+)\s*=|(?P<punct>[{},])|(?P<word>[\w&]+)'
)
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


#: Rewrites of an ``#if`` (1 and 0 for its names), tried in order until one applies.
_REWRITES = (
    (re.compile(r"!([01])"), lambda m: "1" if m[1] == "0" else "0"),
    (re.compile(r"\(([01])\)"), lambda m: m[1]),
    (re.compile(r"([01])&&([01])"), lambda m: "1" if m[0] == "1&&1" else "0"),
    (re.compile(r"(?<!&)([01])\|\|([01])(?!&)"), lambda m: "0" if m[0] == "0||0" else "1"),
)


def _evaluate(expr: str, names: dict[str, bool], where: Location, line: str) -> bool:
    """An ``#if`` expression of ``defined``, ``!``, ``&&``, ``||`` and parentheses."""
    text, pos = "", 0
    while pos < len(expr.rstrip()):
        m = _CONDITION.match(expr, pos)
        name = m and (m[2] or m[3])
        if m is None or (name and name not in names):
            what = f"{name} is not a name this reader knows" if name else "cannot be evaluated"
            hint = " (--define CONFIG_X=y|n sets one)" if name else ""
            raise HmpPermsError(f"{line}: {what}{hint}", where)
        text += ("1" if names[name] else "0") if name else m[4]
        pos = m.end()
    while text not in ("0", "1"):
        rewritten = next((p.sub(f, text, 1) for p, f in _REWRITES if p.search(text)), None)
        if rewritten is None:
            raise HmpPermsError(f"{line}: cannot be evaluated", where)
        text = rewritten
    return text == "1"


def _c_lines(path: str, names: dict[str, bool]) -> list[tuple[int, str]]:
    """The C lines a build compiles: outside SRST/ERST text, HXCOMM and false ``#if``s."""
    lines = read_text(path, untrusted=True).split("\n")
    kept: list[tuple[int, str]] = []
    stack: list[tuple[bool, bool]] = []  # per open #if: (compiling, a branch was taken)
    doc, n = False, 0
    while n < len(lines):
        line, n = lines[n], n + 1
        where = Location(path, n)
        if doc or line.startswith(("SRST", "HXCOMM")):
            doc = (doc or line.startswith("SRST")) and not line.startswith("ERST")
            continue
        on = all(s[0] for s in stack)
        if not line.lstrip().startswith("#"):
            if on:
                kept.append((n, line))
            continue
        while line.endswith("\\") and n < len(lines):
            line, n = line[:-1] + " " + lines[n], n + 1
        word, expr = _DIRECTIVE.fullmatch(line).groups()  # type: ignore[union-attr]
        if word in ("if", "ifdef", "ifndef"):
            expr = {"ifdef": f"defined({expr})", "ifndef": f"!defined({expr})"}.get(word, expr)
            value = on and _evaluate(expr, names, where, line.strip())
            stack.append((value, value))
        elif word in ("elif", "else") and stack and not (word == "elif" and expr == ""):
            value = (
                all(s[0] for s in stack[:-1])
                and not stack[-1][1]
                and (word == "else" or _evaluate(expr, names, where, line.strip()))
            )
            stack[-1] = (value, stack[-1][1] or value)
        elif word == "endif" and stack:
            stack.pop()
        else:
            raise HmpPermsError(
                f"{line.strip()}: a directive this reader does not follow here", where
            )
    if stack:
        raise HmpPermsError("an #if has no #endif", Location(path, len(lines)))
    return kept


def _unescape(text: str, where: Location) -> str:
    def one(m: re.Match[str]) -> str:
        if m[1] not in _ESCAPES:
            raise HmpPermsError(f"\\{m[1]}: an escape this reader does not know", where)
        return _ESCAPES[m[1]]

    return re.sub(r"\\(.)", one, text)


def read_table(path: str, names: dict[str, bool]) -> list[tuple[str, str, str]]:
    """Each compiled entry of an ``.hx`` file: (name, params, help)."""
    entries: list[tuple[str, str, str]] = []
    inside, entry, field = False, dict[str, str](), ""  # field: the one whose value is read
    start = 0  # the line of the entry's "{"
    for n, line in _c_lines(path, names):
        where, pos = Location(path, n), 0
        while pos < len(line):
            m = _TOKEN.match(line, pos)
            kind = (m["punct"] or m.lastgroup) if m else ""
            allowed = (
                ("gap", "key", ",", "}", *(("str", "word") if field else ()))
                if inside
                else ("gap", "{", ",")
            )
            if m is None or kind not in allowed:
                raise HmpPermsError(f"{line[pos:][:40]!r}: not an HMP command entry", where)
            pos = m.end()
            if kind == "key":
                field = m["key"]
            elif kind == "str":
                entry[field] = entry.get(field, "") + _unescape(m["str"], where)
            elif kind == "{":
                inside, field, start = True, "", n
            elif kind == ",":
                field = ""
            elif kind == "}":
                inside, field = False, ""
                name, params, text = (entry.get(f, "\0") for f in ("name", "params", "help"))
                if unprintable(name + params + text, "\n\t") or not all(
                    map(is_command_name, name.split("|"))
                ):
                    raise HmpPermsError(
                        f"entry {name!r:.40}: no .name, .params and .help QEMU could print",
                        Location(path, start),
                    )
                entries.append((name, params, text))
                entry = {}
    return entries


def listing(entries: list[tuple[str, str, str]], prefix: str = "") -> str:
    """What QEMU prints: sorted by name as ``strcmp`` sorts, ``name params -- help``."""
    ordered = sorted(entries, key=lambda e: e[0].encode())
    return "".join(f"{prefix}{name} {params} -- {text}\n" for name, params, text in ordered)


def snapshot_from_source(
    folder: str,
    target: str | None = None,
    version: str | None = None,
    package: str | None = None,
    defines: tuple[str, ...] = (),
) -> Snapshot:
    """What `target`'s build (default x86_64) of the QEMU source in `folder` would list."""
    target, package = target or "x86_64", package or ""
    if target not in ARCHES:
        raise HmpPermsError(f"--target: {target!r} is not a target: {', '.join(ARCHES)}")
    names = {f"TARGET_{a}": False for arch in ARCHES.values() for a in arch.split()}
    names |= {f"TARGET_{a}": True for a in ARCHES[target].split()}
    names |= {k: v == "*" or target in v.split() for k, v in CONFIG.items()}
    for define in defines:
        name, _, value = define.partition("=")
        if not re.fullmatch(r"CONFIG_\w+", name) or value not in ("y", "n"):
            raise HmpPermsError(f"--define {define}: CONFIG_NAME=y or CONFIG_NAME=n expected")
        names[name] = value == "y"
    commands, info = (read_table(os.path.join(folder, f), names) for f in FILES)
    where = "--qemu-version" if version else os.path.join(folder, "VERSION")
    try:
        parsed = Version.parse(version or read_text(where, untrusted=True).strip())
    except ValueError as exc:  # the file's text is not repeated: it is the tree's, untrusted
        detail = exc if version else "not a QEMU version (MAJOR.MINOR[.MICRO])"
        raise HmpPermsError(f"{where}: {detail}") from None
    raw_help, raw_info = listing(commands), listing(info, "info ")
    snap = Snapshot(
        binary=f"source:{folder}",
        version=parsed,
        package=package,
        target=target,
        commands=parse_help(raw_help, os.path.join(folder, FILES[0])),
        info=parse_help(raw_info, os.path.join(folder, FILES[1]), prefix="info "),
        raw_help=raw_help,
        raw_info=raw_info,
        variant=f"qemu-system-{target}",
        packages=(package,),
        source=folder,
    )
    validate_snapshot(snap)
    return snap
