"""Forms for outcome measures: one item-by-item form per scale, built from the scale's items."""

from __future__ import annotations

import datetime as dt

from wtforms import DateField, IntegerField, RadioField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional, ValidationError

from ..forms import Form, choices, max_length, no_control_characters, stripped
from ..rules.scales import Occasion, Scale
from .. import clock


class ScoreFormBase(Form):
    completed_on = DateField(
        "Completed on", validators=[InputRequired("Enter the date the client completed it.")],
        description="The day the client answered, which may be before today.",
    )
    occasion = RadioField(
        "When in the course",
        choices=choices((o.value, o.label) for o in Occasion),
        validators=[InputRequired("Choose when in the course this was completed.")],
    )
    session_number = IntegerField(
        "Before medicine session number",
        validators=[Optional(), NumberRange(1, 24, "Enter a session number from 1 to 24.")],
        description="Only for scores completed before a medicine session.",
    )
    submit = SubmitField("Save score")

    scale: Scale
    item_names: tuple[str, ...]

    def __init__(self, *args, course_started: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._course_started = course_started

    def validate_completed_on(self, field):
        if field.data is None:
            return
        if field.data > clock.today():
            raise ValidationError("This date is in the future. Enter the day it was completed.")
        if self._course_started and field.data < self._course_started - dt.timedelta(days=90):
            raise ValidationError("This is more than 90 days before the course started.")

    def validate(self, extra_validators=None):
        # Not an inline validate_session_number: Optional() stops the chain when the field is
        # empty, so such a check never ran and a pre-session score was saved without its number.
        valid = super().validate(extra_validators)
        field = self.session_number
        if self.occasion.data == Occasion.PRE_SESSION.value and field.data is None and not field.errors:
            field.errors = [*field.errors, "Enter which medicine session this score was completed before."]
            return False
        return valid

    def answers(self) -> list[int | None]:
        return [self[name].data for name in self.item_names]

    def item_fields(self):
        return [self[name] for name in self.item_names]


class AnswerField(RadioField):
    """One item's answer, 0..max. A forged or garbled value reads as a sentence beside the item."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError("Choose one of the answers shown.") from None

    def pre_validate(self, form):
        if self.data is not None and self.data not in {choice.value for choice in self.choices}:
            raise ValidationError("Choose one of the answers shown.")


_FORMS: dict[Scale, type[ScoreFormBase]] = {}


def score_form_class(scale: Scale) -> type[ScoreFormBase]:
    """A form class with one required radio group per item (answers 0..max)."""
    if scale not in _FORMS:
        spec = scale.spec
        attrs = {}
        names = []
        for number, text in enumerate(spec.items, start=1):
            name = f"item_{number}"
            names.append(name)
            attrs[name] = AnswerField(
                f"{number}. {text}",
                choices=choices((value, f"{value} · {label}") for value, label in enumerate(spec.answers)),
                coerce=int,
                validators=[InputRequired("Choose an answer for this item.")],
            )
        attrs["scale"] = scale
        attrs["item_names"] = tuple(names)
        _FORMS[scale] = type(f"{spec.label.replace('-', '')}Form", (ScoreFormBase,), attrs)
    return _FORMS[scale]


class FlagAcknowledgeForm(Form):
    flag_action = TextAreaField(
        "What was done",
        filters=[stripped],
        validators=[DataRequired("Write what was done: the risk assessment and the plan."),
                    max_length(2000), no_control_characters],
        description="For example: risk assessed with the client today, safety plan reviewed, "
                    "supervisor informed.",
    )
    submit = SubmitField("Acknowledge the flag")


ERROR_REASONS = (("", "Choose a reason"), ("Typed in wrongly", "Typed in wrongly"), ("Wrong client", "Wrong client"),
                 ("Wrong date or occasion", "Wrong date or occasion"), ("Duplicate", "Duplicate"))


class ScoreErrorForm(Form):
    error_reason = SelectField(
        "Why is it wrong",
        choices=choices(ERROR_REASONS),
        validators=[DataRequired("Choose why this score is wrong.")],
    )
    submit = SubmitField("Mark entered in error")
