from __future__ import annotations

from sqlalchemy import select
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from ..extensions import db
from ..forms import Form, choices, max_length, no_control_characters, strong_password, stripped
from ..clients.forms import MultiCheckboxField
from ..models import Site, User, normalise_email
from ..rules import settings as registry
from ..rules.access import Role
from ..rules.passwords import password_problems


def role_choices():
    return choices((role.value, role.label) for role in Role)


def site_choices():
    """Every active site, by name, as checkbox choices (id, "Name (CODE)")."""
    return [(str(site.id), f"{site.name} ({site.code})")
            for site in db.session.scalars(select(Site).where(Site.active.is_(True)).order_by(Site.name))]


class _WorksAt:
    """The sites a member of staff works at, and whether they lead the network."""

    sites = MultiCheckboxField(
        "Works at", validate_choice=False,
        description="The sites whose clients this person sees (a supervisor: supervises). "
                    "Administrators work at none.")
    network_lead = BooleanField("Network medical lead: a supervisor of every site")

    def _choose_sites(self):
        self.sites.choices = site_choices()

    def validate_sites(self, field):
        offered = {value for value, _ in field.choices}
        if any(value not in offered for value in field.data or ()):
            raise ValidationError("Choose among the active sites listed.")


class StaffSitesForm(_WorksAt, Form):
    submit = SubmitField("Save sites")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._choose_sites()


class NewUserForm(_WorksAt, Form):
    name = StringField(
        "Full name", validators=[DataRequired("Enter the person's name."), max_length(120),
                                 no_control_characters], filters=[stripped],
    )
    email = EmailField(
        "Email",
        validators=[DataRequired("Enter an email address."), max_length(254),
                    Email("Enter an email address like name@example.org.")],
        filters=[stripped],
    )
    role = SelectField("Role", choices=role_choices())
    password = PasswordField(
        "Initial password",
        validators=[DataRequired("Enter an initial password."), strong_password("email", "name")],
        description="At least 12 characters. Give it to the person privately; they can change it "
        "under My account.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Initial password again",
        validators=[DataRequired("Type the password again."),
                    EqualTo("password", "The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Create account")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._choose_sites()

    def validate_email(self, field):
        # An address already refused (say, with a NUL byte PostgreSQL cannot take) is not looked up.
        if field.data and not field.errors and db.session.scalar(
            select(User.id).where(User.email == normalise_email(field.data))
        ):
            raise ValidationError("An account with this email already exists.")


class EditUserForm(Form):
    name = StringField(
        "Full name", validators=[DataRequired("Enter the person's name."), max_length(120),
                                 no_control_characters], filters=[stripped],
    )
    role = SelectField("Role", choices=role_choices())
    # Users have no version column: a digest of the name and role as loaded (conflicts.fingerprint).
    version = HiddenField()
    submit = SubmitField("Save")


class ResetPasswordForm(Form):
    password = PasswordField(
        "New password",
        validators=[DataRequired("Enter a new password."), strong_password()],
        description="Their open sessions end and failed sign-ins are forgotten.",
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Reset password")

    def __init__(self, *args, user: User | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._user = user

    def validate_password(self, field):
        # The same rule as for a new account: not the person's email address or name.
        if self._user is None or field.errors or not field.data:
            return
        problems = password_problems(field.data, email=self._user.email, name=self._user.name)
        if problems:
            raise ValidationError(" ".join(problems))


class SettingsForm(Form):
    """Fields are added per setting at run time (see :func:`settings_form`)."""

    reason = TextAreaField(
        "Reason for the change",
        validators=[DataRequired("Say why the settings change (it is kept with the change)."),
                    Length(max=1000), no_control_characters],
        filters=[stripped],
        description="For clinical thresholds, name the medical lead who approved it.",
    )
    approved_by = StringField(
        "Medical lead who signed off",
        validators=[Optional(), max_length(120), no_control_characters],
        filters=[stripped],
        description="Required when a clinical setting changes (vital signs, dose ranges, "
        "contraindications, treatment course).",
    )
    # The newest setting change when the form was opened: a later one means someone else saved.
    version = HiddenField()
    submit = SubmitField("Save settings")


def field_name(key: str) -> str:
    """The settings form's field of the setting ``key``."""
    return "s_" + key.replace(".", "__")


def settings_form(values: dict, **kwargs) -> SettingsForm:
    """A SettingsForm with one text field per setting, labelled and validated by its spec."""

    class Form(SettingsForm):
        pass

    for spec in registry.SPECS:
        setattr(
            Form, field_name(spec.key),
            StringField(spec.label, validators=[DataRequired(f"Enter a value for {spec.label.lower()}."),
                                                no_control_characters],
                        description=" ".join(p for p in (spec.help, f"Default {spec.default} {spec.unit}.".replace(" .", ".")) if p),
                        default=str(values[spec.key])),
        )
    return Form(**kwargs)


def grouped_fields(form: SettingsForm) -> dict[str, list]:
    """{group: [(spec, field)]}, in the registry's order, as the settings page shows them."""
    groups: dict[str, list] = {}
    for spec in registry.SPECS:
        groups.setdefault(spec.group, []).append((spec, form[field_name(spec.key)]))
    return groups


def clear_name(key: str) -> str:
    """The site settings form's "Use the network default" box of the setting ``key``."""
    return "c_" + key.replace(".", "__")


def _shown(spec, value) -> str:
    return f"{value} {spec.unit}".strip()


def site_settings_form(values: dict, network: dict, overridden, **kwargs) -> SettingsForm:
    """A site's settings form: one text field per per-site setting, holding the value in force
    at the site (``values``), its hint saying the network's (``network``); and, for each setting
    the site overrides (``overridden``), a box to go back to the network's value."""

    class Form(SettingsForm):
        pass

    for spec in registry.SPECS:
        if not spec.per_site:
            continue
        network_value = _shown(spec, network[spec.key])
        where = (f"This site's own value; the network's is {network_value}." if spec.key in overridden
                 else f"The network's value, {network_value}; a different one becomes this site's own.")
        setattr(
            Form, field_name(spec.key),
            StringField(spec.label, validators=[DataRequired(f"Enter a value for {spec.label.lower()}."),
                                                no_control_characters],
                        description=" ".join(p for p in (spec.help, where) if p),
                        default=str(values[spec.key])),
        )
        if spec.key in overridden:
            setattr(Form, clear_name(spec.key), BooleanField(f"Use the network default ({network_value})"))
    return Form(**kwargs)


def grouped_site_fields(form: SettingsForm, overridden) -> dict[str, list]:
    """{group: [(spec, field, box or None, overridden)]} of a site's settings form, in the
    registry's order; the settings that hold at every site are left out (the page lists them)."""
    groups: dict[str, list] = {}
    for spec in registry.SPECS:
        if spec.per_site:
            box = form[clear_name(spec.key)] if spec.key in overridden else None
            groups.setdefault(spec.group, []).append((spec, form[field_name(spec.key)], box,
                                                      spec.key in overridden))
    return groups
