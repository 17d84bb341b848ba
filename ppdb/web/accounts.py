"""Sign-up, login and logout pages; the same account service as the API, the same session cookie."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from ppdb.accounts import schemas, service
from ppdb.accounts.middleware import COOKIE, token_from
from ppdb.errors import AppError
from ppdb.params import Session, client_address
from ppdb.runtime import AppRuntime
from ppdb.web.common import HOME, FormErrors, convert, form_value, render


def safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no host, no `//evil`)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


class AccountPages(Controller):
    include_in_schema = False

    @get("/masuk")
    async def login_form(
        self, request: Request, next: Annotated[str | None, QueryParameter(max_length=500)] = None
    ) -> Template:
        return render(request, "login.html", values={"email": ""}, errors={}, next=safe_next(next) or "")

    @post("/masuk")
    async def login(self, request: Request, db_session: Session, state: State, runtime: AppRuntime) -> Response:
        form = await request.form()
        values = {"email": form_value(form, "email")}
        target = safe_next(form_value(form, "next"))
        try:
            data = convert(
                {**values, "password": form.get("password") or ""}, schemas.Login, required=("email", "password")
            )
            lifetime = timedelta(hours=state.settings.session_hours)
            address = client_address(request)
            outcome = await service.login(
                db_session, data, address=address, lifetime=lifetime, passwords=runtime.passwords
            )
        except FormErrors as err:
            return render(request, "login.html", status=400, values=values, errors=err.errors, next=target or "")
        except AppError as err:
            return render(
                request,
                "login.html",
                status=err.status_code,
                values=values,
                errors={"email": err.message},
                next=target or "",
            )
        if outcome is None:  # the failed attempt is committed and counts, as in the API
            return render(
                request,
                "login.html",
                status=401,
                values=values,
                errors={"password": "E-mail atau kata sandi salah."},
                next=target or "",
            )
        token, user = outcome
        cookie = Cookie(
            key=COOKIE,
            value=token,
            httponly=True,
            secure=not state.settings.demo,
            samesite="lax",
            max_age=int(lifetime.total_seconds()),
            path="/",
        )
        return Redirect(target or HOME.get(user.role, "/"), cookies=[cookie])

    @get("/daftar-akun")
    async def signup_form(self, request: Request) -> Template:
        return render(request, "signup.html", values={}, errors={})

    @post("/daftar-akun")
    async def signup(self, request: Request, db_session: Session, runtime: AppRuntime) -> Response:
        form = await request.form()
        values = {"email": form_value(form, "email"), "name": form_value(form, "name")}
        password = form.get("password") or ""
        try:
            if password != (form.get("password2") or ""):
                raise FormErrors({"password2": "Kata sandi tidak sama."})
            data = convert({**values, "password": password}, schemas.SignUp, required=("name", "email", "password"))
            await service.signup_parent(db_session, data, runtime.passwords)
        except FormErrors as err:
            return render(request, "signup.html", status=400, values=values, errors=err.errors)
        except AppError as err:
            await db_session.rollback()
            return render(
                request,
                "signup.html",
                status=err.status_code,
                values=values,
                errors={err.field or "_form": err.message},
            )
        return render(
            request,
            "login.html",
            values={"email": values["email"]},
            errors={},
            next="/orangtua",
            notice="Akun berhasil dibuat. Silakan masuk.",
        )

    @post("/keluar")
    async def logout(self, request: Request, db_session: Session, runtime: AppRuntime) -> Response:
        if token := token_from(request.scope):
            await service.logout(db_session, token, runtime.principals)
        return Redirect("/", cookies=[Cookie(key=COOKIE, value="", max_age=0, path="/")])
