"""Sign-up, login, logout, who am I, and school operator accounts."""

from __future__ import annotations

from datetime import timedelta

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.params import JSONBody

from ppdb.accounts import schemas, service
from ppdb.accounts.guards import requires_agency_admin, requires_login
from ppdb.accounts.middleware import COOKIE, token_from
from ppdb.errors import ErrorBody
from ppdb.params import Session, client_address
from ppdb.runtime import AppRuntime


class AuthController(Controller):
    path = "/api/auth"
    tags = ["accounts"]

    @post("/signup", operation_id="signUp")
    async def signup(self, db_session: Session, runtime: AppRuntime, data: JSONBody[schemas.SignUp]) -> schemas.Me:
        """Create a parent account."""
        return service.me(await service.signup_parent(db_session, data, runtime.passwords))

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
        token, user = outcome
        cookie = Cookie(
            key=COOKIE,
            value=token,
            httponly=True,
            secure=not settings.demo,
            samesite="lax",
            max_age=int(lifetime.total_seconds()),
            path="/",
        )
        return Response(
            schemas.LoginOut(token=token, expires_in=int(lifetime.total_seconds()), user=service.me(user)),
            cookies=[cookie],
        )

    @post("/logout", operation_id="logOut", status_code=204, guards=[requires_login])
    async def logout(self, db_session: Session, runtime: AppRuntime, request: Request) -> Response[None]:
        """End this session."""
        await service.logout(db_session, token_from(request.scope) or "", runtime.principals)
        return Response(None, status_code=204, cookies=[Cookie(key=COOKIE, value="", max_age=0, path="/")])

    @get("/me", operation_id="whoAmI", guards=[requires_login])
    async def me(self, request: Request) -> schemas.Me:
        """The logged-in user."""
        return service.me(request.user)


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
