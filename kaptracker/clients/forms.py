from __future__ import annotations


from sqlalchemy import func, select
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, Email, InputRequired, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from .. import clock, settings
from ..extensions import db
from ..forms import Form, choices, max_length, no_control_characters, stripped
from ..models import Client, ClientStatus, Indication, Site, User
from ..rules import clients as rules
from ..rules.access import Role
from ..services import clients as client_commands


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def active_therapists() -> list[tuple[int, str]]:
    """(id, name) of every active therapist, by name."""
    rows = db.session.execute(
        select(User.id, User.name)
        .where(User.role == Role.THERAPIST, User.active.is_(True))
        .order_by(User.name)
    )
    return [(uid, name) for uid, name in rows]


def therapist_choices():
    return choices(active_therapists())


def active_sites() -> list[tuple[int, str]]:
    """(id, name) of every active site, by name."""
    return [(sid, name) for sid, name in db.session.execute(
        select(Site.id, Site.name).where(Site.active.is_(True)).order_by(Site.name))]


def _site_id(value):
    """A site id from the form, or None for the empty "choose" option (an id that is not a
    number raises ValueError: WTForms puts its message beside the field)."""
    return None if value in (None, "") else int(value)


def _text(label, n, required=True, message=None, **kw):
    validators = [DataRequired(message or f"Enter the {label.lower()}.")] if required else [Optional()]
    return StringField(
        label, validators=[*validators, max_length(n), no_control_characters],
        filters=[stripped], **kw
    )


def _phone(form, field):
    if field.data:
        problem = rules.phone_problem(field.data)
        if problem:
            raise ValidationError(problem)


class ClientForm(Form):
    record_number = _text(
        "Record number", 32, description="The clinic's own record number for this client."
    )
    given_name = _text("Given name", 80)
    family_name = _text("Family name", 80)
    preferred_name = _text("Preferred name", 80, required=False)
    pronouns = _text("Pronouns", 40, required=False)
    date_of_birth = DateField(
        "Date of birth",
        validators=[InputRequired("Enter the date of birth as a full date.")],
    )
    phone = _text("Phone", 40, message="Enter a phone number for the client.")
    email = EmailField(
        "Email",
        validators=[Optional(), max_length(254), Email("Enter an email address like name@example.org.")],
        filters=[stripped],
    )
    address = TextAreaField(
        "Address", validators=[Optional(), max_length(500), no_control_characters],
        filters=[stripped],
    )
    emergency_contact_name = _text(
        "Emergency contact name", 120,
        message="Enter who to call in an emergency: KAP needs someone to take the client home.",
    )
    emergency_contact_relationship = _text(
        "Relationship to the client", 60, message="Enter how the emergency contact is related."
    )
    emergency_contact_phone = _text(
        "Emergency contact phone", 40, message="Enter the emergency contact's phone number."
    )
    indications = MultiCheckboxField(
        "Indications",
        choices=choices((i.value, i.label) for i in Indication),
        validators=[DataRequired("Choose at least one indication.")],
    )
    # No Optional(): it would stop the chain on an empty value before validate_indication_other.
    indication_other = StringField(
        "Other indication", validators=[max_length(200), no_control_characters],
        filters=[stripped], description="Required when 'Other' is ticked.",
    )
    therapist_id = SelectField("Therapist", coerce=int, validate_choice=True)
    # Required by validate_home_site_id; the command refuses a site not active (beside the field).
    home_site_id = SelectField("Home site", coerce=_site_id, validate_choice=False,
                               description="The site where the client is usually seen.")
    status = SelectField(
        "Status",
        choices=choices((s.value, s.label) for s in ClientStatus),
        default="referred",
    )
    version = HiddenField()
    confirm_duplicate = BooleanField("This is a different person: register anyway")
    submit = SubmitField("Save client")

    def __init__(self, *args, client: Client | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._client = client
        self.therapist_id.choices = therapist_choices()
        # A client stays with a therapist who has since left, until a supervisor reassigns.
        if client is not None and client.therapist_id not in {c.value for c in self.therapist_id.choices}:
            self.therapist_id.choices += choices([(client.therapist_id, f"{client.therapist.name} (inactive)")])
        self._sites = active_sites()
        self.home_site_id.choices = choices(self._sites)
        if len(self._sites) == 1:  # the only site: chosen already (also when a form leaves it out)
            if self.home_site_id.data is None:
                self.home_site_id.data = self._sites[0][0]
        elif client is None or client.home_site_id is None:
            self.home_site_id.choices = choices([("", "Choose the home site"), *self._sites])
        # A client stays at a site since deactivated, until someone moves them.
        if client is not None and client.home_site_id not in {sid for sid, _ in self._sites}:
            self.home_site_id.choices += choices([(client.home_site_id, f"{client.home_site.name} (inactive)")])

    def validate_record_number(self, field):
        if not field.data:
            return
        problem = rules.record_number_problem(field.data)
        if problem:
            raise ValidationError(problem)
        stmt = select(Client.id).where(func.lower(Client.record_number) == field.data.lower())
        if self._client is not None:
            stmt = stmt.where(Client.id != self._client.id)
        if db.session.scalar(stmt) is not None:
            raise ValidationError("Another client already has this record number.")

    def validate_date_of_birth(self, field):
        if field.data is None:
            return
        today = clock.today()
        problem = rules.date_of_birth_problem(
            field.data, today, settings.get("clients.minimum_age_years")
        )
        if problem:
            raise ValidationError(problem)

    def validate_phone(self, field):
        _phone(self, field)

    def validate_emergency_contact_phone(self, field):
        _phone(self, field)

    def validate_home_site_id(self, field):
        # Whether the site chosen is one a client may have is the command's rule.
        if field.data is None:
            raise ValidationError("Choose the client's home site.")

    def validate_indication_other(self, field):
        if "other" in (self.indications.data or []) and not field.data:
            raise ValidationError("Describe the other indication.")

    def duplicates(self) -> list[Client]:
        """Existing clients with the same name and date of birth (a likely double registration)."""
        return client_commands.duplicates(self.data, exclude=self._client)


class ReassignForm(Form):
    therapist_id = SelectField("New therapist", coerce=int, validate_choice=True)
    submit = SubmitField("Reassign")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.therapist_id.choices = therapist_choices()


class SearchForm(Form):
    q = SearchField(
        "Name or record number",
        validators=[Optional(), max_length(100), no_control_characters],
        filters=[stripped],
    )
    page = IntegerField(validators=[Optional()])
