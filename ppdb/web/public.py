"""Public pages: home with the schedule and how selection works, schools, provisional rank lists, results."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.params import PathParameter, QueryParameter
from litestar.response import Template

from ppdb.complaints.service import objection_closes
from ppdb.errors import AppError
from ppdb.params import PeriodId, ReadSession, client_address
from ppdb.regions.service import get_period, helpdesks, public_periods, to_out
from ppdb.results import service as results
from ppdb.schools.service import list_schools, name_order, place, place_names
from ppdb.selection import service as selection
from ppdb.selection.programs import Cutoff
from ppdb.web.common import render


def cutoff_words(names: list[str], cutoff: list[float] | None) -> str:
    """A cut-off as published (already without private keys, ages in months) in words."""
    if not cutoff:
        return "belum ada (kursi belum penuh)"
    return Cutoff(names, cutoff).words()


class PublicPages(Controller):
    include_in_schema = False

    @get("/")
    async def home(self, request: Request, read_session: ReadSession) -> Template:
        periods = await public_periods(read_session)
        return render(request, "home.html", periods=[to_out(p) for p in periods])

    @get("/bantuan")
    async def help(self, request: Request, read_session: ReadSession) -> Template:
        """Where families get help: each region's contacts and questions, then the general ones."""
        return render(request, "help.html", desks=await helpdesks(read_session))

    @get("/periode/{period_id:int}/sekolah")
    async def schools(self, request: Request, read_session: ReadSession, period_id: PeriodId) -> Template:
        period = to_out(await get_period(read_session, period_id))
        return render(request, "schools.html", period=period, schools=await list_schools(read_session, period_id))

    @get("/periode/{period_id:int}/peringkat")
    async def ranks(
        self,
        request: Request,
        read_session: ReadSession,
        period_id: PeriodId,
        sekolah: Annotated[str | None, QueryParameter(max_length=20)] = None,
    ) -> Template:
        """Seats, filled and the cut-off per school and path; `sekolah`: one school's (its NPSN)."""
        period = await get_period(read_session, period_id)
        try:
            run = await selection.run_for_parents(read_session, period)
        except AppError:
            run = None
        programs: list[dict[str, Any]] = []
        schools: dict[str, str] = {}
        if run is not None:
            out = selection.run_out(run, await selection.outcomes(read_session, run.id), public=True)
            names = await place_names(read_session, period_id, {p.npsn for p in out.programs})
            programs = [
                {
                    "school": place(names, p.npsn, p.program_code),
                    "npsn": p.npsn,
                    "path": p.path,
                    "seats": p.final_capacity,
                    "filled": p.filled,
                    "cutoff": cutoff_words(p.key_names, p.cutoff),
                }
                for p in out.programs
            ]
            programs.sort(key=lambda p: (name_order(p["school"]), p["path"]))
            schools = {p.npsn: place(names, p.npsn) for p in out.programs}
        chosen = sekolah if sekolah in schools else None
        shown = [p for p in programs if p["npsn"] == chosen] if chosen else programs
        template = "ranks_table.html" if request.headers.get("hx-request") else "ranks.html"
        return render(
            request,
            template,
            period=to_out(period),
            run=run,
            programs=shown,
            schools=sorted(schools.items(), key=lambda s: name_order(s[1])),
            chosen=chosen,
        )

    @get("/periode/{period_id:int}/hasil")
    async def results(
        self,
        request: Request,
        read_session: ReadSession,
        state: State,
        period_id: PeriodId,
        nomor: Annotated[str | None, QueryParameter(max_length=24)] = None,
        lahir: Annotated[str | None, QueryParameter(max_length=10)] = None,
    ) -> Template:
        period = to_out(await get_period(read_session, period_id))
        publication = summary = answer = None
        errors: dict[str, str] = {}
        try:
            publication = await results.latest(read_session, period_id)
            summary = await results.snapshot_of(read_session, publication)
        except AppError:
            pass
        if nomor is not None or lahir is not None:
            answer, errors = await self._lookup(
                state,
                period_id,
                (nomor or "").strip().upper(),
                lahir or "",
                published=publication is not None,
                address=client_address(request),
            )
        return render(
            request,
            "results.html",
            period=period,
            publication=publication,
            summary=summary,
            answer=answer,
            errors=errors,
            values={"nomor": nomor or "", "lahir": lahir or ""},
            cutoff_words=cutoff_words,
            objection_closes=publication and objection_closes(publication.published_at, period.rules),
        )

    @staticmethod
    async def _lookup(state: State, period_id: int, number: str, birth: str, *, published: bool, address: str):
        errors = {}
        if not number:
            errors["nomor"] = "Wajib diisi."
        try:
            birth_date = date.fromisoformat(birth)
        except ValueError:
            errors["lahir"] = "Isi tanggal lahir dengan format tahun-bulan-tanggal, mis. 2014-03-15."
        if not published:
            errors["_form"] = "Hasil seleksi belum diumumkan."
        if errors:
            return None, errors
        try:
            return await results.lookup(state.sessionmaker, period_id, number, birth_date, address=address), {}
        except AppError as err:
            return None, {"nomor": err.message}

    @get("/periode/{period_id:int}/hasil/{npsn:str}")
    async def school_result(
        self,
        request: Request,
        read_session: ReadSession,
        period_id: PeriodId,
        npsn: Annotated[str, PathParameter(max_length=8)],
    ) -> Template:
        period = to_out(await get_period(read_session, period_id))
        snapshot = await results.snapshot_of(read_session, await results.latest(read_session, period_id))
        school = next((s for s in snapshot.schools if s.npsn == npsn), None)
        if school is None:
            raise AppError("school_not_found", "Sekolah tidak ada dalam pengumuman ini.", "npsn", status_code=404)
        return render(
            request, "school_result.html", period=period, school=school, snapshot=snapshot, cutoff_words=cutoff_words
        )
