"""Sign-up, login (with a password, or a child's NIK and PIN), password resets, logout, who am I, and school
operator accounts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.datastructures import State
from litestar.params import JSONBody

from ppdb.accounts import schemas, service
from ppdb.accounts.guards import requires_agency_admin, requires_login
from ppdb.accounts.middleware import is_demo, session_cookie, token_from
from ppdb.accounts.models import User
from ppdb.errors import ErrorBody
from ppdb.params import Session, client_address
from ppdb.runtime import AppRuntime


class AuthController(Controller):
    path = "/api/auth"
    tags = ["accounts"]

    @post("/signup", operation_id="signUp")
    async def signup(
        self, db_session: Session, state: State, runtime: AppRuntime, data: JSONBody[schemas.SignUp]
    ) -> schemas.SignedUp:
        """Create a parent account, signed in at once: the answer carries a session token, as `logIn`'s does."""
        user = await service.signup_parent(db_session, data, runtime.passwords)
        lifetime = timedelta(hours=state.settings.session_hours)
        return service.signed_up(user, service.new_session(db_session, user, lifetime), lifetime)

    @post("/login", operation_id="logIn", status_code=200)
    async def login(
        self, db_session: Session, state: State, runtime: AppRuntime, request: Request, data: JSONBody[schemas.Login]
    ) -> Response[schemas.LoginOut | ErrorBody]:
        """Start a session: a bearer token for the API and an HTTP-only cookie for pages."""
        settings = state.settings
        lifetime = timedelta(hours=settings.session_hours)
        address = client_address(request)
        outcome = await service.login(db_session, data, address=address, lifetime=lifetime, passwords=runtime.passwords)
        if outcome is None:  # answered, not raised: the failed attempt is committed and counts
            return Response(ErrorBody("login_failed", "E-mail atau kata sandi salah.", "password"), status_code=401)
        return _signed_in(*outcome, settings.demo, lifetime)

    @post("/pin-login", operation_id="logInWithPin", status_code=200)
    async def pin_login(
        self, db_session: Session, state: State, request: Request, data: JSONBody[schemas.PinLogin]
    ) -> Response[schemas.LoginOut]:
        """Sign in with a child's NIK (or NISN) and PIN, where the region issues PINs: into the account that
        registered the child, or a family account opened now (a registration the school made moves into it)."""
        settings = state.settings
        lifetime = timedelta(hours=settings.session_hours)
        outcome = await service.pin_login(
            db_session, state.sessionmaker, data, address=client_address(request), lifetime=lifetime
        )
        return _signed_in(*outcome, settings.demo, lifetime)

    @post("/password-reset", operation_id="requestPasswordReset", status_code=202)
    async def request_reset(
        self, db_session: Session, request: Request, data: JSONBody[schemas.ResetRequest]
    ) -> schemas.ResetRequested:
        """Send a single-use link (30 minutes) to the account's e-mail or phone; the same answer whether or not
        the address has an account."""
        await service.request_reset(db_session, data, address=client_address(request))
        return schemas.ResetRequested()

    @post("/password-reset/confirm", operation_id="resetPassword", status_code=204)
    async def reset(self, db_session: Session, runtime: AppRuntime, data: JSONBody[schemas.ResetConfirm]) -> None:
        """Set a new password with the link's token; every session of the account ends."""
        await service.reset_password(db_session, data, runtime.passwords, runtime)

    @post("/logout", operation_id="logOut", status_code=204, guards=[requires_login])
    async def logout(self, db_session: Session, runtime: AppRuntime, request: Request) -> Response[None]:
        """End this session."""
        await service.logout(db_session, token_from(request.scope) or "", runtime.principals)
        ended = session_cookie("", timedelta(0), demo=is_demo(request.scope))
        return Response(None, status_code=204, cookies=[ended])

    @get("/me", operation_id="whoAmI", guards=[requires_login])
    async def me(self, db_session: Session, request: Request) -> schemas.Me:
        """The logged-in user."""
        return service.me(await service.get_user(db_session, request.user.id))

    @patch("/me", operation_id="updateMe", guards=[requires_login])
    async def update_me(self, db_session: Session, request: Request, data: JSONBody[schemas.MeUpdate]) -> schemas.Me:
        """Set, change or remove the account's phone number (SMS/WhatsApp messages and password resets)."""
        return service.me(await service.update_me(db_session, request.user, data))


def _signed_in(token: str, user: User, demo: bool, lifetime: timedelta) -> Response[Any]:
    """The session as a bearer token for the API and an HTTP-only cookie for pages."""
    out = schemas.LoginOut(token=token, expires_in=int(lifetime.total_seconds()), user=service.me(user))
    return Response(out, cookies=[session_cookie(token, lifetime, demo=demo)])


class OperatorController(Controller):
    path = "/api/operators"
    tags = ["agency"]
    guards = [requires_agency_admin]

    @post("/", operation_id="createOperator")
    async def create(
        self, db_session: Session, runtime: AppRuntime, request: Request, data: JSONBody[schemas.OperatorCreate]
    ) -> schemas.Me:
        """Create a school operator account for a school in the admin's region."""
        return service.me(await service.create_operator(db_session, request.user, data, runtime.passwords))
