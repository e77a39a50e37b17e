"""Generate stage: every ``templates/NAME.j2`` into an output ``NAME`` (``_*`` are macros),
in memory. Templates get sorted plain data (`context`) and make literals and comments only
through the filters of `generator.core.text`."""

from __future__ import annotations

import re
import traceback
from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError

from generator.core import text
from generator.core.errors import HmpPermsError
from generator.core.model import Build, Snapshot, Table
from generator.generate.context import template_context

SUFFIX = ".j2"
#: PEP 263: a comment on line 1 or 2 that names the codec Python decodes the file with.
ENCODING_DECLARATION = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.ASCII)


def perl_key(name: str) -> str:
    """A hash key as Perl reads it before ``=>`` or in ``{}``: bare where Perl quotes it."""
    return name if re.fullmatch(r"[A-Za-z_]\w*", name, re.ASCII) else text.perl_literal(name)


def render_templates(
    table: Table, templates_dir: str, records: Sequence[tuple[Build, Snapshot]] = ()
) -> dict[str, str]:
    """Output name -> content, for every template in `templates_dir`."""
    root = Path(templates_dir)
    if not root.is_dir():
        raise HmpPermsError(f"{templates_dir}: no such templates directory")
    names = sorted(
        p.name for p in root.iterdir() if p.name.endswith(SUFFIX) and not p.name.startswith("_")
    )
    if not names:
        raise HmpPermsError(f"{templates_dir}: no *{SUFFIX} templates")
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(
        comment=text.comment,
        perl=text.perl_literal,
        py=repr,  # a Python literal (a string, or a tuple of them) that reads back as it
        one_line=text.one_line,
        md=text.md_cell,
        md_text=text.md_text,
        md_code=text.md_code,
        html_comment=text.html_comment,
        py_lines=text.python_lines,
        perl_lines=text.perl_lines,
        perl_key=perl_key,
    )
    context = template_context(table, records)
    outputs = {}
    for name in names:
        try:
            outputs[name.removesuffix(SUFFIX)] = env.get_template(name).render(context)
        except TemplateError as exc:
            # A syntax error has its line; a render-time error's is in Jinja's traceback.
            frames = traceback.extract_tb(exc.__traceback__)
            lines = [f.lineno for f in frames if f.filename.endswith("/" + name)]
            line = getattr(exc, "lineno", None) or (lines[-1] if lines else None)
            where = f"{templates_dir}/{name}" + (f":{line}" if line else "")
            raise HmpPermsError(f"{where}: {exc.message or exc}") from None
    for name, content in outputs.items():
        for number, line in enumerate(content.split("\n", 2)[:2], 1):
            if ENCODING_DECLARATION.match(line):
                raise HmpPermsError(
                    f"{templates_dir}/{name}{SUFFIX}: line {number} of its output would declare a"
                    f" source encoding (PEP 263): {line[:60]!r}; keep table text off lines 1-2"
                )
    return outputs
