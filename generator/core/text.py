"""Foundation: what a loaded string may hold (`unprintable`), and one escaper per
destination, which reports and templates use for any text they output."""

from __future__ import annotations

import re
import textwrap

#: Controls, line and paragraph separators, zero-width and bidi formatting (text that
#: reads otherwise than it is, or spells hidden text: the tags U+E0000-U+E007F),
#: byte-order marks, non-characters, surrogates.
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ufffe\uffff\ud800-\udfff\U000e0000-\U000e007f]"
)


def unprintable(text: str, allow: str = "") -> re.Match[str] | None:
    """The first character of `text` no loaded string may hold, `allow`'s aside."""
    return next((m for m in _UNPRINTABLE.finditer(text) if m[0] not in allow), None)


def describe_char(char: str) -> str:
    """How an error names a character: ``U+001B``."""
    return f"U+{ord(char):04X}"


def one_line(text: str) -> str:
    """Any text as a single line: every run of whitespace and controls is one space."""
    return " ".join(_UNPRINTABLE.sub(" ", text).split())


def _lines_kept(text: str) -> str:
    """Any text with its line breaks kept and every other unprintable character a space."""
    return _UNPRINTABLE.sub(lambda m: m[0] if m[0] == "\n" else " ", text)


def terminal(text: str) -> str:
    """A line a terminal shows as it is: each character Python does not call printable
    shown as its escape (``\\x1b``)."""
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


# What could start markup (emphasis, links, code, strikethrough, the `://` of a
# bare autolink; angle brackets are HTML, below), end a table cell, or escape the
# escaping; `_` inside a word starts nothing.
_MD_SPECIAL = re.compile(r"[\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|:(?=//)")


def _md_escape(text: str) -> str:
    text = _MD_SPECIAL.sub(lambda m: "\\" + m[0], text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def md_cell(text: str) -> str:
    """Text for one Markdown table cell: one line, no markup, no HTML, no cell break."""
    return _md_escape(one_line(text))


_CODE_SPAN = re.compile(r"`([^`]+)`")


def md_text(text: str) -> str:
    """As `md_cell`, but a pair of backticks stays a code span: a rationale's `info`
    reads as code."""
    out, at = [], 0
    for m in _CODE_SPAN.finditer(text := one_line(text)):
        out += [_md_escape(text[at : m.start()]), md_code(m[1])]
        at = m.end()
    return "".join([*out, _md_escape(text[at:])])


def md_code(text: str) -> str:
    """Text as a Markdown code span in a table cell (GFM ends a cell even there at `|`)."""
    text = one_line(text).replace("|", "\\|")
    fence = "`" * (max((len(r) for r in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def html_comment(text: str) -> str:
    """Text inside ``<!-- -->``, its lines kept: no `--`, so nothing in it ends the comment,
    and no `>` at its start, which would end it at once."""
    text = _lines_kept(text)
    while "--" in text:
        text = text.replace("--", "- -")
    return " " + text if text.startswith((">", "->")) else text


#: Characters XML 1.0 cannot carry at all, even escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """XML character data (xml.sax.saxutils would import urllib: 20 ms a run)."""
    text = _XML_INVALID.sub("\ufffd", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_attr(text: str) -> str:
    """An XML attribute value, quotes included; line breaks kept as character references."""
    escaped = xml_text(text).replace('"', "&quot;")
    return '"' + escaped.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;") + '"'


def github_message(text: str) -> str:
    """The message of a workflow command (``::error ...::MESSAGE``): lines kept, escaped."""
    text = _lines_kept(text)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """A property value of a workflow command (``file=``, ``title=``): one line."""
    return github_message(one_line(text)).replace(":", "%3A").replace(",", "%2C")


def comment(text: str, prefix: str = "# ", width: int = 79) -> str:
    """Text as comment lines, each starting with `prefix`: folded to one line, then
    wrapped at spaces (a longer word stands whole on its own line)."""
    wrap = textwrap.wrap(
        one_line(text), width - len(prefix), break_long_words=False, break_on_hyphens=False
    )
    return "\n".join((prefix + line).rstrip() for line in wrap or [""])


def yaml_comment(text: str) -> str:
    """One YAML comment line, ``# text``."""
    return ("# " + one_line(text)).rstrip()


def perl_literal(text: str) -> str:
    """A Perl single-quoted literal: only backslash and quote are special there."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _pieces(text: str, width: int = 72) -> list[str]:
    """`text` cut after spaces into pieces of about `width`: a long string as literals."""
    pieces: list[str] = []
    for line in text.splitlines(True):
        piece = ""
        for word in re.split("(?<= )", line):  # each word with the space after it
            if piece and len(piece) + len(word) > width:
                pieces.append(piece)
                piece = ""
            piece += word
        pieces.append(piece)
    return pieces


def python_lines(value: str, indent: str = "    ") -> str:
    """A text as adjacent Python literals, one line of code each."""
    return "\n".join(indent + repr(piece) for piece in _pieces(value))


def perl_lines(value: str, indent: str = "    ") -> str:
    """A text as Perl literals joined by ``.``, one line of code each; line ends as
    ``"\\n"``, since a single-quoted Perl string has no escapes."""
    parts = []
    for piece in _pieces(value):
        body = piece.removesuffix("\n")
        literals = [perl_literal(body)] if body else []
        if body != piece:
            literals.append('"\\n"')
        parts.append(indent + " . ".join(literals))
    return " .\n".join(parts)


def yaml_string(text: str) -> str:
    """A single-quoted YAML scalar on one line."""
    return "'" + one_line(text).replace("'", "''") + "'"
