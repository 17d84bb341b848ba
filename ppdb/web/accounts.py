"""Sign-up, login (with a password or a child's NIK and PIN), password reset and logout pages; the same account
service as the API, the same session cookie."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from ppdb.accounts import schemas, service
from ppdb.accounts.middleware import is_demo, session_cookie, token_from
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


SESSION_ENDED = (
    "Sesi Anda sudah berakhir, jadi formulir tadi belum terkirim. Masuk lagi untuk melanjutkan; isian formulir "
    "pendaftaran yang belum terkirim dipulihkan di perangkat ini."
)


class AccountPages(Controller):
    include_in_schema = False

    @get("/masuk")
    async def login_form(
        self,
        request: Request,
        next: Annotated[str | None, QueryParameter(max_length=500)] = None,
        sesi: Annotated[str | None, QueryParameter(max_length=20)] = None,
    ) -> Template:
        """`sesi`: a form was sent after the session had ended (`common.login_redirect`)."""
        notice = SESSION_ENDED if sesi == "berakhir" else None
        return render(request, "login.html", values={"email": ""}, errors={}, next=safe_next(next) or "", notice=notice)

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
        cookie = session_cookie(token, lifetime, demo=state.settings.demo)
        return Redirect(target or HOME.get(user.role, "/"), cookies=[cookie])

    @get("/masuk/pin")
    async def pin_login_form(self, request: Request) -> Template:
        return render(request, "pin_login.html", values={}, errors={})

    @post("/masuk/pin")
    async def pin_login(self, request: Request, db_session: Session, state: State) -> Response:
        form = await request.form()
        values = {"nik": form_value(form, "nik")}
        try:
            fields = {
                "pin": form_value(form, "pin"),
                **({"nisn": values["nik"]} if len(values["nik"]) == 10 else values),
            }
            data = convert(fields, schemas.PinLogin, required=("pin",))
            lifetime = timedelta(hours=state.settings.session_hours)
            address = client_address(request)
            token, _ = await service.pin_login(db_session, state.sessionmaker, data, address=address, lifetime=lifetime)
        except (FormErrors, AppError) as err:
            await db_session.rollback()
            errors = err.errors if isinstance(err, FormErrors) else {err.field or "_form": err.message}
            errors = {("nik" if k == "nisn" else k): v for k, v in errors.items()}
            status = err.status_code if isinstance(err, AppError) else 400
            return render(request, "pin_login.html", status=status, values=values, errors=errors)
        return Redirect("/orangtua", cookies=[session_cookie(token, lifetime, demo=state.settings.demo)])

    @get("/lupa-sandi")
    async def reset_form(self, request: Request) -> Template:
        return render(request, "password_reset.html", values={}, errors={}, sent=False)

    @post("/lupa-sandi")
    async def request_reset(self, request: Request, db_session: Session) -> Response:
        form = await request.form()
        values = {"login": form_value(form, "login")}
        try:
            data = convert(values, schemas.ResetRequest, required=("login",))
            await service.request_reset(db_session, data, address=client_address(request))
        except (FormErrors, AppError) as err:
            await db_session.rollback()
            errors = err.errors if isinstance(err, FormErrors) else {"login": err.message}
            status = err.status_code if isinstance(err, AppError) else 400
            return render(request, "password_reset.html", status=status, values=values, errors=errors, sent=False)
        return render(request, "password_reset.html", values=values, errors={}, sent=True)

    @get("/sandi-baru")
    async def new_password_form(
        self, request: Request, token: Annotated[str, QueryParameter(max_length=100)] = ""
    ) -> Template:
        return render(request, "new_password.html", token=token, errors={})

    @post("/sandi-baru")
    async def new_password(self, request: Request, db_session: Session, runtime: AppRuntime) -> Response:
        form = await request.form()
        token, password = form_value(form, "token"), form.get("password") or ""
        try:
            if password != (form.get("password2") or ""):
                raise FormErrors({"password2": "Kata sandi tidak sama."})
            data = convert({"token": token, "password": password}, schemas.ResetConfirm, required=("password",))
            await service.reset_password(db_session, data, runtime.passwords, runtime)
        except (FormErrors, AppError) as err:
            await db_session.rollback()
            errors = err.errors if isinstance(err, FormErrors) else {err.field or "_form": err.message}
            status = err.status_code if isinstance(err, AppError) else 400
            return render(request, "new_password.html", status=status, token=token, errors=errors)
        return render(
            request,
            "login.html",
            values={},
            errors={},
            next="",
            notice="Kata sandi baru sudah disimpan. Silakan masuk.",
        )

    @get("/daftar-akun")
    async def signup_form(self, request: Request) -> Template:
        return render(request, "signup.html", values={}, errors={})

    @post("/daftar-akun")
    async def signup(self, request: Request, db_session: Session, state: State, runtime: AppRuntime) -> Response:
        form = await request.form()
        values = {name: form_value(form, name) for name in ("email", "name", "phone")}
        password = form.get("password") or ""
        try:
            if password != (form.get("password2") or ""):
                raise FormErrors({"password2": "Kata sandi tidak sama."})
            data = convert({**values, "password": password}, schemas.SignUp, required=("name", "email", "password"))
            user = await service.signup_parent(db_session, data, runtime.passwords)
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
        lifetime = timedelta(hours=state.settings.session_hours)  # signed in at once, as the API's sign-up
        cookie = session_cookie(service.new_session(db_session, user, lifetime), lifetime, demo=state.settings.demo)
        return Redirect(f"{HOME[user.role]}?pesan=akun-dibuat", cookies=[cookie])

    @post("/keluar")
    async def logout(self, request: Request, db_session: Session, runtime: AppRuntime) -> Response:
        if token := token_from(request.scope):
            await service.logout(db_session, token, runtime.principals)
        return Redirect("/", cookies=[session_cookie("", timedelta(0), demo=is_demo(request.scope))])
