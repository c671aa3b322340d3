"""Ketamine dose arithmetic and the usual ranges per route (CLINICAL.md).

A medicine session may hold several administrations (a booster); the session total is what is
compared with the route's usual range. Outside the range is allowed with a recorded reason.

How a dose is checked against the range: exactly, on the dose the clinician asked for, never on
a rounded figure. A weight-based dose is entered in mg/kg; its mg is mg/kg x weight rounded to
0.1 mg for the record (``weight_based_mg``), but the range check uses the unrounded product
(``exact_mg``), so the mg/kg entered is what is compared: 0.75 mg/kg x 70.5 kg is recorded as
52.9 mg and is within a range that ends at 0.75 mg/kg, because 52.875 mg is. A dose entered in mg
(or as lozenges, strength x count) is compared as entered: 100.4 mg at 100 kg is above 1 mg/kg,
though it shows as 1.00 mg/kg. In mg/kg terms the comparison is low x kg <= mg <= high x kg, in
Decimal, so no division rounds either. The message shows the recorded mg and the mg/kg rounded
to 0.01 (and, when outside the range, the limit in mg at this weight).
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal

from .labels import LabelledEnum


class Route(LabelledEnum):
    LOZENGE = "lozenge", "Lozenge / troche (sublingual)"
    IM = "im", "Intramuscular (IM) injection"
    IV = "iv", "Intravenous (IV) infusion"


MG = Decimal("0.1")  # doses are recorded to 0.1 mg
# The most one administration records; the administration table's check dose_positive is built
# from it (kaptracker/models/courses.py), so the form's message and the database agree.
MAX_ADMINISTRATION_MG = Decimal(1000)


def weight_based_mg(weight_kg: Decimal, mg_per_kg: Decimal) -> Decimal:
    """mg = mg/kg x weight, rounded half up to 0.1 mg (shown before saving)."""
    return exact_mg(weight_kg, mg_per_kg).quantize(MG, rounding=ROUND_HALF_UP)


def lozenge_mg(strength_mg: Decimal, count: Decimal) -> Decimal:
    """Strength per lozenge x number of lozenges (a half lozenge counts 0.5)."""
    return exact_mg(strength_mg, count).quantize(MG, rounding=ROUND_HALF_UP)


def exact_mg(a: Decimal, b: Decimal) -> Decimal:
    """The dose asked for, unrounded: weight x mg/kg, or strength x count."""
    return Decimal(a) * Decimal(b)


def over_the_cap(dose_mg: Decimal) -> str | None:
    """Why one administration of ``dose_mg`` cannot be recorded (None when it can)."""
    if dose_mg <= MAX_ADMINISTRATION_MG:
        return None
    return (f"That makes {dose_mg} mg in one administration; at most {MAX_ADMINISTRATION_MG} mg "
            "can be recorded. Check the numbers.")


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
    route: Route, total_mg: Decimal, weight_kg: Decimal | None, dose_range: DoseRange,
    prescribed_mg: Decimal | None = None,
) -> DoseCheck:
    """Compare a session's total with the route's usual range, exactly (see the module's notes).

    ``total_mg`` is the recorded total (each dose rounded to 0.1 mg); ``prescribed_mg`` the total
    asked for, unrounded (mg/kg x weight for weight-based doses), which is what is compared. It is
    ``total_mg`` when not given: a total entered in mg is compared as entered.
    """
    total_mg = Decimal(total_mg)
    asked = total_mg if prescribed_mg is None else Decimal(prescribed_mg)
    limit = ""
    if dose_range.unit == "mg/kg":
        if not weight_kg or Decimal(weight_kg) <= 0:
            return DoseCheck(total_mg, None, False, "The weight is needed to check a weight-based dose.")
        kg = Decimal(weight_kg)
        low, high = dose_range.low * kg, dose_range.high * kg
        per_kg = (asked / kg).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)  # shown, not compared
        shown = f" ({per_kg} {dose_range.unit})"
        if asked > high:
            limit = f" At {_plain(kg)} kg that is at most {_plain(high)} mg."
        elif asked < low:
            limit = f" At {_plain(kg)} kg that is at least {_plain(low)} mg."
    else:
        per_kg, shown = None, ""
        low, high = dose_range.low, dose_range.high
    in_range = low <= asked <= high
    total = f"{total_mg} mg{shown}"
    usual = f"{dose_range.low}-{dose_range.high} {dose_range.unit}"
    if in_range:
        message = f"Session total {total} is within the usual {route.label} range of {usual}."
    else:
        side = "above" if asked > high else "below"
        message = (
            f"Session total {total} is {side} the usual {route.label} range of "
            f"{usual}.{limit} Record the reason for this dose."
        )
    return DoseCheck(total_mg, per_kg, in_range, message)


def _plain(value: Decimal) -> str:
    """A Decimal without trailing zeros beyond one decimal place: 100.0, 52.875, 70.5."""
    text = f"{Decimal(value).normalize():f}"
    return text if "." in text else text + ".0"


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
