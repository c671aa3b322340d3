"""Form pieces shared by every blueprint."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import TypeVar

from flask import abort, flash, redirect
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectChoice, ValidationError
from wtforms.validators import Length
from wtforms.widgets import HiddenInput, SubmitInput

from .rules.passwords import password_problems
from .services import Outcome, apply_problems


class Form(FlaskForm):
    """The base of every form: its hidden inputs and submit buttons render without an id.

    A page often holds several forms, each with a CSRF token, a version and a submit button, or one
    form per row (mark a reading entered in error); the default ids (``csrf_token``, ``version``,
    ``submit``) would then repeat on the page, which HTML forbids. Nothing needs those ids: no
    label names a hidden input, and a button's own text names it. An id given explicitly stays.
    """

    class Meta:
        def render_field(self, field, render_kw):
            unnamed = isinstance(field.widget, HiddenInput | SubmitInput)
            if unnamed and "id" not in render_kw and "id" not in (field.render_kw or {}):
                render_kw = {**render_kw, "id": False}
            return super().render_field(field, render_kw)


def submitted(form, command: Callable[[Mapping, object], Outcome], to: str):
    """A valid submit of ``form`` runs ``command(form.data, current_user)``: when it goes through,
    its message is flashed and the answer is the redirect to ``to``. Otherwise None, for the view
    to show the form again: the command's problems beside their fields, those of the form as a
    whole flashed."""
    if not form.validate_on_submit():
        return None
    outcome = command(form.data, current_user)
    if outcome.ok:
        flash(outcome.message, outcome.category)
        return redirect(to)
    for message in apply_problems(form, outcome):
        flash(message, "error")
    return None


def stripped(value):
    """WTForms filter: trim surrounding white space; empty text becomes None."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def no_control_characters(form, field):
    """Refuse NUL and other control characters (but tab and newline) in free text."""
    data = field.data
    if isinstance(data, str) and any(
        (ord(ch) < 32 and ch not in "\t\n\r") or ord(ch) == 127 for ch in data
    ):
        raise ValidationError("Remove the invisible control characters from this text.")


def strong_password(email_field: str | None = None, name_field: str | None = None):
    def check(form, field):
        email = getattr(form, email_field).data if email_field else ""
        name = getattr(form, name_field).data if name_field else ""
        problems = password_problems(field.data or "", email=email or "", name=name or "")
        if problems:
            raise ValidationError(" ".join(problems))

    return check


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def choice_labels(field) -> dict:
    """value -> label of a select field's choices."""
    return {choice.value: choice.label for choice in field.choices}


def max_length(n: int) -> Length:
    return Length(max=n, message=f"Use at most {n} characters.")


# Ids and page numbers in the query string stay within the database's integer range.
MAX_INT = 2**31 - 1


E = TypeVar("E", bound=Enum)


def member_or_404(enum: type[E], value: str) -> E:
    """The member of ``enum`` a URL segment names (a session kind, a scale); any other is a 404."""
    try:
        return enum(value)
    except ValueError:
        abort(404)


def positive_int(value: str) -> int:
    """``type=`` for request.args.get: a whole number from 1 to MAX_INT, else ValueError (the
    argument is then ignored rather than reaching the database)."""
    number = int(value)
    if not 1 <= number <= MAX_INT:
        raise ValueError(value)
    return number
