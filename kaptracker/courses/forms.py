"""Forms for courses and for each kind of session."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Optional
from wtforms.validators import NumberRange as _NumberRange

from ..clients.forms import MultiCheckboxField
from ..forms import Form, choices, max_length, no_control_characters, stripped
from ..models import History, InjectionSite, Pregnancy
from ..rules import dosing, screening
from ..rules.phases import EndReason
from .. import clock

DATETIME_FORMAT = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class NumberRange(_NumberRange):
    """WTForms' NumberRange, except that a value it cannot compare (a signalling NaN such as
    "sNaN", or a whole number too large for a float) fails with the field's message instead of
    raising out of validation (a server error)."""

    def __call__(self, form, field):
        try:
            super().__call__(form, field)
        except ValidationError:
            raise
        except (ArithmeticError, ValueError):
            raise ValidationError(self.message or "Enter a number in the allowed range.") from None


def decimal_places(n: int, message: str):
    """At most ``n`` decimal places, as the column keeps them: more would be rounded by the
    database while the dose was computed from the typed value (mg = mg/kg x weight must hold for
    the stored numbers)."""

    def check(form, field):
        value = field.data
        if value is None or field.errors or not value.is_finite():
            return
        if value.normalize().as_tuple().exponent < -n:
            raise ValidationError(message)

    return check


WEIGHT_PLACES = decimal_places(1, "Enter the weight to one decimal place (for example 70.4).")


def text_area(label, required=False, n=5000, description="", message=None):
    validators = [DataRequired(message or f"Write the {label.lower()}.")] if required else [Optional()]
    return TextAreaField(
        label, validators=[*validators, max_length(n), no_control_characters],
        filters=[stripped], description=description,
    )


def when(label="Date and time", description="Local time at the session's site."):
    return DateTimeLocalField(
        label, format=DATETIME_FORMAT, validators=[InputRequired(f"Enter the {label.lower()}.")],
        description=description,
    )


def at_most_ahead(delta: dt.timedelta, message: str):
    """A date-time field's check: at most ``delta`` ahead of the clinic's clock (else ``message``),
    and after 2000, which also keeps the time within what a date-time can hold once converted to
    UTC from a zone east of it."""

    def check(form, field):
        if field.data and clock.is_after(field.data, delta):
            raise ValidationError(message)
        if field.data and field.data.year < 2000:
            raise ValidationError("Enter a date after 2000.")

    return check


# Sessions are recorded as they happen: at most a day ahead of the clinic's clock.
not_far_future = at_most_ahead(dt.timedelta(days=1),
                               "This is more than a day in the future. Record sessions as they happen.")


class CourseForm(Form):
    planned_route = SelectField(
        "Planned route", choices=choices((r.value, r.label) for r in dosing.Route),
        description="Each medicine session records the route actually used.",
    )
    planned_medicine_sessions = IntegerField(
        "Planned medicine sessions",
        validators=[InputRequired("Enter how many medicine sessions are planned."),
                    NumberRange(1, 24, "Plan between 1 and 24 medicine sessions.")],
        default=6, description="A course is often 4 to 6 sessions.",
    )
    goals = text_area("Goals of the course", required=True, n=4000,
                      message="Write the goals of this course.")
    started_on = DateField("Start date", validators=[InputRequired("Enter the start date.")])
    submit = SubmitField("Start course")

    def validate_started_on(self, field):
        today = clock.today()
        if field.data and field.data > today + dt.timedelta(days=90):
            raise ValidationError("A course starts at most 90 days from today.")
        if field.data and field.data < today - dt.timedelta(days=365):
            raise ValidationError("A course started more than a year ago cannot be opened now.")


class EndCourseForm(Form):
    end_reason = RadioField(
        "How the course ends",
        choices=choices([(EndReason.COMPLETED.value, "Completed"),
                         (EndReason.DISCONTINUED.value, "Discontinued")]),
        validators=[InputRequired("Choose completed or discontinued.")],
    )
    ended_on = DateField("End date", validators=[InputRequired("Enter the end date.")])
    end_note = text_area("Reason / summary", n=4000,
                         description="Required when discontinuing: why the course stops.")
    submit = SubmitField("End course")

    def __init__(self, *args, started_on: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._started_on = started_on

    def validate_ended_on(self, field):
        if field.data and field.data > clock.today():
            raise ValidationError("The end date cannot be in the future.")
        if field.data and self._started_on and field.data < self._started_on:
            raise ValidationError("The end date is before the course started.")

    def validate(self, extra_validators=None):
        # Not an inline validate_end_note: the field's Optional() stops the chain when it is
        # empty, so such a check never ran and a course was discontinued without a reason.
        valid = super().validate(extra_validators)
        if (self.end_reason.data == EndReason.DISCONTINUED.value and not self.end_note.data
                and not self.end_note.errors):
            self.end_note.errors.append("Say why the course is discontinued.")
            valid = False
        return valid


HISTORY_CHOICES = choices([
    (History.UNKNOWN.value, "Not yet asked"), (History.NONE.value, "None"),
    (History.SELF.value, "Self"), (History.FAMILY.value, "Family"),
    (History.SELF_AND_FAMILY.value, "Self and family"),
])


class SessionForm(Form):
    """What the form of every kind of session has: the version it was read at, its save button
    and the check of when it took place (each kind's own ``occurred_at``)."""

    version = HiddenField()
    # Where it takes place (choices: the active sites, set by the page); its times are typed on
    # that site's wall. Shown only in a clinic of several sites; left out, the session stays where
    # it is (a new one: at the client's home site).
    site_id = SelectField("Site", validators=[Optional()], validate_choice=False)  # checked by the service
    submit = SubmitField("Save draft")
    validate_occurred_at = not_far_future


class ScreeningForm(SessionForm):
    occurred_at = when("Screened on")
    bp_history = text_area("Blood pressure history", description="Known hypertension, treatment, recent readings.")
    heart_history = text_area("Heart history", description="Angina, heart disease, arrhythmia, aneurysm, stroke.")
    current_medications = text_area("Current medications")
    interacting_medications = MultiCheckboxField(
        "Interacting medication classes taken now",
        choices=choices(screening.INTERACTING_MEDICATIONS), validators=[Optional()],
    )
    psychiatric_diagnoses = text_area("Psychiatric diagnoses")
    psychosis_history = SelectField("History of psychosis", choices=HISTORY_CHOICES)
    mania_history = SelectField("History of mania", choices=HISTORY_CHOICES)
    dissociative_history = SelectField("History of dissociative disorder", choices=HISTORY_CHOICES)
    substance_use = text_area("Substance use")
    pregnancy = SelectField("Pregnancy or breastfeeding", choices=choices([
        (Pregnancy.NOT_APPLICABLE.value, "Not applicable"), (Pregnancy.NO.value, "No"),
        (Pregnancy.PREGNANT.value, "Pregnant"), (Pregnancy.BREASTFEEDING.value, "Breastfeeding"),
    ]))
    support_network = text_area("Support network")
    transport_home = text_area("Transport home after sessions", n=1000)
    contraindications = MultiCheckboxField(
        "Contraindications found",
        choices=choices((c.key, c.label) for c in screening.CONTRAINDICATIONS),
        validators=[Optional()],
        description="Absolute: eligible only with a recorded medical clearance. Relative: eligible with a documented rationale.",
    )
    note = text_area("Screening note", n=20000)
    # Filled in by medical staff; the decision is final when the screening is signed.
    decision = RadioField(
        "Decision", choices=choices((d.value, d.label) for d in screening.Decision),
        validators=[Optional()],
    )
    decision_rationale = text_area("Rationale for the decision")
    medical_clearance = text_area(
        "Medical clearance", description="Required to find a client eligible despite an absolute contraindication."
    )
    safety_plan = text_area("Safety plan", description="Required when acute suicide risk is found.")
    submit = SubmitField("Save screening")


class PreparationForm(SessionForm):
    occurred_at = when("Session date and time")
    intentions = text_area("Intentions, in the client's words", description="Quote the client where you can.")
    goals = text_area("Goals")
    fears = text_area("Fears about feeling more")
    resources = text_area("Resources and support")
    medically_ready = BooleanField("Medically ready")
    psychologically_ready = BooleanField("Psychologically ready")
    readiness_notes = text_area("Readiness notes")
    note = text_area("Clinical note", n=20000)


class DosingForm(SessionForm):
    occurred_at = when("Session started")
    ended_at = DateTimeLocalField("Session ended", format=DATETIME_FORMAT, validators=[Optional()])
    weight_kg = DecimalField(
        "Weight (kg)", places=1, validators=[Optional(), NumberRange(Decimal(21), Decimal(349), "Enter a weight between 21 and 349 kg."),
                                             WEIGHT_PLACES],
        description="Needed for IM and IV doses (mg/kg).",
    )
    lot_number = StringField("Lot / batch number", validators=[Optional(), max_length(40), no_control_characters], filters=[stripped])
    lot_expiry = DateField("Lot expiry", validators=[Optional()])
    eye_shades = BooleanField("Eye shades")
    music = BooleanField("Music")
    side_effects = MultiCheckboxField("Side effects", choices=choices(dosing.SIDE_EFFECTS), validators=[Optional()])
    dissociation = SelectField(
        "Dissociation", coerce=lambda v: None if v in ("", None) else int(v),
        choices=choices([("", "Not rated"), *dosing.DISSOCIATION]), validators=[Optional()],
    )
    sedation = SelectField(
        "Sedation (MOAA/S)", coerce=lambda v: None if v in ("", None) else int(v),
        choices=choices([("", "Not rated"), *dosing.SEDATION]), validators=[Optional()],
    )
    dose_reason = text_area("Reason for a dose outside the usual range", n=2000)
    discharged_at = DateTimeLocalField("Discharged at", format=DATETIME_FORMAT, validators=[Optional()])
    discharge_criteria = MultiCheckboxField("Discharge criteria met", choices=choices(dosing.DISCHARGE_CRITERIA), validators=[Optional()])
    escort_name = StringField("Escort home", validators=[Optional(), max_length(120), no_control_characters], filters=[stripped],
                              description="The responsible adult who takes the client home.")
    note = text_area("Session note", n=20000)

    def validate_ended_at(self, field):
        if field.data and self.occurred_at.data and field.data < self.occurred_at.data:
            raise ValidationError("The session cannot end before it started.")
        not_far_future(self, field)  # also keeps the time within what a date-time can hold

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        # Again for a time that was not sent (the edit keeps the recorded one, and Optional()
        # skips its field's checks): the database refuses an end before the start.
        start = self.occurred_at.data
        for field, message in ((self.ended_at, "The session cannot end before it started."),
                               (self.discharged_at, "Discharge cannot be before the session started.")):
            if start is not None and field.data is not None and not field.errors and field.data < start:
                field.errors.append(message)
                valid = False
        return valid

    def validate_discharged_at(self, field):
        if field.data and self.occurred_at.data and field.data < self.occurred_at.data:
            raise ValidationError("Discharge cannot be before the session started.")
        if field.data and clock.is_after(field.data, dt.timedelta(minutes=5)):
            raise ValidationError("Discharge is recorded when it happens, not ahead of time.")

    def validate_lot_expiry(self, field):
        if field.data and self.occurred_at.data and field.data < self.occurred_at.data.date():
            raise ValidationError("This lot had expired on the session date. Check the lot.")


class NewDosingForm(DosingForm):
    route = SelectField("Route", choices=choices((r.value, r.label) for r in dosing.Route))
    submit = SubmitField("Open medicine session")


class IntegrationForm(SessionForm):
    occurred_at = when("Session date and time")
    dosing_session_id = SelectField("Integrates the medicine session of", coerce=int, validate_choice=True)
    what_felt_different = text_area("What felt different")
    emotions_body = text_area("Emotions and body sensations noticed")
    memories_beliefs = text_area("Memories or beliefs revisited")
    insights = text_area("Insights")
    experiments = text_area("Small experiments for daily life", description="What the client will try before next time.")
    experiments_review = text_area("How earlier experiments went")
    support_safety = text_area("Support and safety")
    follow_up_on = DateField("Follow-up date", validators=[Optional()])
    note = text_area("Clinical note", n=20000)


class AdministrationForm(Form):
    given_at = when("Given at")
    range_reason = text_area("Reason for a total outside the usual range", n=2000)
    previewed_mg = HiddenField()
    calculate = SubmitField("Calculate dose")
    submit = SubmitField("Save dose")
    validate_given_at = not_far_future


class LozengeAdministrationForm(AdministrationForm):
    strength_mg = DecimalField("Strength per lozenge (mg)", places=1, validators=[
        InputRequired("Enter the strength of one lozenge."),
        NumberRange(Decimal(1), Decimal(1000), "Enter a strength between 1 and 1000 mg."),
        decimal_places(1, "Enter the strength to one decimal place (for example 12.5).")])
    count = DecimalField("Number of lozenges", places=1, validators=[
        InputRequired("Enter how many lozenges (0.5 for a half)."),
        NumberRange(Decimal("0.5"), Decimal(10), "Enter between 0.5 and 10 lozenges.")])
    hold_minutes = IntegerField("Hold time (minutes)", validators=[
        InputRequired("Enter how long the lozenge was held."),
        NumberRange(1, 60, "Enter a hold time of 1 to 60 minutes.")])
    swallowed = RadioField("Then", choices=choices([("swallowed", "Swallowed"), ("spat", "Spat out")]),
                           validators=[InputRequired("Say whether it was swallowed or spat out.")])

    def validate_count(self, field):
        if field.data is not None and not field.errors and (field.data * 2) % 1:
            raise ValidationError("Count whole or half lozenges (for example 1, 1.5, 2).")


class WeightBasedAdministrationForm(AdministrationForm):
    weight_kg = DecimalField("Weight (kg)", places=1, validators=[
        InputRequired("Enter the client's weight today."),
        NumberRange(Decimal(21), Decimal(349), "Enter a weight between 21 and 349 kg."),
        WEIGHT_PLACES])
    mg_per_kg = DecimalField("Dose (mg/kg)", places=2, validators=[
        InputRequired("Enter the dose in mg/kg."),
        NumberRange(Decimal("0.05"), Decimal(5), "Enter between 0.05 and 5 mg/kg."),
        decimal_places(2, "Enter the dose to two decimal places at most (for example 0.75).")])


class IMAdministrationForm(WeightBasedAdministrationForm):
    injection_site = SelectField("Injection site", choices=choices([
        (InjectionSite.DELTOID_LEFT.value, "Left deltoid"), (InjectionSite.DELTOID_RIGHT.value, "Right deltoid"),
        (InjectionSite.THIGH_LEFT.value, "Left thigh"), (InjectionSite.THIGH_RIGHT.value, "Right thigh"),
        (InjectionSite.GLUTEAL.value, "Gluteal"),
    ]))


class IVAdministrationForm(WeightBasedAdministrationForm):
    infusion_minutes = IntegerField("Infusion time (minutes)", validators=[
        InputRequired("Enter the infusion time."),
        NumberRange(1, 240, "Enter an infusion time of 1 to 240 minutes.")], default=40)


ADMINISTRATION_FORMS = {
    dosing.Route.LOZENGE: LozengeAdministrationForm,
    dosing.Route.IM: IMAdministrationForm,
    dosing.Route.IV: IVAdministrationForm,
}


class AddendumForm(Form):
    reason = StringField("Reason for the addendum", validators=[
        DataRequired("Say why you add to a signed note."), max_length(200), no_control_characters], filters=[stripped])
    text = text_area("Addendum", required=True, n=20000, message="Write the addendum.")
    submit = SubmitField("Add addendum")


class ConfirmForm(Form):
    confirm = BooleanField(
        "I have reviewed this record; sign it and lock it",
        validators=[DataRequired("Tick the box to confirm that you sign this record.")],
    )
    submit = SubmitField("Sign and lock")
