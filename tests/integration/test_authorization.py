"""Authorization matrix: every route x every role. Denied roles get 401/403/404 and no data; allowed roles get
through (possibly to a business error, never to 401/403). A route missing from the matrix fails the test."""

from __future__ import annotations

import httpx
import pytest

from ppdb.accounts import service as accounts
from tests.conftest import PASSWORD, logged_in, sign_up
from tests.helpers import open_period, registration

ROLES = ("anonymous", "parent_a", "parent_b", "operator_a", "operator_b", "admin_a", "admin_b")
PUBLIC = set(ROLES)
LOGGED_IN = PUBLIC - {"anonymous"}
PARENTS = {"parent_a", "parent_b"}
ADMIN = {"admin_a"}
STAFF = {"operator_a", "admin_a"}
REGION_STAFF = {"operator_a", "operator_b", "admin_a"}
"""Who issues PINs: the agency and every school of its region (operator_b's school is in region A too)."""
OWNER_OR_STAFF = {"parent_a", "operator_a", "admin_a"}
ORIGIN_OR_ADMIN = ADMIN
"""Graduate lists: the agency, and the schools of the level below (origin schools); the world's operators run SMPs
in an SMP period, so they are refused here (`not_origin_school`; allowed origin schools: tests/integration/scores)."""

# operationId: (method, path, body, roles allowed). {pid} period of region A, {reg} parent A's application.
ROUTES = {
    "health": ("GET", "/health", None, PUBLIC),
    "liveness": ("GET", "/health/live", None, PUBLIC),
    "signUp": ("POST", "/api/auth/signup", {"email": "baru@contoh.test", "password": PASSWORD, "name": "X"}, PUBLIC),
    "logIn": ("POST", "/api/auth/login", {"email": "orangtua@contoh.test", "password": PASSWORD}, PUBLIC),
    "logOut": ("POST", "/api/auth/logout", None, LOGGED_IN),
    "whoAmI": ("GET", "/api/auth/me", None, LOGGED_IN),
    "updateMe": ("PATCH", "/api/auth/me", {"phone": None}, LOGGED_IN),
    "logInWithPin": ("POST", "/api/auth/pin-login", {"nik": "3671015503140009", "pin": "AAAAA-AAAAA"}, PUBLIC),
    "requestPasswordReset": ("POST", "/api/auth/password-reset", {"login": "orangtua@contoh.test"}, PUBLIC),
    "resetPassword": ("POST", "/api/auth/password-reset/confirm", {"token": "x", "password": PASSWORD}, PUBLIC),
    "createOperator": (
        "POST",
        "/api/operators",
        {"email": "op9@sekolah.test", "password": PASSWORD, "name": "Op", "npsn": "20670002"},
        ADMIN,
    ),
    "listPresets": ("GET", "/api/presets", None, PUBLIC),
    "getHelpdesk": ("GET", "/api/regions/{region}/helpdesk", None, PUBLIC),
    "updateHelpdesk": ("PUT", "/api/regions/{region}/helpdesk", {"hours": "08.00-15.00"}, ADMIN),
    "listTemplates": ("GET", "/api/templates", None, PUBLIC),
    "createPeriod": ("POST", "/api/periods", "period", ADMIN),
    "getPeriod": ("GET", "/api/periods/{pid}", None, PUBLIC),
    "updatePeriodRules": ("PATCH", "/api/periods/{pid}/rules", {"max_choices": 2}, ADMIN),
    "loadRulesTemplate": ("POST", "/api/periods/{pid}/rules/template", {"template": "jatim-2025-sma"}, ADMIN),
    "openRegistration": ("POST", "/api/periods/{pid}/open", None, ADMIN),
    "closeRegistration": ("POST", "/api/periods/{pid}/close", None, ADMIN),
    "startNextStage": ("POST", "/api/periods/{pid}/next-stage", {}, ADMIN),
    "importSchools": ("POST", "/api/periods/{pid}/schools/import", "csv", ADMIN),
    "importZones": ("POST", "/api/periods/{pid}/zones/import", "csv", ADMIN),
    "importPrograms": ("POST", "/api/periods/{pid}/programs/import", "csv", ADMIN),
    "listSchools": ("GET", "/api/periods/{pid}/schools", None, PUBLIC),
    "register": ("POST", "/api/periods/{pid}/applications", "registration", PARENTS | {"operator_a", "operator_b"}),
    "claimApplication": ("POST", "/api/applications/{reg}/claim", {"pin": "AAAAA-AAAAA"}, PARENTS),
    "issuePins": ("POST", "/api/periods/{pid}/pins", {"niks": ["3671015503140009"]}, REGION_STAFF),
    "releaseApplication": ("POST", "/api/applications/{reg}/release", {"reason": "KK diperiksa Dinas."}, ADMIN),
    "readApplication": ("GET", "/api/applications/{reg}", None, OWNER_OR_STAFF),
    "changeApplication": ("PATCH", "/api/applications/{reg}", {"name": "Nama Baru"}, {"parent_a"}),
    "withdrawApplication": ("POST", "/api/applications/{reg}/withdraw", None, {"parent_a"}),
    "uploadDocument": ("PUT", "/api/applications/{reg}/documents/kk", b"%PDF-1.4 test", {"parent_a"}),
    "downloadDocument": ("GET", "/api/applications/{reg}/documents/kk", None, OWNER_OR_STAFF),
    "applicationStatus": ("GET", "/api/applications/{reg}/status", None, OWNER_OR_STAFF),
    "runSelection": ("POST", "/api/periods/{pid}/selection-runs", None, ADMIN),
    "latestSelection": ("GET", "/api/periods/{pid}/selection-runs/latest", None, PUBLIC),
    "whatIf": ("POST", "/api/periods/{pid}/selection-runs/what-if", {}, ADMIN),
    "selectionInstance": ("GET", "/api/periods/{pid}/selection-runs/1/instance", None, PUBLIC),
    "schoolApplicants": ("GET", "/api/schools/20670001/applicants?period_id={pid}", None, STAFF),
    "decideDocument": ("POST", "/api/applications/{reg}/documents/kk/decision", {"decision": "verified"}, STAFF),
    "verifyCoordinate": ("POST", "/api/applications/{reg}/coordinate/verify", None, STAFF),
    "checkProgram": ("PUT", "/api/applications/{reg}/program-check", {"program": "20670001/TKJ", "unmet": []}, STAFF),
    "awardCertificate": (
        "PUT",
        "/api/applications/{reg}/certificate",
        {"level": "provinsi", "rank": 1, "issued_on": "2026-05-10"},
        STAFF,
    ),
    "correctCoordinate": (
        "PUT",
        "/api/applications/{reg}/coordinate",
        {"latitude": -6.178, "longitude": 106.63, "reason": "Cek lapangan"},
        ADMIN,
    ),
    "disqualify": ("POST", "/api/applications/{reg}/disqualify", {"reason": "Dokumen palsu"}, ADMIN),
    "publishResults": ("POST", "/api/periods/{pid}/publications", {}, ADMIN),
    "resultsSummary": ("GET", "/api/periods/{pid}/results", None, PUBLIC),
    "schoolResults": ("GET", "/api/periods/{pid}/results/schools/20670001", None, PUBLIC),
    "lookupResult": (
        "GET",
        "/api/periods/{pid}/results/lookup?registration_number={reg}&birth_date=2014-03-15",
        None,
        PUBLIC,
    ),
    "resultsSnapshot": ("GET", "/api/periods/{pid}/results/snapshot", None, PUBLIC),
    "periodStatistics": ("GET", "/api/periods/{pid}/statistics", None, ADMIN),
    "exportPlacements": ("GET", "/api/periods/{pid}/exports/placements.csv", None, ADMIN),
    "exportSchoolPlacements": ("GET", "/api/periods/{pid}/exports/schools/20670001/placements.csv", None, STAFF),
    "openReregistration": (
        "POST",
        "/api/periods/{pid}/reregistration/open",
        {"closes_at": "2099-01-01T00:00:00+07:00"},
        ADMIN,
    ),
    "closeReregistration": ("POST", "/api/periods/{pid}/reregistration/close", None, ADMIN),
    "reregister": (
        "POST",
        "/api/applications/{reg}/reregistration",
        {"decision": "confirmed"},
        {"parent_a", "operator_a"},
    ),
    "vacancyRound": ("POST", "/api/periods/{pid}/vacancy-rounds", None, ADMIN),
    "readAuditLog": ("GET", "/api/periods/{pid}/audit", None, ADMIN),
    "importGraduates": ("POST", "/api/periods/{pid}/graduates/import", "csv", ORIGIN_OR_ADMIN),
    "putGraduate": (
        "PUT",
        "/api/periods/{pid}/graduates",
        {"nisn": "0099000001", "nik": "3671015503140099", "name": "Lulusan", "birth_date": "2014-03-15"},
        ORIGIN_OR_ADMIN,
    ),
    "listGraduates": ("GET", "/api/periods/{pid}/graduates", None, ORIGIN_OR_ADMIN),
    "importTestResults": ("POST", "/api/periods/{pid}/tests/import", "csv", ADMIN),
    "importSchoolIndexes": ("POST", "/api/periods/{pid}/school-indexes/import", "csv", ADMIN),
    "applicationScore": ("GET", "/api/applications/{reg}/score", None, OWNER_OR_STAFF),
    "correctionRun": ("POST", "/api/periods/{pid}/selection-runs/correction", None, ADMIN),
    "listPublications": ("GET", "/api/periods/{pid}/publications", None, PUBLIC),
    "fileComplaint": (
        "POST",
        "/api/periods/{pid}/complaints",
        {"category": "fraud", "npsn": "20670001", "text": "Ada yang memakai KK pinjaman di sekolah ini."},
        {"anonymous", "parent_a", "parent_b"},
    ),
    "listComplaints": ("GET", "/api/periods/{pid}/complaints", None, REGION_STAFF),
    "myComplaints": ("GET", "/api/complaints", None, PARENTS),
    "readComplaint": ("GET", "/api/complaints/{case}", None, OWNER_OR_STAFF),
    "followComplaint": ("POST", "/api/complaints/{case}/follow", {"code": "AAAAA-AAAAA"}, PUBLIC),
    "attachEvidence": ("POST", "/api/complaints/{case}/files", b"%PDF-1.4 bukti", {"parent_a"}),
    "downloadEvidence": ("GET", "/api/complaints/{case}/files/{evidence}", None, OWNER_OR_STAFF),
    "decideComplaint": ("POST", "/api/complaints/{case}/decision", {"status": "in_review"}, ADMIN),
    "admissionReport": ("GET", "/api/periods/{pid}/report", None, ADMIN),
    "admissionReportCsv": ("GET", "/api/periods/{pid}/report.csv", None, ADMIN),
    "admissionComplaintsCsv": ("GET", "/api/periods/{pid}/report/complaints.csv", None, ADMIN),
    "admissionReportPdf": ("GET", "/api/periods/{pid}/report.pdf", None, ADMIN),
    "exportDapodik": ("GET", "/api/periods/{pid}/exports/dapodik.csv", None, ADMIN),
    "exportSchoolDapodik": ("GET", "/api/periods/{pid}/exports/schools/20670001/dapodik.csv", None, STAFF),
}


def test_every_route_is_in_the_matrix(transport):
    schema = transport.app.openapi_schema.to_schema()
    operations = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert operations == set(ROUTES)


@pytest.fixture
async def world(transport, admin, parent, operator, sessionmaker):
    async with sessionmaker() as session, session.begin():
        await accounts.bootstrap_admin(
            session,
            region_code="36.74",
            region_name="Kota Tangerang Selatan",
            email="admin@tangsel.test",
            password=PASSWORD,
        )
    period = await open_period(admin)
    mine = (
        await parent.post(
            f"/api/periods/{period['id']}/applications", json=registration(choices=["20670001", "20670002"])
        )
    ).json()
    uploaded = await parent.put(f"/api/applications/{mine['registration_number']}/documents/kk", content=b"%PDF-1.4")
    assert uploaded.status_code == 200, uploaded.text
    parent_b = await sign_up(transport, "orangtua.b@contoh.test")
    assert (
        await parent_b.post(
            f"/api/periods/{period['id']}/applications", json=registration(serial=2, choices=["20670003"])
        )
    ).status_code == 201
    case = await parent.post(
        f"/api/periods/{period['id']}/complaints",
        json={
            "category": "registration",
            "registration_number": mine["registration_number"],
            "text": "Data saya salah.",
        },
    )
    assert case.status_code == 201, case.text
    evidence = await parent.post(f"/api/complaints/{case.json()['number']}/files", content=b"%PDF-1.4 bukti")
    assert evidence.status_code == 201, evidence.text
    clients = {
        "anonymous": httpx.AsyncClient(transport=transport, base_url="http://testserver"),
        "parent_a": parent,
        "parent_b": parent_b,
        "admin_a": admin,
        "operator_a": await operator("20670001", "op.a@sekolah.test"),
        "operator_b": await operator("20670003", "op.b@sekolah.test"),
        "admin_b": await logged_in(transport, "admin@tangsel.test", PASSWORD),
    }
    return {
        "pid": period["id"],
        "reg": mine["registration_number"],
        "region": period["region_id"],
        "case": case.json()["number"],
        "evidence": evidence.json()["id"],
        "clients": clients,
    }


def _request(world, operation):
    method, path, body, _ = ROUTES[operation]
    url = path.format(
        pid=world["pid"], reg=world["reg"], region=world["region"], case=world["case"], evidence=world["evidence"]
    )
    kwargs = {}
    if body == "period":
        kwargs["json"] = {
            "region_id": world["region"],
            "school_year": "2030/2031",
            "level": "sma",
            "preset": "permendikdasmen-3-2025",
            "registration_opens_at": "2030-06-01T08:00:00+07:00",
            "registration_closes_at": "2030-06-05T08:00:00+07:00",
        }
    elif body == "csv":
        kwargs["content"] = "npsn,name,level,latitude,longitude,capacity\n"
    elif body == "registration":
        kwargs["json"] = registration(serial=9)
    elif isinstance(body, bytes):
        kwargs["content"] = body
    elif body is not None:
        kwargs["json"] = body
    return method, url, kwargs


@pytest.mark.parametrize("operation", sorted(ROUTES))
async def test_route_by_role(world, operation):
    allowed = ROUTES[operation][3]
    method, url, kwargs = _request(world, operation)
    for role in ROLES:  # denied roles first: they change nothing
        if role in allowed:
            continue
        response = await world["clients"][role].request(method, url, **kwargs)
        expected = {401} if role == "anonymous" else {403, 404}
        assert response.status_code in expected, (role, response.status_code, response.text)
        body = response.json()
        assert set(body) <= {"code", "message", "field"}, (role, body)  # an error, never data
    # Reads change nothing: every allowed role is tried. A write is tried once, by its first allowed role.
    order = [r for r in ("parent_a", "operator_a", "admin_a", "parent_b", "anonymous") if r in allowed]
    for role in order if method == "GET" else order[:1]:
        response = await world["clients"][role].request(method, url, **kwargs)
        assert response.status_code not in (401, 403), (role, response.status_code, response.text)
        if response.status_code == 404:  # a missing run, publication or score, never a hidden application or school
            # (a claim answers 404 for an application already in an account: parent A's is)
            expected = ("run_not_found", "not_published", "score_not_used")
            if operation == "claimApplication":
                expected = ("application_not_found",)
            if operation == "followComplaint":  # a wrong code: the same answer as no such case
                expected = ("complaint_not_found",)
            if operation == "checkProgram":  # an SMP period: no choice of a program
                expected = ("program_choice_not_found",)
            assert response.json()["code"] in expected, (
                role,
                response.text,
            )
