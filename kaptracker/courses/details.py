"""What each kind of session shows on its page: (label, attribute, how to show it)."""

from __future__ import annotations

from ..models import InjectionSite, SessionKind
from ..rules import dosing, screening

HISTORY = {"unknown": "Not yet asked", "none": "None", "self": "Self", "family": "Family",
           "self_and_family": "Self and family"}
PREGNANCY = {"not_applicable": "Not applicable", "no": "No", "pregnant": "Pregnant",
             "breastfeeding": "Breastfeeding"}
MEDICATIONS = dict(screening.INTERACTING_MEDICATIONS)
CONTRAINDICATIONS = {c.key: c.label for c in screening.CONTRAINDICATIONS}
SIDE_EFFECTS = dict(dosing.SIDE_EFFECTS)
DISCHARGE = dict(dosing.DISCHARGE_CRITERIA)
DISSOCIATION = dict(dosing.DISSOCIATION)
SEDATION = dict(dosing.SEDATION)
# As the dose form offers them (not the stored value, e.g. "deltoid_left").
INJECTION_SITES = {
    InjectionSite.DELTOID_LEFT: "Left deltoid", InjectionSite.DELTOID_RIGHT: "Right deltoid",
    InjectionSite.THIGH_LEFT: "Left thigh", InjectionSite.THIGH_RIGHT: "Right thigh",
    InjectionSite.GLUTEAL: "Gluteal",
}

# Kinds: text, yesno, date, datetime, list (with a label map), map (one value with a label map).
DETAILS = {
    SessionKind.SCREENING: [
        ("Blood pressure history", "bp_history", "text", None),
        ("Heart history", "heart_history", "text", None),
        ("Current medications", "current_medications", "text", None),
        ("Interacting medication classes", "interacting_medications", "list", MEDICATIONS),
        ("Psychiatric diagnoses", "psychiatric_diagnoses", "text", None),
        ("History of psychosis", "psychosis_history", "map", HISTORY),
        ("History of mania", "mania_history", "map", HISTORY),
        ("History of dissociative disorder", "dissociative_history", "map", HISTORY),
        ("Substance use", "substance_use", "text", None),
        ("Pregnancy or breastfeeding", "pregnancy", "map", PREGNANCY),
        ("Support network", "support_network", "text", None),
        ("Transport home", "transport_home", "text", None),
        ("Contraindications found", "contraindications", "list", CONTRAINDICATIONS),
        ("Decision", "decision", "map", {d.value: d.label for d in screening.Decision}),
        ("Rationale", "decision_rationale", "text", None),
        ("Medical clearance", "medical_clearance", "text", None),
        ("Safety plan", "safety_plan", "text", None),
    ],
    SessionKind.PREPARATION: [
        ("Intentions (client's words)", "intentions", "text", None),
        ("Goals", "goals", "text", None),
        ("Fears about feeling more", "fears", "text", None),
        ("Resources and support", "resources", "text", None),
        ("Medically ready", "medically_ready", "yesno", None),
        ("Psychologically ready", "psychologically_ready", "yesno", None),
        ("Readiness notes", "readiness_notes", "text", None),
    ],
    SessionKind.DOSING: [
        ("Route", "route", "map", {r.value: r.label for r in dosing.Route}),
        ("Ended", "ended_at", "datetime", None),
        ("Weight", "weight_kg", "kg", None),
        ("Lot / batch", "lot_number", "text", None),
        ("Lot expiry", "lot_expiry", "date", None),
        ("Eye shades", "eye_shades", "yesno", None),
        ("Music", "music", "yesno", None),
        ("Side effects", "side_effects", "list", SIDE_EFFECTS),
        ("Dissociation", "dissociation", "map", DISSOCIATION),
        ("Sedation (MOAA/S)", "sedation", "map", SEDATION),
        ("Reason for the dose", "dose_reason", "text", None),
        ("Discharged", "discharged_at", "datetime", None),
        ("Discharge criteria met", "discharge_criteria", "list", DISCHARGE),
        ("Escort home", "escort_name", "text", None),
    ],
    SessionKind.INTEGRATION: [
        ("What felt different", "what_felt_different", "text", None),
        ("Emotions and body sensations", "emotions_body", "text", None),
        ("Memories or beliefs revisited", "memories_beliefs", "text", None),
        ("Insights", "insights", "text", None),
        ("Small experiments for daily life", "experiments", "text", None),
        ("How earlier experiments went", "experiments_review", "text", None),
        ("Support and safety", "support_safety", "text", None),
        ("Follow-up date", "follow_up_on", "date", None),
    ],
}
