"""The pages added for registration channels and stages, by role and with junk input: each role gets the page,
a login redirect or a refusal page, and no form input gives a 500."""

from __future__ import annotations

import re

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PASSWORD
from tests.helpers import open_period

ROLES = {
    "parent": ("orangtua@contoh.test", "/orangtua"),
    "operator": ("operator1@sekolah.test", "/sekolah"),
    "admin": ("admin@tangerang.test", "/dinas"),
}
# path -> the roles that get it (200); others: anonymous to the login, signed-in roles 403
PAGES = {
    "/masuk/pin": {"anonymous", "parent", "operator", "admin"},
    "/lupa-sandi": {"anonymous", "parent", "operator", "admin"},
    "/sandi-baru?token=abc": {"anonymous", "parent", "operator", "admin"},
    "/sekolah/daftar": {"operator"},
    "/sekolah/daftar/{pid}": {"operator"},
    "/orangtua": {"parent"},
}
POSTS = {  # form posts by a role that may not: refused without touching anything
    "/sekolah/daftar/{pid}": {"parent", "admin"},
    "/orangtua/klaim": {"operator", "admin"},
    "/dinas/periode/{pid}/aksi/tahap-berikutnya": {"parent", "operator"},
}


def csrf(html: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', html).group(1)


async def signed_in(transport, role: str) -> tuple[httpx.AsyncClient, str]:
    client = httpx.AsyncClient(transport=transport, base_url="https://testserver")
    token = csrf((await client.get("/masuk")).text)
    if role != "anonymous":
        email, home = ROLES[role]
        done = await client.post("/masuk", data={"email": email, "password": PASSWORD, "_csrf": token})
        assert done.status_code == 302 and done.headers["location"] == home, done.text
        token = csrf((await client.get("/")).text)  # the token of the new session
    return client, token


async def test_each_new_page_by_role(transport, admin, parent, operator) -> None:
    period = await open_period(admin)
    await operator()
    for role in ("anonymous", *ROLES):
        client, token = await signed_in(transport, role)
        for path, allowed in PAGES.items():
            shown = await client.get(path.format(pid=period["id"]))
            if role in allowed:
                assert shown.status_code == 200, (role, path, shown.status_code)
            elif role == "anonymous":
                assert shown.status_code == 302 and shown.headers["location"].startswith("/masuk?next="), (role, path)
            else:
                assert shown.status_code == 403, (role, path, shown.status_code)
        for path, refused in POSTS.items():
            if role in refused:
                answer = await client.post(path.format(pid=period["id"]), data={"_csrf": token})
                assert answer.status_code == 403, (role, path, answer.status_code)
        await client.aclose()


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/masuk/pin", ("nik", "pin")),
        ("/lupa-sandi", ("login",)),
        ("/sandi-baru", ("token", "password", "password2")),
    ],
)
async def test_public_account_forms_take_any_input_without_a_500(transport, path, fields) -> None:
    client, token = await signed_in(transport, "anonymous")
    answers: list[dict[str, str]] = []

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.fixed_dictionaries({name: TEXT for name in fields}))
    def junk(values: dict[str, str]) -> None:
        answers.append(values)  # collected here, sent below (the client is async)

    junk()
    for values in answers:
        answer = await client.post(path, data={**values, "_csrf": token})
        assert answer.status_code in (200, 400, 409, 422, 429), (path, values, answer.status_code, answer.text[:200])
    await client.aclose()
