"""One line of the go-live checklist, as every part of the gate reports it.

Each section's use cases (validation clock, risk checks, drills, backups, infrastructure,
platform) return these; the feature files in features/golive/ assert them; `golive check`
prints them and the certificate stores them.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs


@attrs.frozen(kw_only=True)
class ItemResult:
    section: str  # "Bot validation", "Risk management", "Infrastructure", "Platform"
    item: str  # short and stable, e.g. "paper trading days", "kill switch drilled"
    requirement: str  # what passing means, for a person: ">= 30 NYSE sessions in the current epoch"
    figure: str  # what was measured, for a person: "31 sessions since 2026-11-02"
    passed: bool
    detail: str = ""  # on a failure: what to do about it ("run `quantshift drill killswitch`")

    def to_json(self) -> dict[str, object]:
        return {"section": self.section, "item": self.item, "requirement": self.requirement,
                "figure": self.figure, "passed": self.passed, "detail": self.detail}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ItemResult:
        return cls(section=str(data["section"]), item=str(data["item"]), requirement=str(data["requirement"]),
                   figure=str(data["figure"]), passed=bool(data["passed"]), detail=str(data.get("detail", "")))
