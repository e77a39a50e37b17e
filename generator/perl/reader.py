"""Perl import stage: a permission module read as perl holds it, without running it
(`read_module`); what could make perl hold another hash is refused, never guessed."""

from __future__ import annotations

import re
from typing import NamedTuple

from generator.core.errors import HmpPermsError, Location

NAME = "hmp_command_perms"
PRAGMAS = ("strict", "warnings", "utf8")
QUOTE_LIKE = ("q", "qq", "qw", "qr", "m", "s", "y", "tr")
#: Words that run or load code perl does not show here.
REFUSED_WORDS = ("eval", "do", "require", "no", "format", "BEGIN", "INIT", "CHECK", "UNITCHECK")
_NAME = r"[A-Za-z_]\w*(?:(?:::|')\w+)*(?:::)?"
#: One token; the first group that matches names its kind, and anything else is refused.
TOKEN = re.compile(
    r"(?P<newline>\n)|(?P<space>[ \t]+|\r(?=\n))|#(?P<comment>[^\n]*)"
    r"|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<unended>['\"])"
    r"|(?P<num>v\d+(?:\.\d+)+|\d[\d_]*(?:\.\d[\d_]*)?)"
    rf"|(?P<key>{_NAME})(?=[ \t]*=>)"  # perl quotes a word before '=>' on its line
    r"|qr/(?P<regex>(?:[^/\\\n]|\\.)*)/[msixpn]*"
    rf"|(?P<word>{_NAME})"
    rf"|(?P<var>[$@%&*](?:::)?{_NAME}|[$@%&*]::|\$[+!@/\\,;.0-9&])"
    r"|(?P<op>\$\#|//=|<=>|\.\.\.|[-+*/.|&^%]=|\|\|=|&&=|=>|->|//|\|\||&&|==|!=|=~|!~|<=|>=|\+\+"
    r"|--|\*\*|\.\.|<<|[-=;,(){}\[\].+*!?:\\&|^~%<>@$/`])",
    re.S,
)
#: After a quote-like word: its '=>' on a later line (perl 5.36 reads a key there).
ARROW_BELOW = re.compile(r"\s*(#[^\n]*\n\s*)*=>")
REFUSED_OPERATORS = {
    "$#": "'$#' is not read",
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
#: In a double-quoted string: an escape, a plain ``$name`` (kept as it is), or a
#: sigil that interpolates more (possessive, so ``$name[0]`` is not ``$nam``).
INTERPOLATION = re.compile(
    r"\\(.?)|(\$[A-Za-z_]\w*+(?!\[|\{|->|::|'[A-Za-z_]))|\$|@(?=[\w{$:])", re.S
)
#: The reads Proxmox's subs make of the hash: ``keys``, a copy, a subscript, a test.
#: Matched against the tokens around it, spaced, the hash as ``$H``, a string as ``''``.
READS = re.compile(
    r" keys (?:\$H -> % \*|% \$H) [);] "
    r"| = \$H -> \{ KEY \} (?:;|//|\|\|) "
    r"| -> \{ \$H -> \{ KEY \} \} "
    r"| (?:exists|defined) (?:\( )?\$H -> \{ KEY \} (?:\)|;|&&|\|\|) ".replace(
        "KEY", r"(?:[$@%&*]\S+|[A-Za-z_]\S*|'')"
    )
)
#: A sentence naming deprecated commands, as in Proxmox's generate_description.
DEPRECATED = re.compile(r"\bdeprecated: ([A-Za-z0-9_?-]+(?:, [A-Za-z0-9_?-]+)*)")


class Token(NamedTuple):
    kind: str  # word, var, str, regex, num, op
    text: str  # a string's value
    line: int


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
    return _Parser(path, text).module()


def _tokens(path: str, text: str) -> tuple[list[Token], dict[int, str], dict[int, str]]:
    """The code's tokens; the comments alone on their line, and those after code, by line."""
    tokens: list[Token] = []
    alone: dict[int, str] = {}
    after: dict[int, str] = {}
    i, line, start = 0, 1, 0  # start: where the current line starts

    def refuse(what: str) -> HmpPermsError:
        return HmpPermsError(what, Location(path, line))

    def unescape(m: re.Match[str]) -> str:
        """In a double-quoted string: an escape's value; a plain ``$name`` is kept."""
        if m[0].startswith("\\"):
            if m[1] not in ESCAPES:
                raise refuse(f"the escape {m[0]!r} in a string is not read")
            return ESCAPES[m[1]]
        if m[2] is None:
            raise refuse("a string interpolating more than a plain $name is not read")
        return m[0]

    while i < len(text):
        if i == start and text[i] == "=" and text[i + 1 : i + 2].isalpha():
            raise refuse("POD (a line starting with '=') is not read")
        if (m := TOKEN.match(text, i)) is None:
            raise refuse(f"{text[i]!r} outside a comment or string is not read")
        kind, value, i = m.lastgroup or "", m[m.lastgroup or 0], m.end()
        if kind == "newline":
            line, start = line + 1, i
        elif kind == "comment":
            (after if text[start : m.start()].strip() else alone)[line] = value.strip()
        elif kind == "str":
            raw = value[1:-1]
            if value[0] == "'":
                value = re.sub(r"\\([\\'])", r"\1", raw)
            else:
                value = INTERPOLATION.sub(unescape, raw)
            tokens.append(Token("str", value, line))
            line += raw.count("\n")
        elif kind == "unended":
            raise refuse("a string that does not end")
        elif kind == "regex" and re.search(r"[$@]|\(\?\??\{", value):
            raise refuse("a qr// pattern that interpolates or runs code is not read")
        elif kind == "word" and value in ("__END__", "__DATA__"):
            break
        elif kind == "word" and "'" in value:
            raise refuse(f'{value!r}: "\'" as a package separator is not read')
        elif kind == "word" and value in QUOTE_LIKE and ARROW_BELOW.match(text, i):
            raise refuse(
                f"{value!r} on a line before its '=>': perl 5.36 reads a key, older perls"
                " a quoting operator; put the key on the arrow's line, or quote it"
            )
        elif kind == "word" and value in QUOTE_LIKE:
            raise refuse(f"{value!r}: quoting and pattern operators are not read")
        elif kind == "word" and value in REFUSED_WORDS:
            raise refuse(f"{value!r} runs or loads code the importer does not read")
        elif kind == "var" and (value.endswith("::") or value[1:].startswith("::")):
            raise refuse(
                f"{value!r}: a symbol table reaches any variable by a name built at run time"
            )
        elif kind == "op" and value in REFUSED_OPERATORS:
            raise refuse(REFUSED_OPERATORS[value])
        elif kind != "space":
            tokens.append(Token("word" if kind == "key" else kind, value, line))
    return tokens, alone, after


class _Parser:
    """The statements at file scope, the hash's entries, and every use of the hash."""

    def __init__(self, path: str, text: str) -> None:
        self.path, self.i = path, 0
        self.tokens, self.alone, self.after = _tokens(path, text)  # comments by line
        self.definition: Token | None = None

    def refuse(self, token: Token | None, what: str) -> HmpPermsError:
        line = token.line if token else (self.tokens[-1].line if self.tokens else 1)
        return HmpPermsError(what, Location(self.path, line))

    def take(self, *texts: str, kind: str = "") -> Token:
        """The next token: one of `texts` (a word, variable or operator) or of `kind`."""
        if self.i == len(self.tokens):
            raise self.refuse(None, "the module ends inside a statement")
        token = self.tokens[self.i]
        self.i += 1
        if texts and (token.kind not in ("op", "word", "var") or token.text not in texts):
            raise self.refuse(token, f"expected {' or '.join(map(repr, texts))} here")
        if kind and token.kind != kind:
            raise self.refuse(token, f"expected a {kind} here, not {token.text!r}")
        return token

    def peek(self, *texts: str) -> bool:
        return [t.text for t in self.tokens[self.i : self.i + len(texts)]] == list(texts)

    def module(self) -> Module:
        perms: list[Entry] | None = None
        deprecated: dict[str, str | None] = {}
        strict = False
        while self.i < len(self.tokens):
            first = self.take()
            if first.text == "package" and self.i == 1:
                self.take(kind="word"), self.take(";")
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
                self.take(kind="word")
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
            elif first.text == "our" and self.peek("%deprecated", "=", "("):
                self.take(), self.take(), self.take()
                deprecated.update((e.key, e.value) for e in self.entries(")"))
            elif first.text in ("our", "my"):
                self.take(kind="var"), self.take("=")
                self.literal()
            elif first.text == "1":
                self.take(";")
            else:
                raise self.refuse(first, "a statement at file scope the importer does not read")
        if perms is None:
            raise self.refuse(None, f"no 'our ${NAME} = {{ ... }};' found")
        self.check_uses()
        line = 0
        for token in self.tokens:
            if token.kind == "str" and (m := DEPRECATED.search(token.text)):
                line = line or token.line
                for name in m[1].split(", "):
                    deprecated.setdefault(name, None)
        return Module(tuple(perms), deprecated, line)

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
            if token.kind in ("str", "regex", "num") or (token.kind == "word" and self.peek("=>")):
                continue
            raise self.refuse(token, f"{token.text!r}: only literals may stand at file scope")

    def entries(self, end: str) -> list[Entry]:
        """``key => 'value',`` up to `end` and the ``;`` after it, each on one line with
        the comment lines right above it and the comment after it."""
        entries = []
        while not ((key := self.take()).kind == "op" and key.text == end):
            if key.kind not in ("word", "str"):
                raise self.refuse(key, f"{key.text!r}: a key is a word or a quoted string")
            arrow, value = self.take("=>"), self.take()
            if value.kind != "str":
                raise self.refuse(value, f"{value.text!r}: a value is a quoted string")
            if not key.line == arrow.line == value.line:
                raise self.refuse(key, "a key, its '=>' and its value are read on one line only")
            first = key.line
            while first - 1 in self.alone:
                first -= 1
            above = tuple(self.alone[n] for n in range(first, key.line))
            entries.append(
                Entry(key.text, value.text, key.line, above, self.after.get(key.line, ""))
            )
            if self.take(",", end).text == end:
                break
        self.take(";")
        return entries

    def check_uses(self) -> None:
        """Every use of the hash outside its definition is one of the reads `READS` lists."""
        for k, token in enumerate(self.tokens):
            if NAME not in token.text:
                continue
            if token.kind in ("str", "regex"):
                raise self.refuse(token, f"a string naming {NAME} could reach it by name")
            if token.kind != "var" or token.text != f"${NAME}":
                raise self.refuse(token, f"{token.text!r} is not read: spell it ${NAME}")
            window = [
                "$H" if t is token else "''" if t.kind in ("str", "regex") else t.text
                for t in self.tokens[max(k - 2, 0) : k + 6]
            ]
            if token is not self.definition and not READS.search(f" {' '.join(window)} "):
                raise self.refuse(
                    token,
                    f"${NAME} is used here other than as a plain read: only its"
                    " definition may set it",
                )
