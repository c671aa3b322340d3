from __future__ import annotations

import datetime as dt
import re

from wtforms import IntegerField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional
from wtforms.widgets import TextInput

from ..courses.forms import DATETIME_FORMAT, at_most_ahead, when
from ..forms import Form, choices, max_length, no_control_characters, stripped
from ..models import OverrideKind
from ..rules.vitals import Timepoint


class WholeNumberField(IntegerField):
    """An integer field whose typing errors read as a sentence beside the field. A text input
    (with a numeric keypad on tablets), not type=number: a mouse wheel or arrow key must not
    silently change a blood pressure already typed."""

    widget = TextInput()

    def process_formdata(self, valuelist):
        text = valuelist[0].strip() if valuelist else ""
        if text:
            # ASCII digits only: int() would also take "١٢٠" or "1_20", which no cuff shows.
            try:
                if not re.fullmatch(r"-?[0-9]+", text):
                    raise ValueError
                self.data = int(text)  # a too-long number fails the range check with its message
            except ValueError:  # also int()'s limit on the number of digits
                self.data = None
                raise ValueError("Enter a whole number, for example 128.") from None
        else:
            self.data = None


class VitalsForm(Form):
    systolic = WholeNumberField("Systolic", validators=[InputRequired("Enter the systolic pressure.")],
                                render_kw={"inputmode": "numeric", "autocomplete": "off", "autofocus": True})
    diastolic = WholeNumberField("Diastolic", validators=[InputRequired("Enter the diastolic pressure.")],
                                 render_kw={"inputmode": "numeric", "autocomplete": "off"})
    heart_rate = WholeNumberField("Pulse", validators=[InputRequired("Enter the heart rate.")],
                                  render_kw={"inputmode": "numeric", "autocomplete": "off"})
    spo2 = WholeNumberField("SpO₂ %", validators=[Optional()],
                            render_kw={"inputmode": "numeric", "autocomplete": "off"})
    timepoint = SelectField("Timepoint", choices=choices((t.value, t.label) for t in Timepoint))
    taken_at = when("Taken at", description="Now, unless you type the reading in later.")
    note = StringField("Note", validators=[Optional(), max_length(300), no_control_characters], filters=[stripped])
    submit = SubmitField("Save reading")
    validate_taken_at = at_most_ahead(dt.timedelta(minutes=2), "A reading cannot be in the future.")


class EnteredInErrorForm(Form):
    error_reason = StringField("Why is it wrong?", validators=[
        DataRequired("Say why this reading is wrong (for example: typed 118 for 181)."),
        max_length(200), no_control_characters], filters=[stripped])
    submit = SubmitField("Mark entered in error")


class AcknowledgeForm(Form):
    acknowledgement_note = TextAreaField("Action taken", validators=[Optional(), max_length(1000), no_control_characters],
                                         filters=[stripped], description="For example: repeated after 5 minutes, physician informed.")
    submit = SubmitField("Acknowledge")


class OverrideForm(Form):
    kind = RadioField("Override", choices=choices((k.value, k.label) for k in OverrideKind),
                      validators=[InputRequired("Choose what you override.")])
    reason = TextAreaField("Clinical reason", validators=[
        DataRequired("Give the clinical reason for going ahead against the rule."),
        max_length(2000), no_control_characters], filters=[stripped])
    submit = SubmitField("Record override")


__all__ = ["DATETIME_FORMAT", "AcknowledgeForm", "EnteredInErrorForm", "OverrideForm", "VitalsForm"]
