"""The registration wizard, one form for a parent's own child and for a family a school registers (walk-in):
its fields, the one submit through the registration service, the page again after a refusal or a preview."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.datastructures import FormMultiDict, State, UploadFile
from litestar.response import Redirect, Template
from sqlalchemy import event

from ppdb import authz
from ppdb.accounts.models import Role
from ppdb.applicants import documents, schemas, service
from ppdb.applicants.validation import Plan
from ppdb.authz import Principal
from ppdb.errors import AppError, Forbidden
from ppdb.params import Session
from ppdb.regions.models import Kelurahan
from ppdb.regions.rules import RuleSet
from ppdb.regions.service import get_period, rules_of, to_out
from ppdb.runtime import Runtime
from ppdb.schools.service import name_order
from ppdb.verification.service import far_from_kelurahan
from ppdb.web import staging
from ppdb.web.common import FormErrors, convert, field_errors, form_value, render

# The form's text fields and the required ones: the registration's, but for the lists (choices, documents).
FORM = [f for f in msgspec.structs.fields(schemas.ApplicationCreate) if f.name not in ("choices", "documents")]
TEXT_FIELDS = tuple(f.name for f in FORM)
REQUIRED = tuple(f.name for f in FORM if f.required)
MEDIA_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}
UPLOADS = 40 * 1024 * 1024  # the whole wizard with its documents; each file is still held to its own limit
TEMPLATE = "wizard.html"


Done = Callable[[schemas.ApplicationOut], Awaitable[Response]]
"""What a submit answers once registered (a page, or the way to one)."""


def go_to(url: str) -> Done:
    """After registering, to `url` (with `{number}`)."""

    async def redirect(out: schemas.ApplicationOut) -> Response:
        return Redirect(url.format(number=out.registration_number))

    return redirect


def blank_values() -> dict[str, Any]:
    """A new wizard: nothing typed, a fresh Idempotency-Key (a retried submit registers once)."""
    return {"idempotency_key": uuid.uuid4().hex, "choices": [], "documents": []}


_NUMBERS = ("nik", "nisn", "kk_number")
"""Typed as printed on the card, in groups: the spaces, dots and dashes between digits are not part of it."""
_GROUPING = re.compile(r"[\s.\-]+")
_DECIMAL = r"[-+]?\d+(?:[.,]\d+)?"
# A point copied from a maps app into the latitude field: "-6.178, 106.63" (or "-6,178; 106,63"). A comma alone
# separates the two only between dot decimals ("-6.178,106.63"); "-6,178" is one number with a comma decimal.
_PAIR = re.compile(rf"({_DECIMAL})\s*(?:;|,\s+|\s+)\s*({_DECIMAL})|([-+]?\d+\.\d+),([-+]?\d+\.\d+)")


def normalised(values: dict[str, Any]) -> dict[str, Any]:
    """What a parent types, as the service reads it, where that is unambiguous: NIK, NISN and KK without their
    grouping, a coordinate with a comma decimal or a minus sign from a phone keyboard, a pasted "lat, lon" pair
    split into its two fields."""
    for name in _NUMBERS:
        values[name] = _GROUPING.sub("", values.get(name, ""))
    latitude = values.get("latitude", "").replace("\u2212", "-")
    longitude = values.get("longitude", "").replace("\u2212", "-")
    if (pair := _PAIR.fullmatch(latitude)) and not longitude:
        latitude, longitude = pair.group(1) or pair.group(3), pair.group(2) or pair.group(4)
    values["latitude"], values["longitude"] = (v.replace(",", ".") for v in (latitude, longitude))
    return values


def form_values(form: Any, max_choices: int) -> dict[str, Any]:
    values: dict[str, Any] = normalised({name: form_value(form, name) for name in TEXT_FIELDS})
    values["choices"] = [c for i in range(1, max_choices + 1) if (c := form_value(form, f"choice_{i}"))]
    values["documents"] = [d for d in form.getall("documents", []) if isinstance(d, str)]
    values["idempotency_key"] = form_value(form, "idempotency_key") or uuid.uuid4().hex
    return values


def to_create(values: dict[str, Any]) -> schemas.ApplicationCreate:
    body = {k: v for k, v in values.items() if k != "idempotency_key"}
    if not values["choices"]:
        raise FormErrors({"choices": "Pilih minimal satu sekolah."})
    return convert(body, schemas.ApplicationCreate, required=REQUIRED)


def uploads(form: Any, rules: RuleSet) -> dict[str, UploadFile]:
    return {
        kind: f for kind in rules.document_kinds if isinstance(f := form.get(f"file_{kind}"), UploadFile) and f.filename
    }


async def wizard_context(db_session: Session, runtime: Runtime, period_id: int) -> dict[str, Any]:
    """Loaded afresh: after a rolled-back attempt the session's objects are expired."""
    ctx = await service.load_context(db_session, period_id, runtime)
    period = service.loaded(ctx)
    kelurahan = await service.kelurahan_of(db_session, period.region_id)
    return {
        "period": to_out(period),
        "rules": ctx.rules,
        "kelurahan": kelurahan,
        "options": [  # what a choice may be: a school, or at an SMK one of its programs
            (f"{s.npsn}/{p.code}", f"{s.name} – {p.name} ({s.npsn})") if p else (s.npsn, f"{s.name} ({s.npsn})")
            for s in sorted(ctx.schools.values(), key=lambda s: (name_order(s.name), s.npsn))
            for p in (s.programs.values() or [None])
        ],
        "document_kinds": list(ctx.rules.document_kinds.values()),
        "accept": lambda formats: ",".join(MEDIA_TYPES[f] for f in formats or MEDIA_TYPES),
    }


class Preview(FormErrors):
    """ "Hitung jarak" without JavaScript: the wizard again with the distances and quota of each choice."""

    def __init__(self, plan: Plan) -> None:
        super().__init__({})
        self.plan = plan


async def preview_if_asked(
    form: FormMultiDict, values: dict[str, Any], db_session: Session, runtime: Runtime, period_id: int
) -> None:
    if form_value(form, "action") == "preview":
        raise Preview(service.validate(await service.load_context(db_session, period_id, runtime), to_create(values)))


def page_defaults(page: dict[str, Any]) -> dict[str, Any]:
    """What a wizard page says besides the form: where it posts (`action`, `distances`), what cannot change
    (`fixed`, `number` for a change) and whether a school registers a family (`walk_in`: no PIN asked)."""
    return {"fixed": (), "walk_in": False, **page}


async def wizard_page(
    request: Request,
    db_session: Session,
    runtime: Runtime,
    period_id: int,
    *,
    values: dict[str, Any] | None = None,
    **page: Any,
) -> Template:
    """The wizard, empty (`values` None) or with a registration to change."""
    return render(
        request,
        TEMPLATE,
        **await wizard_context(db_session, runtime, period_id),
        values=blank_values() if values is None else values,
        errors={},
        plan=None,
        **page_defaults(page),
    )


async def wizard_again(
    request: Request, db_session: Session, runtime: Runtime, period_id: int, err: FormErrors | AppError, **page: Any
) -> Template:
    """The wizard again after a refused submit or a preview: nothing of it stored, the input kept, errors by field."""
    await db_session.rollback()
    errors = err.errors if isinstance(err, FormErrors) else field_errors(err)
    return render(
        request,
        TEMPLATE,
        status=400 if errors else 200,
        **await wizard_context(db_session, runtime, period_id),
        errors=errors,
        plan=err.plan if isinstance(err, Preview) else None,
        far=await far_from_home(db_session, page.get("values", {})) if isinstance(err, Preview) else None,
        **page_defaults(page),
    )


async def wizard_submit(
    request: Request,
    db_session: Session,
    state: State,
    runtime: Runtime,
    period_id: int,
    *,
    done: Done,
    **page: Any,
) -> Response:
    """The wizard's submit, for a parent or a school operator (walk-in): registered by the registration
    service with every check, then `done` with its answer; refused, the wizard again. A refusal of the
    caller itself (another region's school) is an error page, not a field to fix."""
    period = await get_period(db_session, period_id)
    rules = rules_of(period)
    form = await request.form()
    values = form_values(form, rules.max_choices)
    attached = await attachments(state, request, form, rules, values["documents"])
    try:
        await preview_if_asked(form, values, db_session, runtime, period_id)
        data = refused_files(attached, values)
        key = values["idempotency_key"]
        if attached.files:  # one submit, one outcome: the registration and its files commit together
            out = await service.register_in(
                runtime, state.sessionmaker, db_session, period_id, data, request.user, idempotency_key=key
            )
            await store_files(db_session, state, request, out.registration_number, attached.files, rules)
        else:  # nothing else to store: the admission-day fast path, committed on its own
            out = await service.register_committed(
                runtime, state.sessionmaker, period_id, data, request.user, idempotency_key=key
            )
    except Forbidden:
        await db_session.rollback()
        raise
    except (FormErrors, AppError) as err:
        kept = {"pin": "", "staged": attached.keep(state, request.user)}
        return await wizard_again(request, db_session, runtime, period_id, err, values=values | kept, **page)
    attached.stored(state, request.user, db_session)
    return await done(out)


def refused_files(attached: Attachments, values: dict[str, Any]) -> schemas.ApplicationCreate:
    """The form as the service reads it, refused with every file refused besides its own mistakes."""
    try:
        data = to_create(values)
    except FormErrors as err:
        raise FormErrors(err.errors | attached.errors) from None
    if attached.errors:
        raise FormErrors(attached.errors)
    return data


async def wizard_distances(request: Request, db_session: Session, runtime: Runtime, period_id: int) -> Template:
    """htmx: the distance to each chosen school, computed by the same validation as the real submit."""
    period = await get_period(db_session, period_id)
    values = form_values(await request.form(), rules_of(period).max_choices)
    try:
        ctx = await service.load_context(db_session, period_id, runtime)
        plan, errors = service.validate(ctx, to_create(values)), {}
    except FormErrors as err:
        plan, errors = None, err.errors
    except AppError as err:
        plan, errors = None, field_errors(err)
    far = await far_from_home(db_session, values) if plan else None
    return render(request, "wizard_distances.html", plan=plan, errors=errors, far=far)


async def far_from_home(db_session: Session, values: dict[str, Any]) -> str | None:
    """A warning before submitting where the home's point lies far from its kelurahan (as a verifier sees it)."""
    kelurahan = await db_session.get(Kelurahan, values.get("kelurahan_code") or "")
    try:
        away = far_from_kelurahan(kelurahan, float(values["latitude"]), float(values["longitude"]))
    except (KeyError, ValueError):
        return None
    if away is None or kelurahan is None:
        return None
    km = f"{away / 1000:.1f}".replace(".", ",")
    return (
        f"Titik rumah berjarak {km} km dari Kelurahan {kelurahan.name}. Periksa koordinatnya: jarak ke sekolah "
        "dihitung dari titik ini, dan sekolah memeriksanya."
    )


@dataclass
class Attachments:
    """A wizard submit's documents: files held from a refused submit (`staging`) and the ones attached now,
    each checked; a refused submit holds the new ones for the next (`keep`)."""

    files: dict[str, bytes]
    """Everything to store, kind -> content: the held ones of ticked documents, replaced by the new."""
    errors: dict[str, str]
    """New files refused and held ones gone, `file_<kind>` -> why."""
    fresh: dict[str, tuple[str, bytes]]
    held: dict[str, str]
    """Kinds whose held file is used -> their hidden field's value."""

    def keep(self, state: State, user: Principal) -> dict[str, str]:
        """After a refusal: the new files held with the held ones they do not replace (nothing else of the
        user's); kind -> the field's value."""
        kept = {k: v for k, v in self.held.items() if k not in self.fresh}
        return staging.hold(state.settings.data_path, user, self.fresh, kept)

    def stored(self, state: State, user: Principal, db_session: Session) -> None:
        """Once the registration that stored them is committed, the held files are deleted (kept if it is not:
        the form may be sent again)."""
        if self.held:
            used = dict(self.held)
            event.listen(
                db_session.sync_session,
                "after_commit",
                lambda _: staging.release(state.settings.data_path, user, used),
                once=True,
            )


async def attachments(
    state: State, request: Request, form: FormMultiDict, rules: RuleSet, declared: list[str]
) -> Attachments:
    """The documents sent with the wizard (`declared`: the kinds ticked; an unticked kind's held file is
    dropped); a held file no longer there is an error to fix, never a registration without it."""
    fields = {k: v for k in rules.document_kinds if isinstance(v := form.get(f"staged_{k}"), str) and k in declared}
    held_files, gone = staging.held(state.settings.data_path, request.user, fields)
    errors = {
        f"file_{k}": f"Berkas {rules.document_title(k)} yang tadi diterima tidak tersimpan lagi; pilih berkasnya lagi."
        for k in gone
    }
    fresh = {}
    for kind, upload in uploads(form, rules).items():
        content = await upload.read()
        try:
            documents.check(rules, kind, content, max_bytes=state.settings.max_upload_bytes)
        except AppError as err:
            errors[f"file_{kind}"] = err.message
            held_files.pop(kind, None)  # its replacement was refused: the old one is not sent either
        else:
            fresh[kind] = (upload.filename, content)
    return Attachments(
        files={k: c for k, (_, c) in (held_files | fresh).items()},
        errors=errors,
        fresh=fresh,
        held={k: fields[k] for k in held_files},
    )


async def store_files(
    db_session: Session, state: State, request: Request, number: str, files: dict[str, bytes], rules: RuleSet
) -> None:
    """The wizard's documents: a parent's into its own registration; a school operator's into the walk-in it
    registered (in its scope: `authz`, the registrar school)."""
    if not files:
        return
    parent = request.user.role is Role.PARENT
    application = await authz.load_application(db_session, number, request.user, write=parent, lock=True)
    for kind, content in files.items():
        try:
            await documents.store(
                db_session,
                application,
                kind,
                content,
                rules=rules,
                actor=request.user.actor,
                data_dir=state.settings.data_path,
                max_bytes=state.settings.max_upload_bytes,
            )
        except AppError as err:
            raise FormErrors({f"file_{kind}": err.message}) from None
