"""The clinic's configurable settings: names, defaults, bounds and where each default comes from.

Values in force are stored in the database (``setting_change`` rows, newest wins) so that every
app process and server sees the same ones; this module only describes them and validates input.
A setting marked ``per_site`` has the network's value and may be overridden at a site; the others
hold at every site alike (kaptracker.settings).
"""

from __future__ import annotations

import dataclasses
import zoneinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from .screening import CONTRAINDICATIONS


@dataclasses.dataclass(frozen=True)
class SettingSpec:
    key: str
    label: str
    group: str
    kind: type  # int, Decimal or str
    default: Any
    minimum: int | Decimal | None = None
    maximum: int | Decimal | None = None
    unit: str = ""
    help: str = ""
    source: str = ""
    choices: tuple[str, ...] | None = None
    timezone: bool = False
    # A clinical setting changes only with the medical lead's sign-off recorded.
    clinical: bool = False
    # A site may override the network's value (the rules applied to its sessions and clients);
    # otherwise the network's value holds at every site (sign-in, the network's name and zone,
    # figures across sites).
    per_site: bool = False

    def parse(self, raw: str) -> Any:
        """Return the typed value of ``raw`` or raise ``ValueError`` with a sentence for the form."""
        text = (raw or "").strip()
        if not text:
            raise ValueError("Enter a value.")
        if self.kind is int:
            try:
                value = int(text)
            except ValueError:
                raise ValueError("Enter a whole number.") from None
            if self.minimum is not None and value < self.minimum:
                raise ValueError(f"Enter {self.minimum} {self.unit} or more.".replace("  ", " "))
            if self.maximum is not None and value > self.maximum:
                raise ValueError(f"Enter {self.maximum} {self.unit} or less.".replace("  ", " "))
            return value
        if self.kind is Decimal:
            try:
                value = Decimal(text)
            except InvalidOperation:
                raise ValueError("Enter a number, for example 0.75.") from None
            if not value.is_finite():
                raise ValueError("Enter a number, for example 0.75.")
            if self.minimum is not None and value < self.minimum:
                raise ValueError(f"Enter {self.minimum} {self.unit} or more.")
            if self.maximum is not None and value > self.maximum:
                raise ValueError(f"Enter {self.maximum} {self.unit} or less.")
            return Decimal(int(value)) if value == value.to_integral() else value.normalize()
        if len(text) > 200:
            raise ValueError("Use at most 200 characters.")
        if self.choices is not None and text not in self.choices:
            raise ValueError("Choose one of the listed values.")
        if self.timezone and not is_timezone(text):
            raise ValueError("Enter an IANA time zone such as Europe/London or America/New_York.")
        return text


def is_timezone(name: str) -> bool:
    if not name or "\x00" in name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "clinic.name", "Clinic name", "Clinic", str, "KAP Clinic",
        help="Shown in the page header and on printed reports.",
    ),
    SettingSpec(
        "clinic.timezone", "Network time zone", "Clinic", str, "America/New_York", timezone=True,
        help="Times are stored in UTC. A site's records and lists show its own zone (Sites); "
             "pages across sites in several zones, and commands, show this one.",
    ),
    SettingSpec(
        "clients.minimum_age_years", "Minimum client age", "Clients", int, 18, 0, 120, "years",
        help="Registering a younger client is refused.",
        source="CLINICAL.md: age under 18 is a contraindication per clinic setting.",
    ),
    SettingSpec(
        "auth.idle_timeout_minutes", "Sign out after inactivity", "Sign-in security", int, 15, 2,
        240, "minutes", help="A session unused this long is ended; the user signs in again.",
        source="HIPAA 164.312(a)(2)(iii) automatic logoff; 15 minutes is common practice.",
    ),
    SettingSpec(
        "auth.session_max_hours", "Longest session", "Sign-in security", int, 12, 1, 24, "hours",
        help="A session ends this long after sign-in even when in use.",
    ),
    SettingSpec(
        "auth.lockout_threshold", "Failed sign-ins before lockout", "Sign-in security", int, 5,
        3, 50, "attempts", help="Counted per email address within the lockout window.",
        source="NIST SP 800-63B 5.2.2 (rate limiting); OWASP authentication cheat sheet.",
    ),
    SettingSpec(
        "auth.lockout_minutes", "Lockout window", "Sign-in security", int, 15, 1, 1440, "minutes",
        help="Failed attempts older than this no longer count.",
    ),
    SettingSpec(
        "access.break_glass_minutes", "Emergency access lasts", "Sign-in security", int, 60, 5, 60,
        "minutes", help="Break-glass access to a client outside one's caseload, given with a reason; "
        "every page opened is flagged in the audit trail and shown to supervisors.",
    ),
    SettingSpec(
        "auth.ip_threshold", "Failed sign-ins per network address", "Sign-in security", int, 50,
        10, 10000, "attempts", help="Within the lockout window, from one address, for any email.",
    ),
)

_DOSE_SOURCE = "CLINICAL.md, Routes and doses (typical ranges; outside them a reason is required)."


def _dose(key, label, default, low, high, unit, help=""):
    """A ``dose.*`` setting: one end of a route's usual range, a Decimal (numbers as Decimal() takes them)."""
    return SettingSpec(f"dose.{key}", label, "Dose ranges", Decimal, Decimal(default), Decimal(low),
                       Decimal(high), unit, help=help, source=_DOSE_SOURCE)


_COURSE_SPECS = (
    SettingSpec(
        "integration.due_days", "Integration session due within", "Treatment course", int, 7, 1,
        60, "days", help="After each medicine session; later, the integration shows as overdue.",
        source="CLINICAL.md, Integration: one is expected within 7 days.",
    ),
    _dose("lozenge.low_mg", "Lozenge: usual session total from", 50, 1, 1000, "mg"),
    _dose("lozenge.high_mg", "Lozenge: usual session total up to", 400, 1, 1000, "mg"),
    _dose("im.low_mg_per_kg", "IM: usual session total from", "0.5", "0.05", 5, "mg/kg"),
    _dose("im.high_mg_per_kg", "IM: usual session total up to", "1.0", "0.05", 5, "mg/kg",
          help="0.5-0.75 mg/kg is typical; some KAP clinics go to 1 mg/kg."),
    _dose("iv.low_mg_per_kg", "IV: usual session total from", "0.5", "0.05", 5, "mg/kg"),
    _dose("iv.high_mg_per_kg", "IV: usual session total up to", "1.0", "0.05", 5, "mg/kg",
          help="0.5 mg/kg over 40 minutes is the most studied."),
)


def _contraindication_specs():
    for item in CONTRAINDICATIONS:
        if item.configurable:
            yield SettingSpec(
                f"contraindication.{item.key}", item.label, "Contraindications", str,
                item.severity.value, choices=("absolute", "relative"),
                help="absolute: eligible only with medical clearance; relative: with a rationale.",
                source="CLINICAL.md: relative / absolute per clinic setting.",
            )


_BP = "CLINICAL.md, Blood pressure and other vitals"
_VITALS = "Vital signs"


def _vital(key, label, default, low, high, unit, help="", source=_BP):
    return SettingSpec(f"vitals.{key}", label, _VITALS, int, default, low, high, unit, help=help,
                       source=source, clinical=True)


_VITAL_SPECS = (
    _vital("caution_systolic", "Caution before dosing: systolic at or above", 140, 100, 250, "mmHg",
           source=_BP + " (Spravato label: consider delaying above 140/90)."),
    _vital("caution_diastolic", "Caution before dosing: diastolic at or above", 90, 50, 150, "mmHg"),
    _vital("hold_systolic", "Hold the dose: baseline systolic at or above", 160, 100, 250, "mmHg",
           help="The dose is held unless medical staff record an override with a reason.",
           source=_BP + " (remote KAP agreements: hold above 160/90 or HR above 100)."),
    _vital("hold_diastolic", "Hold the dose: baseline diastolic at or above", 100, 50, 150, "mmHg"),
    _vital("hold_heart_rate", "Hold the dose: baseline heart rate above", 100, 60, 200, "bpm"),
    _vital("alert_systolic", "Alert: two readings with systolic at or above", 180, 120, 250, "mmHg",
           source=_BP + " (academic esketamine clinic: 180/110 twice, 200/120 once)."),
    _vital("alert_diastolic", "Alert: two readings with diastolic at or above", 110, 60, 150, "mmHg"),
    _vital("alert_repeat_minutes", "Alert: the two readings at least this far apart", 5, 1, 60, "minutes"),
    _vital("critical_systolic", "Alert at once: any systolic at or above", 200, 120, 260, "mmHg"),
    _vital("critical_diastolic", "Alert at once: any diastolic at or above", 120, 60, 160, "mmHg"),
    _vital("tachycardia", "Alert: heart rate sustained above", 120, 80, 220, "bpm"),
    _vital("bradycardia", "Alert: heart rate below", 50, 30, 80, "bpm"),
    _vital("spo2_low", "Alert: SpO2 below", 92, 80, 100, "%"),
    _vital("due_minutes_iv", "Readings due during an IV infusion every", 10, 1, 60, "minutes"),
    _vital("due_minutes_other", "Readings due otherwise every", 15, 1, 120, "minutes",
           help="BP rise peaks around 40 minutes after dosing."),
    _vital("observation_minutes_lozenge", "Observe before discharge: lozenge", 60, 15, 480, "minutes"),
    _vital("observation_minutes_im", "Observe before discharge: IM", 60, 15, 480, "minutes"),
    _vital("observation_minutes_iv", "Observe before discharge: IV, after the infusion ends", 60, 15, 480,
           "minutes", help="Spravato's rule is 2 hours."),
)

_OUTCOME_SOURCE = "CLINICAL.md, Outcome measures."
_REVIEW_SPECS = (
    SettingSpec(
        "review.unsigned_after_hours", "Unsigned note flagged after", "Supervision", int, 24, 1,
        720, "hours", help="A note still unsigned this long after its session is on the worklist.",
    ),
    SettingSpec(
        "review.no_contact_days", "No contact flagged after", "Supervision", int, 30, 7, 365,
        "days", help="An open course with no session for this long is on the worklist.",
    ),
    SettingSpec(
        "review.cosign_window_days", "Supervision figures cover the last", "Supervision", int, 90,
        7, 730, "days", help="Notes signed on time and co-signed, per therapist.",
    ),
    SettingSpec(
        "outcomes.response_drop_percent", "Response: drop from baseline of at least",
        "Outcome measures", int, 50, 10, 100, "%", source=_OUTCOME_SOURCE,
    ),
    SettingSpec(
        "outcomes.phq9_remission_below", "PHQ-9 remission: total below", "Outcome measures", int,
        5, 1, 27, "points", source=_OUTCOME_SOURCE,
    ),
    SettingSpec(
        "outcomes.gad7_remission_below", "GAD-7 remission: total below", "Outcome measures", int,
        5, 1, 21, "points", source=_OUTCOME_SOURCE,
    ),
    SettingSpec(
        "outcomes.pcl5_cutoff", "PCL-5 probable-PTSD cut-off", "Outcome measures", int, 33, 1, 80,
        "points", source=_OUTCOME_SOURCE + " (31-33 and above suggests probable PTSD).",
    ),
    SettingSpec(
        "outcomes.minimum_clients", "Show a rate only from", "Outcome measures", int, 10, 1, 1000,
        "clients", help="Smaller groups show their counts, never a percentage.",
    ),
)

SPECS = SPECS + _COURSE_SPECS + tuple(_contraindication_specs()) + _VITAL_SPECS + _REVIEW_SPECS
SPECS = tuple(
    dataclasses.replace(s, clinical=True)
    if s.group in ("Treatment course", "Dose ranges", "Contraindications", "Outcome measures") else s
    for s in SPECS
)
# The clinical rules applied to one site's sessions and clients may differ per site (a site's
# medical lead signs off its own thresholds): vital signs, dose ranges, contraindications, the
# course's integration rule and the scales' cut-offs. Not the smallest group an outcome rate is
# shown for (a disclosure rule for figures across sites), nor sign-in and emergency access (a
# person works at several sites; their sign-in is not at one), the network's name and zone (a
# site has its own, on its Sites record), the minimum age (the network's admission policy,
# checked when a client is registered or edited, whatever site they move to) or the supervision
# windows (figures per therapist, who may work at several sites).
_PER_SITE_GROUPS = ("Treatment course", "Dose ranges", "Contraindications", "Vital signs")
_PER_SITE_KEYS = ("outcomes.response_drop_percent", "outcomes.phq9_remission_below",
                  "outcomes.gad7_remission_below", "outcomes.pcl5_cutoff")
SPECS = tuple(
    dataclasses.replace(s, per_site=True) if s.group in _PER_SITE_GROUPS or s.key in _PER_SITE_KEYS else s
    for s in SPECS
)
SPECS_BY_KEY: dict[str, SettingSpec] = {spec.key: spec for spec in SPECS}


def contraindication_overrides(values: dict[str, Any]) -> dict[str, str]:
    """The clinic's severity for each configurable contraindication, from settings values."""
    prefix = "contraindication."
    return {k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix)}


def per_site_keys() -> tuple[str, ...]:
    return tuple(spec.key for spec in SPECS if spec.per_site)


def defaults() -> dict[str, Any]:
    return {spec.key: spec.default for spec in SPECS}


def encode(value: Any) -> str:
    return str(value)


def decode(key: str, stored: str) -> Any:
    """Read a stored value back; a value that no longer parses falls back to the default."""
    spec = SPECS_BY_KEY.get(key)
    if spec is None:
        return stored
    try:
        return spec.parse(stored)
    except ValueError:
        return spec.default
