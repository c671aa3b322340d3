"""Password policy (NIST SP 800-63B style): length over complexity, and no known-bad passwords."""

from __future__ import annotations

MIN_LENGTH = 12
MAX_LENGTH = 256  # hashing a megabyte-long "password" is a cheap denial of service

# Passwords of 12+ characters that appear near the top of public breach lists.
COMMON = frozenset(
    {
        "123456789012",
        "1234567890123",
        "qwertyuiopas",
        "password1234",
        "password12345",
        "passwordpassword",
        "qwerty123456",
        "iloveyou1234",
        "111111111111",
        "000000000000",
        "aaaaaaaaaaaa",
        "abcdefghijkl",
        "abc123abc123",
        "letmeinletmein",
        "welcome12345",
        "changeme1234",
        "administrator",
    }
)


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Reasons ``password`` is not acceptable, as sentences for the form; empty when it is."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    if password and not password.strip():
        problems.append("A password cannot be only spaces.")
    lowered = password.lower()
    if lowered in COMMON or (len(set(password)) <= 2 and len(password) >= MIN_LENGTH):
        problems.append("This password is too common or too easy to guess.")
    local_part = email.split("@", 1)[0].lower()
    if (local_part and len(local_part) >= 4 and local_part in lowered) or (
        email and lowered == email.lower()
    ):
        problems.append("Do not use your email address in your password.")
    if name and len(name) >= 4 and lowered == name.lower().replace(" ", ""):
        problems.append("Do not use your name as your password.")
    return problems
