"""The client registry."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..rules.labels import LabelledEnum
from .base import UTCDateTime, not_empty, str_enum, utcnow
from .sites import Site
from .users import User


class Indication(LabelledEnum):
    DEPRESSION = "depression", "Treatment-resistant depression"
    PTSD = "ptsd", "PTSD / trauma"
    ANXIETY = "anxiety", "Anxiety"
    BURNOUT = "burnout", "Burnout"
    GRIEF = "grief", "Prolonged grief"
    EXISTENTIAL = "existential", "Existential distress"
    OTHER = "other", "Other"


class ClientStatus(LabelledEnum):
    REFERRED = "referred", "Referred"  # registered, awaiting screening
    ACTIVE = "active", "In treatment"  # in a treatment course
    ON_HOLD = "on_hold", "On hold"
    DISCHARGED = "discharged", "Discharged"


# Medical staff screen referred clients and dose active ones.
IN_TREATMENT_STATUSES = (ClientStatus.REFERRED, ClientStatus.ACTIVE)


class Client(db.Model):
    __tablename__ = "client"
    __table_args__ = (not_empty("record_number"), not_empty("family_name"))

    id: Mapped[int] = mapped_column(primary_key=True)
    record_number: Mapped[str] = mapped_column(String(32), unique=True)
    given_name: Mapped[str] = mapped_column(String(80))
    family_name: Mapped[str] = mapped_column(String(80))
    preferred_name: Mapped[str | None] = mapped_column(String(80))
    pronouns: Mapped[str | None] = mapped_column(String(40))
    date_of_birth: Mapped[dt.date]
    phone: Mapped[str] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(Text)
    emergency_contact_name: Mapped[str] = mapped_column(String(120))
    emergency_contact_relationship: Mapped[str] = mapped_column(String(60))
    emergency_contact_phone: Mapped[str] = mapped_column(String(40))
    indication_other: Mapped[str | None] = mapped_column(String(200))
    therapist_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    home_site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    status: Mapped[ClientStatus] = mapped_column(
        str_enum(ClientStatus, "client_status"), default=ClientStatus.REFERRED, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic locking: an UPDATE names the version it read, so a concurrent edit is detected.
    version: Mapped[int] = mapped_column()
    __mapper_args__ = {"version_id_col": version}

    therapist: Mapped[User] = relationship()
    home_site: Mapped[Site] = relationship()
    indication_rows: Mapped[list[ClientIndication]] = relationship(
        cascade="all, delete-orphan", order_by="ClientIndication.indication"
    )

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def display_name(self) -> str:
        """Family name first, as clinical lists sort, with the preferred name if any."""
        preferred = f" ({self.preferred_name})" if self.preferred_name else ""
        return f"{self.family_name}, {self.given_name}{preferred}"

    @property
    def indications(self) -> list[Indication]:
        return [row.indication for row in self.indication_rows]

    @indications.setter
    def indications(self, values) -> None:
        wanted = {Indication(v) for v in values}
        self.indication_rows = [r for r in self.indication_rows if r.indication in wanted]
        have = {r.indication for r in self.indication_rows}
        for value in sorted(wanted - have):
            self.indication_rows.append(ClientIndication(indication=value))


# Duplicate check (same name and date of birth) and name search.
Index("ix_client_family_name_lower_dob", func.lower(Client.family_name), Client.date_of_birth)
# The client list's order; on PostgreSQL the name search also has a trigram index (migration 0006).
Index("ix_client_name_order", Client.family_name, Client.given_name, Client.id)


class ClientIndication(db.Model):
    __tablename__ = "client_indication"

    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"), primary_key=True)
    indication: Mapped[Indication] = mapped_column(
        str_enum(Indication, "indication"), primary_key=True
    )
