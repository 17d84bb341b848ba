"""Agency pages: periods from a preset, the rule editors, CSV imports, selection, what-if, publication, statistics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec
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
from ppdb.regions.models import Period
from ppdb.regions.rules import BASE_KEYS, PRESETS, PathRule, Requirement, RuleSet, alternatives
from ppdb.reports.statistics import Statistics, statistics
from ppdb.results import schemas as result_schemas
from ppdb.results import service as results
from ppdb.schools import service as schools
from ppdb.selection import schemas as selection_schemas
from ppdb.selection import service as selection
from ppdb.web.common import (
    WIB,
    FormErrors,
    ask_first,
    convert,
    field_errors,
    finished,
    form_value,
    render,
)

ACTIONS = {
    "buka": (
        "Buka pendaftaran",
        "Orang tua dapat mendaftar sampai jadwal tutup; aturan yang diperiksa saat pendaftaran terkunci.",
    ),
    "tutup": ("Tutup pendaftaran", "Tidak ada pendaftaran atau perubahan baru sesudahnya."),
    "seleksi": ("Jalankan seleksi resmi", "Hasilnya menjadi hasil resmi periode ini, untuk diperiksa lalu diumumkan."),
    "umumkan": (
        "Umumkan hasil",
        "Hasil terbuka untuk umum dan setiap keluarga diberi tahu. Pengumuman tidak dapat ditarik; koreksi menjadi "
        "versi baru.",
    ),
    "daftar-ulang": ("Buka daftar ulang", "Keluarga yang diterima dapat mengonfirmasi kursi sampai batas waktu."),
    "tutup-daftar-ulang": ("Tutup daftar ulang", "Kursi yang belum dikonfirmasi dilepas untuk pengisian kursi kosong."),
    "kursi-kosong": ("Jalankan pengisian kursi kosong", "Kursi yang dilepas diisi dari pendaftar yang belum diterima."),
    "seleksi-koreksi": (
        "Jalankan seleksi koreksi",
        "Seleksi diulang dari data yang sudah dikoreksi atas pengaduan; hasilnya diumumkan sebagai versi baru.",
    ),
    "tahap-berikutnya": ("Mulai tahap berikutnya", "Tahap baru dibuat dengan kursi yang belum terisi di tahap ini."),
}
"""Each action of the period page: what it is and what it does, asked once more before it is done."""


CHART_BARS = 15
"""A chart shows at most this many schools (one phone screen); the table under it has them all."""


def charts(stats: Statistics, rules: RuleSet) -> dict[str, dict[str, Any]]:
    """The period page's charts as Chart.js reads them (`labels`, `series`, the value axis' `max`), with the
    number of schools left to the table (`hidden`)."""
    reached = sorted(
        (s for s in stats.schools if s.distance_cutoff_m is not None), key=lambda s: s.distance_cutoff_m or 0.0
    )
    schools, reach = stats.schools[:CHART_BARS], reached[:CHART_BARS]
    return {
        "fill": {
            "labels": [s.school_name for s in schools],
            "series": [{"label": "Keterisian (%)", "data": [round(s.fill_rate * 100, 1) for s in schools]}],
            "max": 100,
            "hidden": len(stats.schools) - len(schools),
        },
        "cutoff": {
            "labels": [s.school_name for s in reach],
            "series": [
                {"label": "Batas jarak (km)", "data": [round((s.distance_cutoff_m or 0) / 1000, 2) for s in reach]}
            ],
            "max": None,
            "hidden": len(reached) - len(reach),
        },
        "paths": {
            "labels": [rules.path_label(p.path) for p in stats.paths],
            "series": [
                {"label": "Pendaftar", "data": [p.applicants for p in stats.paths]},
                {"label": "Kursi", "data": [p.seats for p in stats.paths]},
                {"label": "Terisi", "data": [p.filled for p in stats.paths]},
            ],
            "max": None,
            "hidden": 0,
        },
    }


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
        desk = (await regions.helpdesk(db_session, request.user.region_id)).helpdesk
        typed = {k: "" if v is None else v for k, v in msgspec.structs.asdict(desk).items() if k != "faq"}
        typed |= cells("faq", [{"question": f.question, "answer": f.answer} for f in desk.faq])
        return render(
            request,
            "agency/dashboard.html",
            status=status,
            periods=[regions.to_out(p) for p in periods],
            presets=presets,
            values=values,
            errors=errors,
            desk=values.get("desk", typed),
            rows=table_rows,
            saved=request.query_params.get("ok"),
        )

    @post("/dinas/bantuan")
    async def helpdesk(self, request: Request, db_session: Session) -> Response:
        """The region's helpdesk: contacts and its own questions (a blank row adds one, an emptied one goes)."""
        typed = posted(await request.form())
        faq = [
            {k: v.replace("\r\n", "\n") for k, v in row.items()}  # a textarea's line breaks
            for row in table(typed, "faq")
            if row.get("question") or row.get("answer")
        ]
        contacts = {k: typed.get(k, "") for k in ("phone", "whatsapp", "email", "address", "hours")}
        try:
            data = convert(contacts | {"faq": faq}, region_schemas.Helpdesk)
            await regions.set_helpdesk(db_session, request.user.region_id, data, request.user)
        except (FormErrors, AppError) as err:
            await db_session.rollback()
            errors = err.errors if isinstance(err, FormErrors) else field_errors(err)
            status = err.status_code if isinstance(err, AppError) else 400
            return await self._dashboard(request, db_session, {"desk": typed}, errors, status)
        return Redirect("/dinas?ok=bantuan")

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
        self,
        request: Request,
        db_session: Session,
        period_id: int,
        *,
        status: int = 200,
        typed: dict[str, dict[str, Any]] | None = None,
        **extra: Any,
    ) -> Template:
        """The period page; `typed`: a refused rules form as the admin typed it, shown in place of the rules."""
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
            "forms": rule_forms(out.rules) | (typed or {}),
            "rows": table_rows,
            "nationals": list(dict.fromkeys(p.national for p in out.rules.paths)),
            "bounds": bounds,
            "stats": report.totals,
            "charts": charts(report.totals, out.rules),
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
            # a path's quota on its row, the sum above the table, choices and mechanism under theirs
            fields = {f"quotas.{p.name}": f"quota_{p.name}" for p in period.paths}
            fields |= {name: name for name in ("quotas", "max_choices", "mechanism")}
            errors = err.errors if isinstance(err, FormErrors) else {placed(err.field, fields, "rules"): err.message}
            status = err.status_code if isinstance(err, AppError) and err.status_code == 409 else 400
            return await self._period(request, db_session, period_id, status=status, values=values, errors=errors)
        return Redirect(f"/dinas/periode/{period_id}?ok=kuota")

    @post("/dinas/periode/{period_id:int}/pengalihan")
    async def transfers(self, request: Request, db_session: Session, period_id: PeriodId) -> Template:
        """Where a path's unfilled seats go, rows from -> to (a blank row adds one, an emptied row removes it)."""
        typed = posted(await request.form())
        rows = [
            {"from": r.get("from", ""), "to": r.get("to", "")}
            for r in table(typed, "tr")
            if r.get("from") or r.get("to")
        ]
        return await self._change_rules(
            request,
            db_session,
            period_id,
            lambda: convert({"transfers": rows}, region_schemas.RulesUpdate),
            form="transfers",
            typed=typed,
            fields={"transfers": "transfers"},
            done="Pengalihan kursi disimpan.",
        )

    @post("/dinas/periode/{period_id:int}/jalur")
    async def add_path(self, request: Request, db_session: Session, period_id: PeriodId) -> Template:
        """A region's own path: its name, the national path it belongs to, title, quota and ranking chain."""
        typed = posted(await request.form())
        name, category = typed.get("name", ""), typed.get("category", "")
        period = await regions.get_period(db_session, period_id, user=request.user)
        known = {p.name for p in regions.rules_of(period).paths}

        def change() -> region_schemas.RulesUpdate:
            if name in known:  # the API would change that path: not what "add" means
                raise FormErrors({f"paths.{name}": "Jalur dengan nama ini sudah ada; ubah di formulir jalurnya."})
            path = {
                "name": name,
                "category": category,
                "title": typed.get("title", ""),
                "quota": typed.get("quota", ""),
            }
            return path_change(path | {"keys": chain(typed)}, required=("name", "category", "quota", "keys"))

        where = f"paths.{name}"
        quota = "new_path_quota"  # the sum of all quotas, or of the national path's members, stays in bounds
        return await self._change_rules(
            request,
            db_session,
            period_id,
            change,
            form="new_path",
            typed=typed,
            fields={
                where: "new_path_name",
                f"{where}.category": "new_path_category",
                f"{where}.title": "new_path_title",
                f"{where}.quota": quota,
                f"{where}.keys": "new_path_keys",
                f"{where}.score": "new_path_keys",
                f"quotas.{name}": quota,
                "quotas": quota,
                **({f"paths.{category}": quota} if category else {}),
            },
            done=f"Jalur {name} ditambahkan.",
        )

    @post("/dinas/periode/{period_id:int}/jalur/{path:str}/hapus")
    async def remove_path(
        self,
        request: Request,
        db_session: Session,
        period_id: PeriodId,
        path: Annotated[str, PathParameter(max_length=40)],
    ) -> Template:
        """Drop a region's path (a national path only where another path of its category remains)."""
        return await self._change_rules(
            request,
            db_session,
            period_id,
            lambda: path_change({"name": path, "remove": True}),
            form=f"path_{path}_remove",
            fields={},
            done=f"Jalur {path} dihapus.",
        )

    @post("/dinas/periode/{period_id:int}/jalur/{path:str}")
    async def path_rules(
        self,
        request: Request,
        db_session: Session,
        period_id: PeriodId,
        path: Annotated[str, PathParameter(max_length=40)],
    ) -> Template:
        """One path's title, ranking chain, zone requirement, out-of-region rule, required documents and
        sub-quotas with theirs (a blank row adds a sub-quota, an emptied name removes it)."""
        typed = posted(await request.form())
        rows = [(i, row) for i, row in enumerate(table(typed, "sq")) if row.get("name")]
        change = {
            "name": path,
            "title": typed.get("title", ""),
            "keys": chain(typed),
            "requires_zone": bool(typed.get("requires_zone")),
            "out_of_region": bool(typed.get("out_of_region")),
            "required_documents": requirements(typed.get("documents", "")),
            "sub_quotas": [
                {
                    "name": row["name"],
                    "share": row.get("share", ""),
                    "zone_tiers": [t for t in row.get("tiers", "").replace(" ", "").split(",") if t],
                    "per_kelurahan": bool(row.get("per_kelurahan")),
                    "fallback": row.get("fallback") or None,
                    "unused_to": row.get("unused_to") or None,
                    "required_documents": requirements(row.get("documents", "")),
                }
                for _, row in rows
            ],
        }
        key, where = f"path_{path}", f"paths.{path}"
        return await self._change_rules(
            request,
            db_session,
            period_id,
            lambda: path_change(change),
            form=key,
            typed=typed,
            fields={
                f"{where}.title": f"{key}_title",
                f"{where}.required_documents": f"{key}_documents",
                f"{where}.sub_quotas": f"{key}_sub_quotas",
                **{
                    f"{where}.sub_quotas.{row['name']}.required_documents": f"{key}_sq_{i}_documents" for i, row in rows
                },
            },
            done=f"Aturan jalur {path} disimpan.",
        )

    @post("/dinas/periode/{period_id:int}/usia-dokumen")
    async def ages_and_documents(self, request: Request, db_session: Session, period_id: PeriodId) -> Template:
        """The age limits and their reference date, the KK's minimum age, the documents that exempt a child
        from the maximum age, and the region's own document kinds (a blank row adds one, an emptied kind
        removes it)."""
        typed = posted(await request.form())
        documents = [
            {"kind": row["kind"], "title": row.get("title", ""), "formats": row.get("formats", [])}
            for row in table(typed, "doc")
            if row.get("kind")
        ]

        def change() -> region_schemas.RulesUpdate:
            ages = {name: typed.get(name, "") for name in AGE_FIELDS}
            exemptions = typed.get("age_exemptions", [])
            update = convert(
                ages | {"age_exemptions": exemptions, "documents": documents},
                region_schemas.RulesUpdate,
                required=("reference_date", "kk_min_age_days"),
            )
            # `convert` leaves an empty input out (the rule would stay); here it means "no limit"
            return msgspec.structs.replace(update, **{name: None for name in NULLABLE_AGES if not ages[name]})

        return await self._change_rules(
            request,
            db_session,
            period_id,
            change,
            form="usia",
            typed=typed,
            fields={name: name for name in (*AGE_FIELDS, "age_exemptions", "documents")},
            done="Aturan usia dan dokumen disimpan.",
        )

    @post("/dinas/periode/{period_id:int}/pilihan")
    async def choices(self, request: Request, db_session: Session, period_id: PeriodId) -> Template:
        """Whether a parent needs the child's PIN, and the choice rules: at most so many choices of a kind, from
        a given choice on (a blank row adds one, an emptied kind removes it)."""
        typed = posted(await request.form())
        limits = [row for row in table(typed, "cl") if row.get("kind")]
        return await self._change_rules(
            request,
            db_session,
            period_id,
            lambda: convert(
                {"pin_required": bool(typed.get("pin_required")), "choice_limits": limits},
                region_schemas.RulesUpdate,
            ),
            form="pilihan",
            typed=typed,
            fields={"choice_limits": "choice_limits", "pin_required": "pin_required"},
            done="Aturan pilihan sekolah dan PIN disimpan.",
        )

    @post("/dinas/periode/{period_id:int}/kuota-sekolah")
    async def school_quotas(self, request: Request, db_session: Session, period_id: PeriodId) -> Template:
        """Schools with their own quotas: an NPSN and `jalur=persen` pairs, e.g. `domisili=50, prestasi=25`."""
        typed = posted(await request.form())

        def change() -> region_schemas.RulesUpdate:
            own = []
            for row in table(typed, "kq"):
                if not row.get("npsn"):
                    continue
                pairs = [pair.split("=", 1) for pair in row.get("quotas", "").split(",") if pair.strip()]
                if any(len(pair) != 2 for pair in pairs):
                    raise FormErrors({"school_quotas": "Tulis kuota sebagai jalur=persen, dipisah koma."})
                own.append({"npsn": row["npsn"], "quotas": {k.strip(): v.strip() for k, v in pairs}})
            return convert({"school_quotas": own}, region_schemas.RulesUpdate)

        return await self._change_rules(
            request,
            db_session,
            period_id,
            change,
            form="kuota_sekolah",
            typed=typed,
            fields={"school_quotas": "school_quotas"},
            done="Kuota khusus sekolah disimpan.",
        )

    async def _change_rules(
        self,
        request: Request,
        db_session: Session,
        period_id: int,
        change: Callable[[], region_schemas.RulesUpdate],
        *,
        form: str,
        fields: dict[str, str],
        done: str,
        typed: dict[str, Any] | None = None,
    ) -> Template:
        """A rules form's change through `update_rules`, checked, audited and versioned like the API's PATCH.
        Refused, the page again with the form as typed and each error next to its input: `fields` maps the
        API's field names to the form's error keys, anything else goes above the form (`form`)."""
        try:
            await regions.update_rules(db_session, period_id, change(), request.user)
        except (FormErrors, AppError) as err:
            await db_session.rollback()
            refused = err.errors if isinstance(err, FormErrors) else {err.field or "": err.message}
            return await self._period(
                request,
                db_session,
                period_id,
                status=err.status_code if isinstance(err, AppError) else 400,
                errors={placed(field, fields, form): message for field, message in refused.items()},
                typed={form: typed} if typed else None,
            )
        return await self._period(request, db_session, period_id, notice=done)

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
        importer = schools.import_schools if what == "sekolah" else schools.import_zones
        try:
            text = schools.decode_csv(await upload.read()) if isinstance(upload, UploadFile) else ""
            text = text or form_value(form, "text")
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
                db_session, period_id, user, datetime.now(UTC) + timedelta(days=_days(form))
            ),
            "tutup-daftar-ulang": lambda: flows.release_unclaimed(db_session, period_id, user),
            "kursi-kosong": lambda: flows.vacancy_round(db_session, period_id, user),
            "seleksi-koreksi": lambda: flows.correction_run(db_session, period_id, user, secret=secret),
            "tahap-berikutnya": lambda: flows.next_stage(
                db_session, period_id, user, _stage_window(form), data_dir=state.settings.data_path
            ),
        }
        if action not in steps:
            raise AppError("action_unknown", "Aksi tidak dikenal.", status_code=404)
        title, consequence = ACTIONS[action]
        asked = ask_first(
            request,
            form,
            title=f"{title}?",
            consequence=consequence,
            button=f"Ya, {title[0].lower()}{title[1:]}",
            back=f"/dinas/periode/{period_id}",
            style="primary",
        )
        if asked is not None:
            return asked
        try:
            done = await steps[action]()
        except AppError as err:
            await db_session.rollback()
            return await self._period(
                request, db_session, period_id, status=err.status_code, errors={f"action_{action}": err.message}
            )
        if isinstance(done, Period) and done.id != period_id:  # the next stage: its own period, to set up
            return finished(f"/dinas/periode/{done.id}", action)
        return finished(f"/dinas/periode/{period_id}", action)

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
AGE_FIELDS = ("reference_date", "min_age_months", "early_min_age_months", "max_age_years", "kk_min_age_days")
NULLABLE_AGES = ("min_age_months", "early_min_age_months", "max_age_years")


def placed(field: str | None, fields: dict[str, str], fallback: str) -> str:
    """Where a refused field's message goes: the form input of the most specific field that covers it
    (`paths.afirmasi.sub_quotas` covers `paths.afirmasi.sub_quotas.fallback`), else above the form."""
    field = field or ""
    covering = [name for name in fields if field == name or field.startswith(f"{name}.")]
    return fields[max(covering, key=len)] if covering else fallback


def path_change(change: dict[str, Any], required: tuple[str, ...] = ()) -> region_schemas.RulesUpdate:
    """One path's change, converted on its own so that a refused input is named as the API names it
    (`paths.afirmasi.required_documents`); an emptied title clears it."""
    try:
        update = convert(change, region_schemas.PathUpdate, required=required)
    except FormErrors as err:
        raise FormErrors({f"paths.{change['name']}.{k}": v for k, v in err.errors.items()}) from None
    if "title" in change and not change["title"]:
        update = msgspec.structs.replace(update, title=None)
    return region_schemas.RulesUpdate(paths=[update])


def requirements(text: str) -> list[Requirement]:
    """`kk, afirmasi_proof / kip` -> `["kk", ["afirmasi_proof", "kip"]]`: requirements are separated by commas,
    the kinds any one of which will do by slashes."""
    found: list[Requirement] = []
    for part in text.split(","):
        kinds = [k.strip() for k in part.split("/") if k.strip()]
        if kinds:
            found.append(kinds[0] if len(kinds) == 1 else kinds)
    return found


def requirement_text(required: list[Requirement]) -> str:
    return ", ".join(" / ".join(alternatives(r)) for r in required)


def chain(typed: dict[str, Any]) -> list[str]:
    """A form's ranking chain from its key selects, the unused ones left out."""
    return [k for i in range(MAX_KEYS) if (k := typed.get(f"key_{i}"))]


def posted(form: Any) -> dict[str, Any]:
    """A form as typed; a checkbox group (`age_exemptions`, `doc_0_formats`) as the list of its ticked values."""
    return {
        name: [v.strip() for v in form.getall(name) if isinstance(v, str)]
        if name == "age_exemptions" or name.endswith("_formats")
        else form_value(form, name)
        for name in form
        if name != "_csrf"
    }


def table(typed: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """A form table's rows as posted, column by name: `doc_0_kind`, `doc_0_title`, … -> `[{"kind": …}, …]`."""
    rows: list[dict[str, Any]] = []
    while True:
        start = f"{prefix}_{len(rows)}_"
        row = {name.removeprefix(start): value for name, value in typed.items() if name.startswith(start)}
        if not row:
            return rows
        rows.append(row)


def table_rows(typed: dict[str, Any], prefix: str) -> int:
    """How many rows a form table shows: those it has, and a blank one to add one unless the last is blank."""
    rows = table(typed, prefix)
    return len(rows) + (not rows or any(rows[-1].values()))


def cells(prefix: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The inverse of `table`: rows as the inputs of a form table."""
    return {f"{prefix}_{i}_{name}": value for i, row in enumerate(rows) for name, value in row.items()}


def flag(value: bool) -> str:
    return "1" if value else ""


def path_inputs(path: PathRule) -> dict[str, Any]:
    return {
        "title": path.title or "",
        "documents": requirement_text(path.required_documents),
        "requires_zone": flag(path.requires_zone),
        "out_of_region": flag(path.out_of_region),
        **{f"key_{i}": key for i, key in enumerate(path.keys)},
        **cells(
            "sq",
            [
                {
                    "name": s.name,
                    "share": str(s.share),
                    "tiers": ",".join(map(str, s.zone_tiers)),
                    "per_kelurahan": flag(s.per_kelurahan),
                    "fallback": s.fallback or "",
                    "unused_to": s.unused_to or "",
                    "documents": requirement_text(s.required_documents),
                }
                for s in path.sub_quotas
            ],
        ),
    }


def rule_forms(rules: RuleSet) -> dict[str, dict[str, Any]]:
    """The rule forms' inputs as the rules fill them, by form: `path_<name>`, `new_path`, `usia`, `transfers`,
    `pilihan`, `kuota_sekolah`."""
    ages = {name: "" if (value := getattr(rules, name)) is None else str(value) for name in AGE_FIELDS}
    documents = [{"kind": d.kind, "title": d.title, "formats": list(d.formats)} for d in rules.documents]
    return {
        **{f"path_{p.name}": path_inputs(p) for p in rules.paths},
        "new_path": {"quota": "0"},
        "usia": ages | {"age_exemptions": list(rules.age_exemptions)} | cells("doc", documents),
        "transfers": cells("tr", [{"from": t.source, "to": t.target} for t in rules.transfers]),
        "pilihan": {"pin_required": flag(rules.pin_required)}
        | cells(
            "cl", [{"kind": c.kind, "max": str(c.max), "from_rank": str(c.from_rank)} for c in rules.choice_limits]
        ),
        "kuota_sekolah": cells(
            "kq",
            [
                {"npsn": q.npsn, "quotas": ", ".join(f"{path}={share:g}" for path, share in q.quotas.items())}
                for q in rules.school_quotas
            ],
        ),
    }


def _days(form: Any) -> int:
    """How many days daftar ulang stays open, as typed on the period page (1 to 30; empty: 3)."""
    typed = form_value(form, "days") or "3"
    if not typed.isdigit() or not 1 <= int(typed) <= 30:
        raise AppError("days_invalid", "Lama daftar ulang 1 sampai 30 hari.", "days")
    return int(typed)


def _stage_window(form: Any) -> region_schemas.NextStage:
    """The next stage's registration window from the form (WIB, as typed); empty: the stage's planned dates."""
    try:
        opens, closes = (
            datetime.fromisoformat(v).replace(tzinfo=WIB) if (v := form_value(form, name)) else None
            for name in ("opens_at", "closes_at")
        )
    except ValueError:
        raise AppError("schedule_invalid", "Tanggal dan jam tidak valid.", "registration_opens_at") from None
    return region_schemas.NextStage(registration_opens_at=opens, registration_closes_at=closes)
