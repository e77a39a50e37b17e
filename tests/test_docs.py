"""The documentation's promise list names tests that exist."""

from __future__ import annotations

import ast
import re

from tests.conftest import ROOT

SECTION = "## Promises and the tests that hold them"


def test_every_test_the_promise_list_names_exists() -> None:
    text = (ROOT / "docs" / "tests.md").read_text()
    section = re.split(r"^## ", text.split(SECTION, 1)[1], flags=re.M)[0]
    named = set(re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", section))
    assert len(named) > 100, "the promise list names too few tests: is it still there?"
    missing = []
    for path, name in sorted(named):
        file = ROOT / path
        tree = ast.parse(file.read_text()) if file.is_file() else ast.Module(body=[])
        defined = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        if name not in defined:
            missing.append(f"{path}::{name}")
    assert missing == [], f"docs/tests.md names tests that do not exist: {missing}"
