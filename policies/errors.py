"""The errors raised by ``policies``.

The engine itself does not raise for a refused report: ``decide_outbound`` and ``decide_inbound``
return decisions (deny, hold, quarantine) that say which rule decided and why. Errors are for what
cannot be decided at all, and for callers that prefer an exception to an outcome.

    PolicyError
     ├── PolicyInvalid     policy_invalid    a policy file or directory that does not load; every
     │                                       problem with its file, line, column and key
     ├── NoPolicy          no_policy         no policy for a partner: nothing may be exchanged
     ├── MarkingInvalid    marking_invalid   a REL TO marking that does not parse
     └── PolicyDenied      policy_denied     raised on request for a deny decision, with its rule
          └── ApprovalRequired  approval_required  ... or for a release held for approval

Each error has a stable ``code`` for logs and audit records and a human ``diagnostics()`` text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "ApprovalRequired",
    "MarkingInvalid",
    "NoPolicy",
    "PolicyDenied",
    "PolicyError",
    "PolicyInvalid",
    "Problem",
]


class PolicyError(Exception):
    """Base of every error raised by this package."""

    code: ClassVar[str] = "policy_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def diagnostics(self) -> str:
        """A human explanation of what failed, for operators and audit records."""
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a policy file, located as precisely as the loader could.

    ``line`` and ``column`` are 1-based; ``line`` is None only for a file that cannot be read at
    all, ``column`` when only the line is known. ``key`` is the dotted key path
    (``"outbound.max_tlp"``), empty for syntax errors and file-level problems.
    """

    path: str
    line: int | None
    column: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class PolicyInvalid(PolicyError):
    """A policy file (or a directory of them) that does not load; the node must not start.

    ``problems`` holds every problem found, in file and line order (at least one); ``path``,
    ``line``, ``column``, ``key`` and ``message`` are those of the first, and ``str(error)`` is the
    first problem as ``file:line:column: key: message``.
    """

    code: ClassVar[str] = "policy_invalid"

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("PolicyInvalid needs at least one problem")
        self.problems: tuple[Problem, ...] = tuple(problems)
        first = self.problems[0]
        super().__init__(str(first))
        self.message = first.message
        self.path = first.path
        self.line = first.line
        self.column = first.column
        self.key = first.key

    def diagnostics(self) -> str:
        count = len(self.problems)
        head = f"{self.code}: {count} problem{'s' if count > 1 else ''} in sharing policies"
        return "\n".join([head, *(f"  {problem}" for problem in self.problems)])


class NoPolicy(PolicyError):
    """No policy is loaded for a partner: nothing is released to it or accepted from it."""

    code: ClassVar[str] = "no_policy"

    def __init__(self, partner: str) -> None:
        super().__init__(f"no sharing policy for partner {partner!r}")
        self.partner = partner


class MarkingInvalid(PolicyError):
    """A marking definition that claims to be a REL TO marking but does not parse."""

    code: ClassVar[str] = "marking_invalid"


class PolicyDenied(PolicyError):
    """A decision that refuses a release, raised for callers that want an exception.

    ``rule`` is the stable rule id that decided (``"outbound.max_tlp"``), ``reason`` the human
    sentence and ``policy_version`` the version of the policy used.
    """

    code: ClassVar[str] = "policy_denied"

    def __init__(self, rule: str, reason: str, policy_version: str) -> None:
        super().__init__(f"{rule}: {reason}")
        self.rule = rule
        self.reason = reason
        self.policy_version = policy_version


class ApprovalRequired(PolicyDenied):
    """A release that waits until a second officer with the releaser role approves it."""

    code: ClassVar[str] = "approval_required"
