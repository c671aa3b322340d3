"""The printable course summary and its PDF: everything a colleague needs on paper, audited."""

from __future__ import annotations


import pytest
from sqlalchemy import select

from kaptracker.extensions import db
from kaptracker.models import AuditAction, AuditEvent
from kaptracker.rules.scales import Scale
import factories
from tests.course_support import page

# An export states its purpose and recipient first (the accounting of disclosures).
EXPORT = {"purpose": "treatment", "recipient": "Dr Imani Osei, Riverside Psychiatry"}


def _course_with_medicine(clinic, medicine_sessions=1):
    course_id = factories.ready(clinic, planned_medicine_sessions="6").id
    for _ in range(medicine_sessions):
        dosing = factories.medicine(clinic, course_id, "im", "signed").id
        factories.integration(clinic, course_id, dosing)
    factories.score(course_id, clinic.therapist, Scale.PHQ9, [2] * 9)  # 18, moderately severe, item 9 flagged
    return course_id


def test_the_summary_holds_the_whole_course(clinic):
    course_id = _course_with_medicine(clinic)
    response = clinic.get(clinic.therapist, f"/courses/{course_id}/summary")
    assert response.status_code == 200
    text = page(response)
    assert clinic.record.record_number in text
    assert "Eligible , decided and signed by" in text
    for heading in ("Preparation session", "Medicine session", "Integration session", "Vital signs",
                    "Outcome measures", "Doses: total 35.0 mg"):
        assert heading in text, heading
    assert "Uneventful." in text  # the signed note of the medicine session
    assert "PHQ-9" in text and "18" in text
    html = response.get_data(as_text=True)
    assert 'class="vitals-chart__svg"' in html and 'class="scale-chart__svg"' in html
    assert "data-print" in html and f"/courses/{course_id}/summary.pdf" in html
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.record_type == "course_summary")).one()
    assert event.action is AuditAction.VIEW and event.client_id == clinic.record.id


def test_the_pdf_is_a_pdf_and_its_download_is_audited(clinic):
    course_id = _course_with_medicine(clinic)
    response = clinic.post(clinic.medical, f"/courses/{course_id}/summary.pdf", EXPORT)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    disposition = response.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="course-{course_id}-summary.pdf"'
    assert clinic.record.family_name not in disposition
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.EXPORT)).one()
    assert (event.record_type, event.record_id, event.detail) == ("course_summary", course_id, "PDF; purpose treatment")


def test_the_pdf_renderer_reads_only_our_own_stylesheets(app, tmp_path):
    from weasyprint.urls import URLFetchingError

    from kaptracker.reports.views import render_pdf, static_only_fetcher

    fetch = static_only_fetcher(app.static_folder)
    assert fetch.fetch("kap-static:/css/print.css").status == 200
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    for url in (f"file://{secret}", "kap-static:/../setup.cfg", "kap-static:/../../etc/passwd",
                "http://127.0.0.1:9/x.css", "kap-static:/css/missing.css"):
        with pytest.raises(URLFetchingError):
            fetch.fetch(url)
    html = f'<link rel="stylesheet" href="file://{secret}"><img src="file:///etc/passwd"><p>Text</p>'
    with app.test_request_context():
        assert render_pdf(html).startswith(b"%PDF")  # refused resources do not stop the PDF


def test_someone_elses_client_gets_404_and_admin_403(clinic):
    course_id = _course_with_medicine(clinic)
    assert clinic.get(clinic.other_therapist, f"/courses/{course_id}/summary").status_code == 404
    assert clinic.post(clinic.other_therapist, f"/courses/{course_id}/summary.pdf", EXPORT).status_code == 404
    assert clinic.get(clinic.admin, f"/courses/{course_id}/summary").status_code == 403


def test_the_summary_runs_the_same_queries_for_one_or_three_medicine_sessions(
    clinic, make_client, count_queries
):
    counts = []
    for n in (1, 3):
        clinic.record = make_client(clinic.therapist)
        course_id = _course_with_medicine(clinic, n)
        http = clinic.http(clinic.supervisor)  # signed in before counting
        with count_queries() as counted:
            assert http.get(f"/courses/{course_id}/summary").status_code == 200
        counts.append(counted.n)
    assert counts[0] == counts[1], counts
    assert counts[1] <= 25, counts
