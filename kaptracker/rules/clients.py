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


def phone_problem(phone: str) -> str | None:
    digits = sum(ch.isdigit() for ch in phone)
    if not PHONE.match(phone):
        return "Use digits, spaces and + - ( ) only, for example +1 555 010 0199."
    if not 6 <= digits <= 15:
        return "A phone number has 6 to 15 digits."
    return None


def record_number_problem(record_number: str) -> str | None:
    if not RECORD_NUMBER.match(record_number):
        return (
            "Use 1 to 32 letters, digits, dots, slashes or hyphens, starting with a letter or "
            "digit."
        )
    return None
