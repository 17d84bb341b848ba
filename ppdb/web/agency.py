"""Agency pages: periods from a preset, the quota editor, CSV imports, selection, what-if, publication, statistics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from ppdb import flows
from ppdb.accounts.guards import requires_agency_admin
from ppdb.errors import AppError
from ppdb.params import PeriodId, Session
from ppdb.regions import juknis
from ppdb.regions import schemas as region_schemas
from ppdb.regions import service as regions
from ppdb.regions.lifecycle import RULE_CHANGES
from ppdb.regions.rules import BASE_KEYS, PRESETS
from ppdb.reports.statistics import statistics
from ppdb.results import schemas as result_schemas
from ppdb.results import service as results
from ppdb.schools import service as schools
from ppdb.selection import schemas as selection_schemas
from ppdb.selection import service as selection
from ppdb.web.common import FormErrors, convert, field_errors, form_value, render


class AgencyPages(Controller):
    include_in_schema = False
    guards = [requires_agency_admin]

    @get("/dinas")
    async def dashboard(self, request: Request, db_session: Session) -> Template:
        return await self._dashboard(request, db_session, {}, {})

    async def _dashboard(
        self, request: Request, db_session: Session, values: dict, errors: dict, status: int = 200
    ) -> Template:
        periods = await regions.periods_of_region(db_session, request.user.region_id)
        presets = [regions.preset_out(p) for p in PRESETS.values()]
        return render(
            request,
            "agency/dashboard.html",
            status=status,
            periods=[regions.to_out(p) for p in periods],
            presets=presets,
            values=values,
            errors=errors,
        )

    @post("/dinas/periode")
    async def create(self, request: Request, db_session: Session) -> Response:
        form = await request.form()
        values = {k: form_value(form, k) for k in ("school_year", "level", "preset", "opens", "closes", "name")}
        try:
            preset, _, level = values["preset"].partition("|")
            data = convert(
                {
                    "region_id": request.user.region_id,
                    "school_year": values["school_year"],
                    "level": level,
                    "preset": preset,
                    "name": values["name"],
                    "registration_opens_at": values["opens"] and f"{values['opens']}:00+07:00",
                    "registration_closes_at": values["closes"] and f"{values['closes']}:00+07:00",
                },
                region_schemas.PeriodCreate,
                required=("school_year", "preset"),
            )
            period = await regions.create_period(db_session, data, request.user)
        except FormErrors as err:
            errors = {
                ("opens" if k == "registration_opens_at" else "closes" if k == "registration_closes_at" else k): v
                for k, v in err.errors.items()
            }
            return await self._dashboard(request, db_session, values, errors, status=400)
        except AppError as err:
            await db_session.rollback()
            return await self._dashboard(request, db_session, values, field_errors(err), status=err.status_code)
        return Redirect(f"/dinas/periode/{period.id}")

    @get("/dinas/periode/{period_id:int}")
    async def period(self, request: Request, db_session: Session, period_id: PeriodId) -> Template:
        return await self._period(request, db_session, period_id)

    async def _period(
        self, request: Request, db_session: Session, period_id: int, *, status: int = 200, **extra: Any
    ) -> Template:
        period = await regions.get_period(db_session, period_id, user=request.user)
        out = regions.to_out(period)
        preset = PRESETS.get((out.rules.preset, out.level))
        bounds = {name: (b.minimum, b.maximum) for name, b in preset.bounds.items()} if preset else {}
        report = await statistics(db_session, period)
        try:
            publication = results.publication_out(await results.latest(db_session, period_id))
        except AppError:
            publication = None
        try:
            official = await selection.latest_run(db_session, period_id, selection.RunKind.OFFICIAL)
        except AppError:
            official = None
        context = {
            "period": out,
            "editable": RULE_CHANGES.get(period.status, frozenset()),
            "templates": [
                t for t in juknis.templates().values() if t.level is out.level and t.preset == out.rules.preset
            ],
            "ranking_keys": BASE_KEYS,
            "key_slots": KEY_SLOTS,
            "bounds": bounds,
            "stats": report.totals,
            "cutoffs": report.cutoffs,
            "publication": publication,
            "official": official,
            "school_list": await schools.list_schools(db_session, period_id),
            "errors": {},
            "values": {},
            "import_errors": [],
            "whatif": None,
            "notice": None,
        }
        context.update(extra)
        return render(request, "agency/period.html", status=status, **context)

    @post("/dinas/periode/{period_id:int}/kuota")
    async def quotas(self, request: Request, db_session: Session, period_id: PeriodId) -> Response:
        form = await request.form()
        period = regions.rules_of(await regions.get_period(db_session, period_id))
        values = {f"quota_{p.name}": form_value(form, f"quota_{p.name}") for p in period.paths}
        values["max_choices"] = form_value(form, "max_choices")
        values["mechanism"] = form_value(form, "mechanism")
        try:
            change = convert(
                {
                    "quotas": {p.name: values[f"quota_{p.name}"] for p in period.paths},
                    "max_choices": values["max_choices"],
                    "mechanism": values["mechanism"],
                },
                region_schemas.RulesUpdate,
            )
            await regions.update_rules(db_session, period_id, change, request.user)
        except (FormErrors, AppError) as err:
            await db_session.rollback()
            errors = err.errors if isinstance(err, FormErrors) else rule_errors(err)
            status = err.status_code if isinstance(err, AppError) and err.status_code == 409 else 400
            return await self._period(request, db_session, period_id, status=status, values=values, errors=errors)
        return Redirect(f"/dinas/periode/{period_id}?ok=kuota")

    @post("/dinas/periode/{period_id:int}/jalur/{path:str}")
    async def path_rules(
        self,
        request: Request,
        db_session: Session,
        period_id: PeriodId,
        path: Annotated[str, PathParameter(max_length=40)],
    ) -> Response:
        """One path's ranking chain, zone requirement, out-of-region rule and sub-quotas (a blank row adds one)."""
        form = await request.form()
        subs = []
        for i in range(SUB_QUOTA_ROWS):
            name = form_value(form, f"sq_{i}_name")
            if name:
                tiers = form_value(form, f"sq_{i}_tiers").replace(" ", "")
                subs.append(
                    {
                        "name": name,
                        "share": form_value(form, f"sq_{i}_share"),
                        "zone_tiers": [t for t in tiers.split(",") if t],
                        "per_kelurahan": bool(form_value(form, f"sq_{i}_per_kelurahan")),
                        "fallback": form_value(form, f"sq_{i}_fallback") or None,
                        "unused_to": form_value(form, f"sq_{i}_unused_to") or None,
                    }
                )
        change = {
            "name": path,
            "keys": [k for i in range(MAX_KEYS) if (k := form_value(form, f"key_{i}"))],
            "requires_zone": bool(form_value(form, "requires_zone")),
            "out_of_region": bool(form_value(form, "out_of_region")),
            "sub_quotas": subs,
        }
        try:
            rules_change = convert({"paths": [change]}, region_schemas.RulesUpdate)
            await regions.update_rules(db_session, period_id, rules_change, request.user)
        except (FormErrors, AppError) as err:
            await db_session.rollback()
            message = (
                err.message if isinstance(err, AppError) else "Isian jalur tidak valid: periksa angka dan pilihan."
            )
            status = err.status_code if isinstance(err, AppError) else 400
            return await self._period(request, db_session, period_id, status=status, errors={f"path_{path}": message})
        return await self._period(request, db_session, period_id, notice=f"Aturan jalur {path} disimpan.")

    @post("/dinas/periode/{period_id:int}/template")
    async def load_template(self, request: Request, db_session: Session, period_id: PeriodId) -> Response:
        form = await request.form()
        try:
            load = convert(
                {"template": form_value(form, "template")}, region_schemas.TemplateLoad, required=("template",)
            )
            await regions.load_template(db_session, period_id, load, request.user)
        except (FormErrors, AppError) as err:
            await db_session.rollback()
            message = err.message if isinstance(err, AppError) else "Pilih template juknis."
            status = err.status_code if isinstance(err, AppError) else 400
            return await self._period(request, db_session, period_id, status=status, errors={"template": message})
        return await self._period(
            request, db_session, period_id, notice=f"Template {load.template} dimuat: aturan diperbarui dan tercatat."
        )

    @post("/dinas/periode/{period_id:int}/impor/{what:str}")
    async def import_csv(
        self,
        request: Request,
        db_session: Session,
        period_id: PeriodId,
        what: Annotated[str, PathParameter(max_length=20)],
    ) -> Response:
        form = await request.form()
        upload = form.get("file")
        text = (await upload.read()).decode("utf-8-sig", "replace") if isinstance(upload, UploadFile) else ""
        text = text or form_value(form, "text")
        importer = schools.import_schools if what == "sekolah" else schools.import_zones
        try:
            if not text.strip():
                raise AppError("csv_empty", "Pilih berkas CSV atau tempel isinya.", f"file_{what}")
            outcome = await importer(db_session, period_id, text, request.user)
        except AppError as err:
            await db_session.rollback()
            return await self._period(
                request,
                db_session,
                period_id,
                status=err.status_code,
                errors={f"file_{what}": err.message},
                import_errors=err.details or [],
            )
        return await self._period(
            request,
            db_session,
            period_id,
            notice=f"Impor berhasil: {outcome.rows} baris ({outcome.created} baru, {outcome.updated} diperbarui).",
        )

    @post("/dinas/periode/{period_id:int}/aksi/{action:str}")
    async def act(
        self,
        request: Request,
        db_session: Session,
        state: State,
        period_id: PeriodId,
        action: Annotated[str, PathParameter(max_length=20)],
    ) -> Response:
        form = await request.form()
        user, secret = request.user, state.settings.secret_key
        steps: dict[str, Callable[[], Awaitable[object]]] = {
            "buka": lambda: flows.open_registration(db_session, period_id, user),
            "tutup": lambda: flows.close_registration(db_session, period_id, user),
            "seleksi": lambda: flows.run_official(db_session, period_id, user, secret=secret),
            "umumkan": lambda: flows.publish(
                db_session, period_id, user, result_schemas.PublishRequest(reason=form_value(form, "reason") or None)
            ),
            "daftar-ulang": lambda: flows.open_reregistration(
                db_session, period_id, user, datetime.now(UTC) + timedelta(days=int(form_value(form, "days") or 3))
            ),
            "tutup-daftar-ulang": lambda: flows.release_unclaimed(db_session, period_id, user),
            "kursi-kosong": lambda: flows.vacancy_round(db_session, period_id, user),
        }
        try:
            if action not in steps:
                raise AppError("action_unknown", "Aksi tidak dikenal.", status_code=404)
            await steps[action]()
        except AppError as err:
            await db_session.rollback()
            return await self._period(
                request, db_session, period_id, status=err.status_code, errors={f"action_{action}": err.message}
            )
        return Redirect(f"/dinas/periode/{period_id}")

    @post("/dinas/periode/{period_id:int}/what-if")
    async def what_if(self, request: Request, db_session: Session, state: State, period_id: PeriodId) -> Response:
        form = await request.form()
        values = {"whatif_mechanism": form_value(form, "mechanism"), "whatif_preset": form_value(form, "preset")}
        try:
            variant = convert(
                {"mechanism": values["whatif_mechanism"], "preset": values["whatif_preset"]},
                selection_schemas.WhatIfRequest,
            )
            outcome = await selection.what_if(
                db_session, period_id, variant, request.user, secret=state.settings.secret_key
            )
        except (FormErrors, AppError) as err:
            await db_session.rollback()
            errors = err.errors if isinstance(err, FormErrors) else field_errors(err)
            return await self._period(
                request,
                db_session,
                period_id,
                status=400,
                values=values,
                errors={"whatif": next(iter(errors.values()))},
            )
        return await self._period(request, db_session, period_id, whatif=outcome, values=values)


KEY_SLOTS = 6
"""Key selects on a path's form; a longer chain gets one more than it has (Jatim prestasi: 11 keys)."""
MAX_KEYS = 16  # as `PathUpdate.keys` allows
"""Ranking keys a path form offers (a chain is rarely longer than five)."""
SUB_QUOTA_ROWS = 8
"""Sub-quota rows a path form accepts: those of the path and one blank row to add one."""


def rule_errors(err: AppError) -> dict[str, str]:
    """A refused rules change, next to its input: a path's quota on its row (`quota_domisili`), the sum above
    the table (`quotas`), choices and mechanism under theirs; anything else above the form (`rules`)."""
    field = err.field or ""
    if field.startswith("quotas."):
        return {f"quota_{field.split('.', 1)[1]}": err.message}
    if field in ("quotas", "max_choices", "mechanism"):
        return {field: err.message}
    return {"rules": err.message}
