"""Ketamine dose arithmetic and the usual ranges per route (CLINICAL.md).

A medicine session may hold several administrations (a booster); the session total is what is
compared with the route's usual range. Outside the range is allowed with a recorded reason.
"""

from __future__ import annotations

import dataclasses
import enum
from decimal import ROUND_HALF_UP, Decimal


class Route(enum.StrEnum):
    LOZENGE = "lozenge"
    IM = "im"
    IV = "iv"

    @property
    def label(self) -> str:
        return ROUTE_LABELS[self]


ROUTE_LABELS = {
    Route.LOZENGE: "Lozenge / troche (sublingual)",
    Route.IM: "Intramuscular (IM) injection",
    Route.IV: "Intravenous (IV) infusion",
}

MG = Decimal("0.1")  # doses are recorded to 0.1 mg


def weight_based_mg(weight_kg: Decimal, mg_per_kg: Decimal) -> Decimal:
    """mg = mg/kg x weight, rounded half up to 0.1 mg (shown before saving)."""
    return (Decimal(weight_kg) * Decimal(mg_per_kg)).quantize(MG, rounding=ROUND_HALF_UP)


def lozenge_mg(strength_mg: Decimal, count: Decimal) -> Decimal:
    """Strength per lozenge x number of lozenges (a half lozenge counts 0.5)."""
    return (Decimal(strength_mg) * Decimal(count)).quantize(MG, rounding=ROUND_HALF_UP)


@dataclasses.dataclass(frozen=True)
class DoseRange:
    """The usual range of a session's total for one route: in mg (lozenge) or mg/kg (IM, IV)."""

    route: Route
    low: Decimal
    high: Decimal
    unit: str  # "mg" or "mg/kg"
    source: str


def default_ranges() -> dict[Route, DoseRange]:
    return {
        Route.LOZENGE: DoseRange(Route.LOZENGE, Decimal(50), Decimal(400), "mg",
                                 "CLINICAL.md: 50-400 mg per session sublingual"),
        Route.IM: DoseRange(Route.IM, Decimal("0.5"), Decimal("1.0"), "mg/kg",
                            "CLINICAL.md: 0.5-0.75 mg/kg, some KAP clinics to 1 mg/kg"),
        Route.IV: DoseRange(Route.IV, Decimal("0.5"), Decimal("1.0"), "mg/kg",
                            "CLINICAL.md: 0.5 mg/kg over 40 min most studied; some clinics 0.5-1 mg/kg"),
    }


@dataclasses.dataclass(frozen=True)
class DoseCheck:
    total_mg: Decimal
    per_kg: Decimal | None  # the total per kg of body weight, for weight-based routes
    in_range: bool
    message: str  # plain words for the page, naming the rule and its range


def check_total(
    route: Route, total_mg: Decimal, weight_kg: Decimal | None, dose_range: DoseRange
) -> DoseCheck:
    """Compare a session's total with the route's usual range."""
    total_mg = Decimal(total_mg)
    if dose_range.unit == "mg/kg":
        if not weight_kg or Decimal(weight_kg) <= 0:
            return DoseCheck(total_mg, None, False, "The weight is needed to check a weight-based dose.")
        per_kg = (total_mg / Decimal(weight_kg)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        value = per_kg
    else:
        per_kg = None
        value = total_mg
    in_range = dose_range.low <= value <= dose_range.high
    total = f"{total_mg} mg" + (f" ({value} {dose_range.unit})" if per_kg is not None else "")
    usual = f"{dose_range.low}-{dose_range.high} {dose_range.unit}"
    if in_range:
        message = f"Session total {total} is within the usual {route.label} range of {usual}."
    else:
        side = "above" if value > dose_range.high else "below"
        message = (
            f"Session total {total} is {side} the usual {route.label} range of "
            f"{usual}. Record the reason for this dose."
        )
    return DoseCheck(total_mg, per_kg, in_range, message)


SIDE_EFFECTS = (
    ("nausea", "Nausea"), ("vomiting", "Vomiting"), ("dizziness", "Dizziness"),
    ("vision", "Blurred or double vision"), ("drowsiness", "Drowsiness / sedation"),
    ("dysphoria", "Dysphoria"), ("anxiety", "Anxiety"), ("confusion", "Confusion"),
    ("elevated_bp", "Elevated blood pressure"), ("headache", "Headache"),
    ("balance", "Impaired balance"), ("slurred_speech", "Slurred speech"),
    ("numbness", "Numbness"), ("respiratory_depression", "Respiratory depression"),
)

DISSOCIATION = (
    (0, "0 - none"), (1, "1 - mild"), (2, "2 - moderate"), (3, "3 - marked"), (4, "4 - extreme"),
)

# Modified Observer's Assessment of Alertness/Sedation (MOAA/S).
SEDATION = (
    (5, "5 - responds readily to name in a normal tone"),
    (4, "4 - lethargic response to name in a normal tone"),
    (3, "3 - responds only after name is called loudly or repeatedly"),
    (2, "2 - responds only after mild prodding or shaking"),
    (1, "1 - responds only after a painful stimulus"),
    (0, "0 - no response"),
)

DISCHARGE_CRITERIA = (
    ("vitals_baseline", "Vitals back near baseline"),
    ("oriented", "Alert and oriented"),
    ("walking", "Walking steadily"),
    ("nausea_settled", "Nausea settled"),
    ("escort", "A responsible adult takes the client home"),
    ("no_driving", "Told not to drive until the next day"),
)
