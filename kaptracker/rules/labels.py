"""String enums whose members carry the label the pages show. Imports nothing from the app.

A member is declared with its stored value and its label::

    class Route(LabelledEnum):
        IM = "im", "Intramuscular (IM) injection"

``Route.IM.value`` is ``"im"`` (what the database stores and forms post) and ``Route.IM.label``
is the label, so the two never live in separate tables that can drift apart.
"""

from __future__ import annotations

import enum


class LabelledEnum(enum.StrEnum):
    """A ``StrEnum`` whose members are declared ``NAME = "value", "Label"``."""

    _label: str

    def __new__(cls, value: str, label: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = label
        return member

    @property
    def label(self) -> str:
        return self._label
