"""The table's JSON Schema: for editors, and in step with the loader, which stays the authority."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from generator.core import model
from generator.table import loader
from generator.table.loader import lint_table
from tests.conftest import ROOT, TABLE, tool
from tests.table.test_loader import GOOD, swap

SCHEMA = ROOT / "schema" / "hmp-commands.schema.json"
GOLDEN = ROOT / "tests" / "golden"


def validate(*files: Path) -> dict[str, list[str]]:
    """check-jsonschema's complaints, by file; a file it accepts has none."""
    result = subprocess.run(
        [tool("check-jsonschema"), "-o", "JSON", "--schemafile", str(SCHEMA), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 1), result.stderr
    errors: dict[str, list[str]] = {str(f): [] for f in files}
    for error in json.loads(result.stdout)["errors"]:
        errors[error["filename"]].append(f"{error['path']}: {error['message']}")
    assert (result.returncode == 1) == any(errors.values())
    return errors


def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA.read_text())
    return data


def test_schema_is_valid_json_schema() -> None:
    result = subprocess.run(
        [tool("check-jsonschema"), "--check-metaschema", str(SCHEMA)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_table_names_its_schema_for_editors() -> None:
    first = TABLE.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schema/hmp-commands.schema.json"
    assert (TABLE.parent / first.split("=", 1)[1]).resolve() == SCHEMA


def test_schema_lists_exactly_the_loader_fields() -> None:
    """When a field is added to or dropped from the loader, the schema must follow."""
    s, defs = schema(), schema()["$defs"]
    assert list(s["properties"]) == list(loader.TOP_KEYS)
    assert list(defs["level"]["properties"]) == list(loader.LEVEL_KEYS)
    assert list(defs["vendor"]["properties"]) == list(loader.VENDOR_KEYS)
    assert list(defs["command"]["properties"]) == list(loader.COMMAND_KEYS)
    assert list(defs["info"]["properties"]) == list(loader.INFO_KEYS)
    deprecated = defs["command"]["properties"]["deprecated"]
    assert list(deprecated["properties"]) == list(loader.DEPRECATED_KEYS)
    assert defs["info"]["properties"]["deprecated"] == deprecated
    assert s["properties"]["schema"]["enum"] == [loader.SCHEMA, str(loader.SCHEMA)]
    if "targets" in defs["command"]["properties"]:
        targets = defs["command"]["properties"]["targets"]["items"]["enum"]
        assert targets == sorted(loader.QEMU_TARGETS)


def test_schema_patterns_are_the_loader_patterns() -> None:
    s, defs = schema(), schema()["$defs"]
    assert defs["name"]["pattern"] == f"^{model.NAME_RE.pattern}$"
    assert s["properties"]["levels"]["propertyNames"]["pattern"] == f"^{loader.LEVEL_RE.pattern}$"
    assert s["properties"]["vendors"]["propertyNames"]["pattern"] == f"^{loader.VENDOR_RE.pattern}$"
    if "config" in defs["command"]["properties"]:
        config = defs["command"]["properties"]["config"]["pattern"]
        assert config == f"^{loader.CONFIG_RE.pattern}$"


def test_every_good_table_passes(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    tables = [TABLE, good, *sorted(GOLDEN.glob("*/table.yaml"))]
    for path in tables:
        assert lint_table(str(path)) == []
    assert validate(*tables) == {str(t): [] for t in tables}


BROKEN = [
    ("unknown key", swap("    aliases: [c]\n", "    aliases: [c]\n    alias: [x]\n"), "'alias'"),
    ("bad name", swap("  cont:\n", "  'co nt':\n"), "does not match"),
    (
        "no permission",
        swap("    permission: Sys.Modify\n    aliases", "    aliases"),
        "'permission'",
    ),
    ("empty rationale", swap("rationale: resumes the guest", "rationale: ' '"), "does not match"),
    ("bad alias", swap("aliases: [c]", "aliases: ['c d']"), "does not match"),
    (
        "a fact in the table",
        swap("    aliases: [c]\n", "    aliases: [c]\n    since: '7.0'\n"),
        "'since'",
    ),
    (
        "info override, no rationale",
        swap("  usbhost:\n", "  usbhost:\n    permission: root\n"),
        "'rationale'",
    ),
    ("unknown top key", GOOD + "extra: 1\n", "'extra'"),
    (
        "todo left by sync",
        swap("    rationale: writes files\n", "    rationale: writes files\n    todo: x\n"),
        "todo",
    ),
    (
        "vendor without package",
        swap("pve: {package: '^pve-qemu-kvm'}", "pve: {description: x}"),
        "'package'",
    ),
    ("unknown schema", swap("schema: 2", "schema: 3"), "schema"),
]


def test_broken_tables_fail_the_schema_and_the_loader(tmp_path: Path) -> None:
    files = []
    for i, (_, text, _) in enumerate(BROKEN):
        path = tmp_path / f"broken-{i}.yaml"
        path.write_text(text)
        files.append(path)
    errors = validate(*files)
    for (what, _, needle), path in zip(BROKEN, files, strict=True):
        assert lint_table(str(path)), f"{what}: the loader accepted it"
        assert errors[str(path)], f"{what}: the schema accepted it"
        assert any(needle in e for e in errors[str(path)]), (what, errors[str(path)])
