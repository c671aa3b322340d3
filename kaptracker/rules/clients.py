"""Client registry rules: ages, dates of birth, phone numbers, record numbers."""

from __future__ import annotations

import datetime as dt
import re

RECORD_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9./-]{0,31}$")
PHONE = re.compile(r"^\+?[0-9 ()./-]+$")
EARLIEST_BIRTH_YEAR = 1900


def age_on(date_of_birth: dt.date, today: dt.date) -> int:
    """Completed years; someone born on 29 February has their birthday on 1 March."""
    years = today.year - date_of_birth.year
    if (today.month, today.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


def date_of_birth_problem(date_of_birth: dt.date, today: dt.date, minimum_age: int) -> str | None:
    if date_of_birth > today:
        return "The date of birth cannot be in the future."
    if date_of_birth.year < EARLIEST_BIRTH_YEAR:
        return f"Enter a date of birth after {EARLIEST_BIRTH_YEAR}."
    if age_on(date_of_birth, today) < minimum_age:
        return (
            f"The client must be at least {minimum_age} years old "
            "(the clinic's minimum age setting)."
        )
    return None


def dialable_problem(number: str, *, example: str, digits: range, wrong_count: str) -> str | None:
    """Why ``number`` is not a number to dial: characters other than digits, spaces and + - ( ) . /,
    or a count of digits outside ``digits`` (``wrong_count`` says so). None when it is."""
    if not PHONE.match(number):
        return f"Use digits, spaces and + - ( ) only, for example {example}."
    if sum(ch.isdigit() for ch in number) not in digits:
        return wrong_count
    return None


def phone_problem(phone: str) -> str | None:
    return dialable_problem(phone, example="+1 555 010 0199", digits=range(6, 16),
                            wrong_count="A phone number has 6 to 15 digits.")


def record_number_problem(record_number: str) -> str | None:
    if not RECORD_NUMBER.match(record_number):
        return (
            "Use 1 to 32 letters, digits, dots, slashes or hyphens, starting with a letter or "
            "digit."
        )
    return None
