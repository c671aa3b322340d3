"""Screening: contraindications (CLINICAL.md) and what a screening decision needs."""

from __future__ import annotations

import dataclasses
import enum

from .labels import LabelledEnum


class Severity(enum.StrEnum):
    ABSOLUTE = "absolute"  # eligible only with a recorded medical clearance
    RELATIVE = "relative"  # eligible only with a documented rationale


class Decision(LabelledEnum):
    ELIGIBLE = "eligible", "Eligible"
    NOT_ELIGIBLE = "not_eligible", "Not eligible"
    DEFERRED = "deferred", "Deferred"


@dataclasses.dataclass(frozen=True)
class Contraindication:
    key: str
    label: str
    severity: Severity
    needs: str  # what must be recorded to proceed anyway
    configurable: bool = False  # "relative / absolute per clinic setting"


def _absolute(key: str, label: str, *, configurable: bool = False) -> Contraindication:
    return Contraindication(key, label, Severity.ABSOLUTE, "medical clearance", configurable)


def _relative(key: str, label: str, *, needs: str = "a documented rationale",
              configurable: bool = False) -> Contraindication:
    return Contraindication(key, label, Severity.RELATIVE, needs, configurable)


CONTRAINDICATIONS: tuple[Contraindication, ...] = (
    _absolute("uncontrolled_hypertension", "Uncontrolled hypertension"),
    _absolute("cardiac", "Angina, heart disease or arrhythmia"),
    _absolute("vascular", "Aneurysm, AVM or intracerebral haemorrhage history"),
    _absolute("psychosis", "Active psychosis or schizophrenia"),
    _absolute("mania", "Current mania or mixed episode"),
    _absolute("pregnancy", "Pregnancy or breastfeeding"),
    _relative("substance_use", "Active severe substance use disorder"),
    _relative("suicide_risk", "Acute suicide risk", needs="a safety plan and a documented rationale"),
    _relative("hyperthyroidism", "Uncontrolled hyperthyroidism", configurable=True),
    _absolute("intracranial_pressure", "Raised intracranial pressure", configurable=True),
    _relative("liver_disease", "Liver disease", configurable=True),
    _relative("cystitis", "Cystitis / bladder problems", configurable=True),
    _absolute("ketamine_allergy", "Ketamine allergy", configurable=True),
    _absolute("under_18", "Age under 18", configurable=True),
)
BY_KEY = {c.key: c for c in CONTRAINDICATIONS}

INTERACTING_MEDICATIONS = (
    ("benzodiazepines", "Benzodiazepines"),
    ("gabapentinoids", "Gabapentinoids"),
    ("opioids", "Opioids"),
    ("stimulants", "Stimulants"),
    ("maois", "MAOIs"),
)


def severity_of(key: str, overrides: dict[str, str] | None = None) -> Severity:
    """A contraindication's severity, with the clinic's choice for the configurable ones."""
    item = BY_KEY[key]
    if item.configurable and overrides and overrides.get(key) in ("absolute", "relative"):
        return Severity(overrides[key])
    return item.severity


def decision_problems(
    decision: Decision | str | None,
    found: list[str] | tuple[str, ...],
    *,
    rationale: str | None,
    medical_clearance: str | None,
    safety_plan: str | None = None,
    overrides: dict[str, str] | None = None,
) -> dict[str, str]:
    """Why this decision cannot be signed as it stands: {form field: message}. Empty when it can.

    - Every decision needs a rationale.
    - "Eligible" with an absolute contraindication needs a recorded medical clearance.
    - "Eligible" with a relative contraindication needs the rationale to address it (a rationale
      is required anyway), and acute suicide risk needs a safety plan.
    """
    problems: dict[str, str] = {}
    try:
        decision = Decision(decision) if decision else None
    except ValueError:  # not one of the three (a forged or garbled form): a problem, not a crash
        decision = None
    if decision is None:
        problems["decision"] = "Choose eligible, not eligible or deferred."
        return problems
    if not (rationale or "").strip():
        problems["decision_rationale"] = "Give the rationale for this decision."
    if decision is Decision.ELIGIBLE:
        absolute = [BY_KEY[k].label for k in found if severity_of(k, overrides) is Severity.ABSOLUTE]
        if absolute and not (medical_clearance or "").strip():
            problems["medical_clearance"] = (
                "Absolute contraindication found (" + "; ".join(absolute) + "): eligible only with "
                "a recorded medical clearance."
            )
        if "suicide_risk" in found and not (safety_plan or "").strip():
            problems["safety_plan"] = "Acute suicide risk: record the safety plan before eligibility."
    return problems
