"""The site form: what an administrator types about a clinic location, checked by the site rules."""

from __future__ import annotations

from wtforms import BooleanField, HiddenField, StringField, SubmitField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, Optional

from ..forms import Form, max_length, no_control_characters, stripped
from ..rules import clients as client_rules
from ..rules import sites as rules


def upper(value):
    """Filter: trimmed and in capitals (codes and registration numbers); empty becomes None."""
    value = stripped(value)
    return value.upper() if isinstance(value, str) else value


def _checked(problem):
    """A field validator from a site rule (the rule returns a sentence, or None)."""

    def check(form, field):
        if field.data and not field.errors:
            message = problem(field.data)
            if message:
                raise ValidationError(message)

    return check


class SiteForm(Form):
    code = StringField(
        "Code", validators=[DataRequired("Enter a short code for the site, for example NYC."), max_length(8),
                            _checked(rules.code_problem)],
        filters=[upper], description="2 to 8 capital letters or digits, shown where space is short.",
    )
    name = StringField(
        "Name", validators=[DataRequired("Enter the site's name."), max_length(200), no_control_characters],
        filters=[stripped],
    )
    address = TextAreaField(
        "Address", validators=[Optional(), max_length(500), no_control_characters], filters=[stripped],
    )
    time_zone = StringField(
        "Time zone", validators=[DataRequired("Enter the site's time zone, for example America/New_York."),
                                 max_length(64), _checked(rules.time_zone_problem)],
        filters=[stripped], description="An IANA time zone name, such as America/New_York or America/Denver.",
    )
    phone = StringField(
        "Phone", validators=[Optional(), max_length(40), _checked(client_rules.phone_problem)], filters=[stripped],
    )
    dea_registration = StringField(
        "DEA registration number",
        validators=[Optional(), max_length(9), _checked(rules.dea_problem)], filters=[upper],
        description="The site's registration for controlled substances: 2 letters and 7 digits.",
    )
    crisis_line = StringField(
        "Crisis line", validators=[DataRequired("Enter the crisis line shown to this site's clients (988 in the US)."),
                                   max_length(40), _checked(rules.crisis_line_problem)],
        filters=[stripped], default=rules.DEFAULT_CRISIS_LINE,
        description="Shown to the site's clients; 988 is the US Suicide & Crisis Lifeline.",
    )
    version = HiddenField()
    submit = SubmitField("Save site")


class EditSiteForm(SiteForm):
    active = BooleanField(
        "The site is active", description="An inactive site is offered to no new client; its records stay.",
    )
