"""Exports of patient data: a client's record as FHIR R4, the caseload and a course's vitals as
CSV. Every export is audited; file names carry record ids, never names."""

from flask import Blueprint

bp = Blueprint("exports", __name__)
