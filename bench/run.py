"""`make bench`: the project's speed targets, each as a ratio to a baseline run here.

Every command is run as a whole process several times, alternating with its
baseline so that both see the same machine; the medians are compared. Prints
one row per target; exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
HMP = [PY, "-m", "generator"]
QEMU_ARGS = ("-machine", "none", "-nodefaults", "-no-user-config", "-display", "none", "-S")


def wall(cmd: Sequence[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def stop_time(cmd: Sequence[str], after: float) -> float:
    """Seconds from SIGTERM, sent `after` seconds into `cmd`, until it has exited (128+15)."""
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(after)
    start = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    status = proc.wait()
    elapsed = time.perf_counter() - start
    assert status == 128 + signal.SIGTERM, f"{' '.join(cmd)}: exit status {status}"
    return elapsed


def compare(runs: int, cmd: Sequence[str], base: Sequence[str]) -> tuple[float, float]:
    """Median wall time of `cmd` and of `base`, run alternately."""
    wall(cmd), wall(base)  # warm the system's file cache
    a, b = [], []
    for _ in range(runs):
        a.append(wall(cmd))
        b.append(wall(base))
    return statistics.median(a), statistics.median(b)


def timed(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def synthetic_table(factor: int, folder: Path) -> Path:
    """The real table with every command and info entry repeated `factor` times."""
    text = (ROOT / "data" / "hmp-commands.yaml").read_text()
    head, _, rest = text.partition("\ncommands:\n")
    commands, _, info = rest.partition("\ninfo:\n")
    commands = "\n".join(line for line in commands.splitlines() if not line.startswith("#"))
    blocks = re.split(r"(?m)^(?=  \S)", commands)
    info_blocks = re.split(r"(?m)^(?=  \S)", info)
    out = [head, "\ncommands:\n"]
    for i in range(factor):
        for block in blocks:
            if not block.strip():
                continue
            block = re.sub(r"(?m)^  (\S+?):", lambda m, i=i: f"  {m[1].strip(chr(39))}-{i}:", block)
            block = re.sub(r"aliases: \[.*\]", "", block)
            block = re.sub(r"follows: (\S+)", lambda m, i=i: f"follows: {m[1]}-{i}", block)
            out.append(block.rstrip("\n") + "\n")
    out.append("info:\n")
    for i in range(factor):
        for block in info_blocks:
            if block.strip():
                out.append(
                    re.sub(r"(?m)^  (\S+?):", lambda m, i=i: f"  {m[1]}-{i}:", block).rstrip("\n")
                    + "\n"
                )
    path = folder / f"table-x{factor}.yaml"
    path.write_text("".join(out))
    return path


def many_records(folder: Path, total: int = 1000) -> Path:
    """Years of records: the committed ones plus copies of them under made-up releases
    8.N.M (one made-up release per committed one, each with all its targets), each
    valid and named for its content, `total` files in all."""
    import json

    committed = sorted((ROOT / "data" / "builds").glob("*.json"))
    by_release: dict[str, list[Path]] = {}
    for path in committed:
        by_release.setdefault(path.name.split("-")[1], []).append(path)
    out = folder / "builds"
    out.mkdir()
    for path in committed:
        shutil.copy(path, out)
    count, n = len(committed), 0
    while count < total:
        for m, paths in enumerate(by_release.values()):
            version = f"8.{n}.{m}"
            for path in paths[: total - count]:
                doc = json.loads(path.read_text())
                doc["version"] = version
                flavour, _, machine = path.name.split("-", 2)
                (out / f"{flavour}-{version}-{machine}").write_text(json.dumps(doc, indent=1))
                count += 1
        n += 1
    return out


_PROXMOX_NAME = re.compile(r"^\s*(\S+)")


def proxmox_permission(line: str, table: dict[str, str]) -> str:
    """What Proxmox's API does per request: first \\S+ after leading space, a hash lookup."""
    m = _PROXMOX_NAME.match(line)
    if not m:
        return "root"
    return table.get(m.group(1)) or "root"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    rows: list[tuple[str, float, float, str]] = []

    def row(what: str, ratio: float, target: float, detail: str) -> None:
        rows.append((what, ratio, target, detail))
        mark = "ok " if ratio <= target else "MISS"
        print(f"{mark} {what:<58} {ratio:6.2f}x (target {target}x)  {detail}", flush=True)

    x86 = shutil.which("qemu-system-x86_64") or "qemu-system-x86_64"
    probe = [PY, str(ROOT / "bench" / "minimal_probe.py"), x86]

    a, b = compare(args.runs, [*HMP, "collect", "--qemu", x86], probe)
    row("collect, one binary / minimal qemu.qmp probe", a / b, 1.15, f"{a:.3f}s vs {b:.3f}s")

    four = [
        p
        for p in (
            "qemu-system-x86_64",
            "qemu-system-aarch64",
            "qemu-system-arm",
            "qemu-system-i386",
        )
        if shutil.which(p)
    ]
    four = (four + [x86] * 4)[:4]
    concurrent = [*HMP, "collect"] + [arg for b in four for arg in ("--qemu", b)]
    a, b = compare(args.runs, concurrent, [*HMP, "collect", "--qemu", x86])
    row(
        "collect, four binaries at once / one binary",
        a / b,
        1.6,
        f"{a:.3f}s vs {b:.3f}s ({', '.join(four)})",
    )

    records = len(list((ROOT / "data" / "builds").glob("*.json")))
    a, b = compare(args.runs, [*HMP, "check", "--qemu", x86], probe)
    row(
        "check, one live binary / minimal qemu.qmp probe",
        a / b,
        1.3,
        f"{a:.3f}s vs {b:.3f}s, {records} recorded builds",
    )

    every = [*HMP, "check", "--all-local"]
    names = subprocess.run(
        [*HMP, "collect", "--all-local", "--names"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    local = names.splitlines().count("cont c")
    a, b = compare(args.runs, every, [*HMP, "check", "--qemu", x86])
    row(
        "check --all-local / check of one binary",
        a / b,
        10.0,
        f"{a:.3f}s vs {b:.3f}s, {local} binaries",
    )

    stops, ones = [], []
    for _ in range(args.runs):
        stops.append(stop_time([*HMP, "check", "--all-local"], 0.15))
        ones.append(wall([*HMP, "check", "--qemu", x86]))
    a, b = statistics.median(stops), statistics.median(ones)
    row(
        "stop on SIGTERM during check --all-local / check of one",
        a / b,
        1.0,
        f"{a:.3f}s vs {b:.3f}s, sent 150 ms in, {local} binaries",
    )

    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "vm.qmp")
        vm = subprocess.Popen(
            [x86, *QEMU_ARGS, "-qmp", f"unix:{sock},server=on,wait=off"],
            stdin=subprocess.DEVNULL,
        )
        try:
            while not os.path.exists(sock):
                time.sleep(0.01)
            a, b = compare(
                args.runs, [*HMP, "collect", "--connect", sock], [*HMP, "collect", "--qemu", x86]
            )
        finally:
            vm.kill()
            vm.wait()
    row("collect --connect to a running QEMU / starting one", a / b, 1.0, f"{a:.3f}s vs {b:.3f}s")

    # The pre-commit hook: each run starts from nothing (no state is kept between runs),
    # so the median needs more runs than the others to be stable.
    imports = [PY, "-c", "import ruamel.yaml, jinja2"]
    a, b = compare(max(args.runs, 31), [*HMP, "generate", "--check"], imports)
    row(
        "generate --check / python -c 'import ruamel.yaml, jinja2'",
        a / b,
        2.2,
        f"{a:.3f}s vs {b:.3f}s, {records} recorded builds",
    )

    with tempfile.TemporaryDirectory() as tmp:
        big = many_records(Path(tmp))
        count = len(list(big.glob("*.json")))
        out_big, out_now = Path(tmp) / "out-big", Path(tmp) / "out-now"
        a, b = compare(
            args.runs,
            [*HMP, "generate", "--builds", str(big), "--out", str(out_big)],
            [*HMP, "generate", "--out", str(out_now)],
        )
        row(
            f"generate, {count} records / the committed {records}",
            a / b,
            2.0,
            f"{a:.3f}s vs {b:.3f}s",
        )
        a, b = compare(
            args.runs,
            [*HMP, "check", "--qemu", x86, "--builds", str(big)],
            [*HMP, "check", "--qemu", x86],
        )
        row(
            f"check, one live binary, {count} records / the committed {records}",
            a / b,
            1.2,
            f"{a:.3f}s vs {b:.3f}s",
        )

    sys.path.insert(0, str(ROOT))
    from generator.table.loader import lint_table, load_table

    with tempfile.TemporaryDirectory() as tmp:
        real = ROOT / "data" / "hmp-commands.yaml"
        big = synthetic_table(10, Path(tmp))
        assert lint_table(str(big)) == [], lint_table(str(big))[:3]
        n_real = len(load_table(str(real)).commands)
        n_big = len(load_table(str(big)).commands)
        for name, fn in (("load", load_table), ("lint", lint_table)):
            t_real = timed(lambda fn=fn: fn(str(real)), 25)
            t_big = timed(lambda fn=fn: fn(str(big)), 9)
            per = (t_big / n_big) / (t_real / n_real)
            row(
                f"{name} per entry, 10x synthetic table / real table",
                per,
                1.5,
                f"{t_real * 1000:.1f}ms for {n_real}, {t_big * 1000:.1f}ms for {n_big} commands",
            )

    spec_path = ROOT / "generated" / "hmp_perms.py"
    import importlib.util

    spec = importlib.util.spec_from_file_location("hmp_perms", spec_path)
    assert spec and spec.loader
    perms = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(perms)
    mix = [
        "info status",
        "info registers",
        "cont",
        "stop",
        "x/10i $pc",
        "  quit",
        "drive_add 0 file=/x",
        "help",
        "device_add virtio-rng",
        "nosuchcommand arg",
        "qom-get /machine type",
        "info usbhost",
        "\tsendkey ctrl-alt-f1",
        "",
        "print $pc",
    ]
    lines = [mix[i % len(mix)] for i in range(100_000)]
    table = dict(perms.PERMISSIONS)
    ours = timed(lambda: [perms.required_permission(line) for line in lines], 7)
    theirs = timed(lambda: [proxmox_permission(line, table) for line in lines], 7)
    row(
        "100k required_permission() / Proxmox's regex + lookup",
        ours / theirs,
        1.5,
        f"{ours * 1000:.0f}ms vs {theirs * 1000:.0f}ms",
    )

    missed = [r[0] for r in rows if r[1] > r[2]]
    print(f"{len(rows) - len(missed)} of {len(rows)} targets met")
    return 1 if missed else 0


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    raise SystemExit(main())
