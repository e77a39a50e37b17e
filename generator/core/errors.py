"""Foundation: the errors that mean "bad input", not "bug": each a `HmpPermsError`,
printed as one line (exit 2); anything else is a bug."""

from __future__ import annotations

from typing import NamedTuple


class Location(NamedTuple):
    """Where a value came from: a file and a 1-based line number."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class HmpPermsError(Exception):
    """Bad input or a failed run; printed as one line."""

    def __init__(self, message: str, where: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ErrorList(HmpPermsError):
    """Several problems at once, one line each: every one found, not only the first."""

    def __init__(self, problems: list[HmpPermsError]) -> None:
        super().__init__(problems[0].message, problems[0].where)
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class CollectError(HmpPermsError):
    """QEMU could not be started, talked to or understood: one line naming it, with what
    it said."""

    def __init__(self, binary: str, message: str, stderr: str = "", speaker: str = "QEMU") -> None:
        self.binary = binary
        self.detail = " ".join(message.split())
        said = " ".join(stderr.split())
        super().__init__(
            f"{binary}: {self.detail}" + (f" ({speaker} said: {said})" if said else "")
        )
