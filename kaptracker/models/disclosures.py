"""Disclosures: every time a client's data left the tracker (an export, a PDF, a FHIR bundle) or
was opened by emergency access, with who, when, what and why — the accounting of disclosures a
client may ask for (45 CFR 164.528). Append-only (database triggers, migration 0008).

``kind`` and ``purpose`` are plain strings checked against :mod:`kaptracker.disclosures`' registry,
so a new way of disclosing (the ledger's lot traces) adds a kind there, without a migration."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .users import User


class Disclosure(db.Model):
    __tablename__ = "disclosure"
    __table_args__ = (
        # A client's accounting, newest first, from six years ago: one index range.
        Index("ix_disclosure_client_at", "client_id", "at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(40))  # registry: kaptracker.disclosures.KINDS
    purpose: Mapped[str] = mapped_column(String(40))  # registry: kaptracker.disclosures.PURPOSES
    # What left: the record and a description without patient data ("PDF summary of course 12").
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int | None]
    what: Mapped[str] = mapped_column(Text)
    # Who received it (a person or an organisation); None for the client's own copy and break-glass.
    recipient: Mapped[str | None] = mapped_column(String(200))
    # Free text the discloser wrote (the break-glass reason); None for a purpose chosen from the list.
    reason: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship()
