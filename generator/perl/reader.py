"""Reading a Perl permission module without running it, for the forms such modules use.

Entry point: `read_module`. The forms are those of Proxmox's ``HMPPerms.pm`` and of
the module `generate` writes: ``package``, ``use`` of strict, warnings, utf8 or a
Perl version, subs, ``our $hmp_command_perms = { name => 'level', ... };`` and
other variables holding literals, then ``1;``. Perl is the truth: anything that
could make perl hold another hash than the one read here (here-documents,
``q``-quoting, POD, a pattern operator, code run at load, a use of the hash other
than a plain read) is refused with its line, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from generator.core.errors import HmpPermsError, Location

NAME = "hmp_command_perms"
PRAGMAS = ("strict", "warnings", "utf8")
QUOTE_LIKE = ("q", "qq", "qw", "qr", "m", "s", "y", "tr")
#: Words that run or load code perl does not show here.
REFUSED_WORDS = ("eval", "do", "require", "no", "format", "BEGIN", "INIT", "CHECK", "UNITCHECK")
WORD = re.compile(r"[A-Za-z_]\w*(?:(?:::|')\w+)*(?:::)?")
VAR = re.compile(r"[$@%&*](?:::)?[A-Za-z_]\w*(?:(?:::|')\w+)*(?:::)?|\$[+!@/\\,;.0-9&]")
NUMBER = re.compile(r"v\d+(?:\.\d+)+|\d[\d_]*(?:\.\d[\d_]*)?")
OPERATOR = re.compile(
    r"//=|<=>|\.\.\.|[-+*/.|&^%]=|\|\|=|&&=|=>|->|//|\|\||&&|==|!=|=~|!~|<=|>=|\+\+|--|\*\*"
    r"|\.\.|<<|[-=;,(){}\[\].+*!?:\\&|^~%<>@$/`]"
)
REFUSED_OPERATORS = {
    "//=": "'//=' is not read",
    "<<": "a here-document (or a shift) is not read",
    "<": "'<' (a comparison, or a readline or glob) is not read",
    "<=": "'<=' is not read",
    "/=": "'/=' (a division, or a pattern) is not read",
    "/": "a lone '/' (a division, or a pattern) is not read",
    "`": "a command in backticks is not read",
}
#: What a double-quoted string may hold after a backslash, and what it means.
ESCAPES = {"n": "\n", "t": "\t", "0": "\0", "\\": "\\", '"': '"', "$": "$", "@": "@"}
#: A sentence naming deprecated commands, as in Proxmox's generate_description.
DEPRECATED = re.compile(r"\bdeprecated: ([A-Za-z0-9_?-]+(?:, [A-Za-z0-9_?-]+)*)")


class Token(NamedTuple):
    kind: str  # word, var, str, regex, num, op, comment
    text: str  # a string's value; a comment's text after '#'
    line: int
    alone: bool = False  # a comment with nothing before it on its line


class Entry(NamedTuple):
    key: str
    value: str
    line: int
    above: tuple[str, ...]  # the comment lines just above it
    after: str  # the comment after it on its line


class Module(NamedTuple):
    perms: tuple[Entry, ...]
    deprecated: dict[str, str | None]  # name -> the version the module gives, if any
    sentence_line: int  # where the deprecated sentence is, 0 if none


def read_module(path: str, text: str) -> Module:
    """The permission hash of the module `text` (from `path`), as perl holds it."""
    return _Parser(path, _tokens(path, text)).module()


def _tokens(path: str, text: str) -> list[Token]:
    tokens: list[Token] = []
    i, line, start = 0, 1, 0  # start: where the current line starts

    def refuse(what: str) -> HmpPermsError:
        return HmpPermsError(what, Location(path, line))

    while i < len(text):
        c = text[i]
        if i == start and c == "=" and text[i + 1 : i + 2].isalpha():
            raise refuse("POD (a line starting with '=') is not read")
        if c == "\n":
            i, line, start = i + 1, line + 1, i + 1
        elif c in " \t" or text.startswith("\r\n", i):
            i += 1
        elif c == "#":
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            alone = not text[start:i].strip()
            tokens.append(Token("comment", text[i + 1 : end].strip(), line, alone))
            i = end
        elif c in "'\"":
            j = i + 1
            while j < len(text) and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            if j >= len(text):
                raise refuse("a string that does not end")
            raw = text[i + 1 : j]
            value = re.sub(r"\\([\\'])", r"\1", raw) if c == "'" else _interpolated(raw, refuse)
            tokens.append(Token("str", value, line))
            line += raw.count("\n")
            i = j + 1
        elif m := NUMBER.match(text, i):
            tokens.append(Token("num", m[0], line))
            i = m.end()
        elif m := WORD.match(text, i):
            word, i = m[0], m.end()
            if word in ("__END__", "__DATA__"):
                break
            if re.match(r"[ \t]*=>", text[i:]):
                tokens.append(Token("word", word, line))  # a key: perl quotes it
            elif "'" in word:
                raise refuse(f'{word!r}: "\'" as a package separator is not read')
            elif word == "qr" and text.startswith("/", i):
                m = re.compile(r"((?:[^/\\\n]|\\.)*)/[msixpn]*").match(text, i + 1)
                if not m or re.search(r"[$@]|\(\?\??\{", m[1]):
                    raise refuse("a qr// pattern that interpolates or runs code is not read")
                tokens.append(Token("regex", m[1], line))
                i = m.end()
            elif word in QUOTE_LIKE and re.match(r"\s*(#[^\n]*\n\s*)*=>", text[i:]):
                raise refuse(
                    f"{word!r} on a line before its '=>': perl 5.36 reads a key, older perls"
                    f" a quoting operator; put the key on the arrow's line, or quote it"
                )
            elif word in QUOTE_LIKE:
                raise refuse(f"{word!r}: quoting and pattern operators are not read")
            elif word in REFUSED_WORDS:
                raise refuse(f"{word!r} runs or loads code the importer does not read")
            else:
                tokens.append(Token("word", word, line))
        elif c == "$" and text.startswith("$#", i):
            raise refuse("'$#' is not read")
        elif m := VAR.match(text, i):
            if m[0].endswith("::") or m[0][1:].startswith("::"):
                raise refuse(
                    f"{m[0]!r}: a symbol table reaches any variable by a name built at run time"
                )
            tokens.append(Token("var", m[0], line))
            i = m.end()
        elif m := OPERATOR.match(text, i):
            if m[0] in REFUSED_OPERATORS:
                raise refuse(REFUSED_OPERATORS[m[0]])
            tokens.append(Token("op", m[0], line))
            i = m.end()
        else:
            raise refuse(f"{c!r} outside a comment or string is not read")
    return tokens


def _interpolated(raw: str, refuse: Callable[[str], HmpPermsError]) -> str:
    """A double-quoted string's value; a plain ``$name`` in it is kept as it is."""
    out, i = [], 0
    while i < len(raw):
        c = raw[i]
        if c == "\\":
            if raw[i + 1 : i + 2] not in ESCAPES:
                raise refuse(f"the escape {raw[i : i + 2]!r} in a string is not read")
            out.append(ESCAPES[raw[i + 1]])
            i += 2
            continue
        if c == "$" or (c == "@" and re.match(r"[\w{$:]", raw[i + 1 : i + 2])):
            m = re.compile(r"\$[A-Za-z_]\w*").match(raw, i)
            if not m or re.match(r"\[|\{|->|::|'[A-Za-z_]", raw[m.end() : m.end() + 2]):
                raise refuse("a string interpolating more than a plain $name is not read")
        out.append(c)
        i += 1
    return "".join(out)


class _Parser:
    """The statements at file scope, the hash's entries, and every use of the hash."""

    def __init__(self, path: str, tokens: list[Token]) -> None:
        self.path, self.tokens, self.i = path, tokens, 0
        self.code = [t for t in tokens if t.kind != "comment"]
        self.definition: Token | None = None

    def refuse(self, token: Token | None, what: str) -> HmpPermsError:
        line = token.line if token else (self.tokens[-1].line if self.tokens else 1)
        return HmpPermsError(what, Location(self.path, line))

    def take(self, *texts: str) -> Token:
        """The next token that is not a comment; one of `texts` when given."""
        while self.i < len(self.tokens) and self.tokens[self.i].kind == "comment":
            self.i += 1
        if self.i == len(self.tokens):
            raise self.refuse(None, "the module ends inside a statement")
        token = self.tokens[self.i]
        self.i += 1
        if texts and (token.kind not in ("op", "word", "var") or token.text not in texts):
            raise self.refuse(token, f"expected {' or '.join(map(repr, texts))} here")
        return token

    def module(self) -> Module:
        perms: tuple[Entry, ...] | None = None
        deprecated: dict[str, str | None] = {}
        strict, count = False, 0
        while any(t.kind != "comment" for t in self.tokens[self.i :]):
            first, count = self.take(), count + 1
            if first.text == "package" and count == 1:
                self.take_kind("word"), self.take(";")
            elif first.text == "use":
                what = self.take()
                if what.text not in PRAGMAS and what.kind != "num":
                    raise self.refuse(
                        what, f"'use {what.text}' loads code the importer does not read"
                    )
                version = tuple(int(n) for n in re.findall(r"\d+", what.text))
                strict |= what.text == "strict" or (what.kind == "num" and version >= (5, 12))
                self.skip_to(";")
            elif not strict:
                raise self.refuse(
                    first, "no 'use strict' first: a name built at run time could reach the hash"
                )
            elif first.text == "sub":
                self.take_kind("word")
                if self.take("(", "{").text == "(":
                    self.skip_to(")")
                    self.take("{")
                self.skip_to("}")
            elif first.text == "our" and self.peek(f"${NAME}", "=", "{"):
                if perms is not None:
                    raise self.refuse(first, f"${NAME} is defined twice")
                self.definition = self.take()
                self.take(), self.take()
                perms = self.entries("}")
                self.take(";")
            elif first.text == "our" and self.peek("%deprecated", "=", "("):
                self.take(), self.take(), self.take()
                deprecated.update({e.key: e.value for e in self.entries(")")})
                self.take(";")
            elif first.text in ("our", "my"):
                self.take_kind("var"), self.take("=")
                self.literal()
            elif first.text == "1":
                self.take(";")
            else:
                raise self.refuse(first, "a statement at file scope the importer does not read")
        if perms is None:
            raise self.refuse(None, f"no 'our ${NAME} = {{ ... }};' found")
        self.check_uses()
        line = 0
        for token in self.code:
            if token.kind == "str" and (m := DEPRECATED.search(token.text)):
                line = line or token.line
                for name in m[1].split(", "):
                    deprecated.setdefault(name, None)
        return Module(perms, deprecated, line)

    def take_kind(self, kind: str) -> Token:
        token = self.take()
        if token.kind != kind:
            raise self.refuse(token, f"expected a {kind} here, not {token.text!r}")
        return token

    def peek(self, *texts: str) -> bool:
        ahead = [t for t in self.tokens[self.i : self.i + 8] if t.kind != "comment"]
        return [t.text for t in ahead[: len(texts)]] == list(texts)

    def skip_to(self, end: str) -> None:
        """Past `end` at this depth: a statement's rest, or a sub's body."""
        depth = 0
        while (token := self.take()).kind != "op" or token.text != end or depth:
            if token.kind == "op" and token.text in "({[":
                depth += 1
            elif token.kind == "op" and token.text in ")}]":
                depth -= 1
                if depth < 0:
                    raise self.refuse(token, f"{token.text!r} closes more than was opened")

    def literal(self) -> None:
        """A variable's value at file scope: strings, patterns, numbers, lists, hashes."""
        while (token := self.take()).text != ";" or token.kind != "op":
            if token.kind == "op" and token.text in (".", ",", "=>", "(", ")", "{", "}"):
                continue
            if token.kind in ("str", "regex", "num"):
                continue
            if token.kind == "word" and self.peek("=>"):
                continue
            raise self.refuse(token, f"{token.text!r}: only literals may stand at file scope")

    def entries(self, end: str) -> tuple[Entry, ...]:
        entries: list[Entry] = []
        above: list[Token] = []
        while True:
            token = self.tokens[self.i] if self.i < len(self.tokens) else None
            if token is not None and token.kind == "comment":
                self.i += 1
                if token.alone:
                    above = (
                        [*above, token] if above and above[-1].line == token.line - 1 else [token]
                    )
                elif entries and entries[-1].line == token.line:
                    entries[-1] = entries[-1]._replace(after=token.text)
                continue
            key = self.take()
            if key.kind == "op" and key.text == end:
                return tuple(entries)
            if key.kind not in ("word", "str"):
                raise self.refuse(key, f"{key.text!r}: a key is a word or a quoted string")
            arrow, value = self.take("=>"), self.take()
            if value.kind != "str":
                raise self.refuse(value, f"{value.text!r}: a value is a quoted string")
            if not key.line == arrow.line == value.line:
                raise self.refuse(key, "a key, its '=>' and its value are read on one line only")
            comments = tuple(c.text for c in above if above[-1].line == key.line - 1)
            entries.append(Entry(key.text, value.text, key.line, comments, ""))
            above = []
            if self.take(",", end).text == end:
                return tuple(entries)

    def check_uses(self) -> None:
        """Every use of the hash outside its definition reads it, as Proxmox's subs do."""
        code = self.code
        for k, token in enumerate(code):
            if NAME not in token.text:
                continue
            if token.kind in ("str", "regex"):
                raise self.refuse(token, f"a string naming {NAME} could reach it by name")
            if token.text == f"${NAME}" and token.kind == "var":
                if token is not self.definition and not self.is_read(k):
                    raise self.refuse(
                        token,
                        f"${NAME} is used here other than as a plain read: only its"
                        " definition may set it",
                    )
            else:
                raise self.refuse(token, f"{token.text!r} is not read: spell it ${NAME}")

    def is_read(self, k: int) -> bool:
        code = self.code
        at = [t.text for t in code[k + 1 : k + 6]] + [""] * 5
        before = [code[k - 1].text if k > 0 else "", code[k - 2].text if k > 1 else ""]
        if before[0] == "keys" and at[:3] == ["->", "%", "*"]:
            return at[3] in (")", ";")  # keys $h->%*
        if before == ["%", "keys"]:
            return at[0] in (")", ";")  # keys %$h
        if at[:2] != ["->", "{"] or at[3] != "}" or code[k + 3].kind not in ("var", "word", "str"):
            return False
        after = at[4]  # $h->{KEY} then this
        if before[0] == "=":
            return after in (";", "//", "||")
        if before == ["{", "->"]:
            return after == "}"
        if before[0] in ("exists", "defined") or (
            before[0] == "(" and before[1] in ("exists", "defined")
        ):
            return after in (")", ";", "&&", "||")
        return False
