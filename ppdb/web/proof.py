"""The registration proof: a one-page PDF with a QR code that opens the public result lookup."""

from __future__ import annotations

import io

import qrcode
from fpdf import FPDF
from litestar import Request, Response

from ppdb.applicants.schemas import ApplicationOut
from ppdb.labels import path_title, status_title
from ppdb.selection.keys import metres
from ppdb.web.common import wib


def _latin(text: str) -> str:
    # The core PDF fonts are Latin-1; anything else is replaced rather than failing the download.
    return text.replace("–", "-").replace("…", "...").encode("latin-1", "replace").decode("latin-1")


def proof_pdf(
    application: ApplicationOut, period_name: str, lookup_url: str, help_url: str, follow: str | None = None
) -> bytes:
    """`follow`: for a family a school registered (walk-in), how to follow the status without the school."""
    pdf = FPDF(format="A4")
    pdf.set_title(f"Bukti pendaftaran {application.registration_number}")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin("Bukti Pendaftaran Penerimaan Murid Baru"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 7, _latin(period_name), new_x="LMARGIN", new_y="NEXT")
    image = qrcode.make(lookup_url, box_size=6, border=2).get_image()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    pdf.image(buffer, x=160, y=10, w=38, h=38)
    pdf.ln(6)
    applicant = application.applicant
    rows = [
        ("Nomor pendaftaran", application.registration_number),
        ("Nama anak", applicant.name),
        ("NIK", applicant.nik[:6] + "******" + applicant.nik[-4:]),
        ("Tanggal lahir", applicant.birth_date.strftime("%d-%m-%Y")),
        ("Jalur", path_title(application.path)),
        ("Status", status_title(application.status)),
        ("Terdaftar pada", wib(application.submitted_at)),
    ]
    for label, value in rows:
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(50, 7, _latin(label))
        pdf.set_font("Helvetica", "", 11)
        pdf.cell(0, 7, _latin(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, "Sekolah pilihan", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    for choice in application.choices:
        pdf.cell(
            0,
            7,
            _latin(f"{choice.rank}. {choice.place} (NPSN {choice.npsn}) - jarak {metres(choice.distance_m)}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.ln(6)
    pdf.set_font("Helvetica", "I", 9)
    pdf.multi_cell(
        0,
        5,
        _latin(
            "Pindai kode QR untuk membuka halaman cek hasil. Simpan bukti ini; nomor pendaftaran "
            "dan tanggal lahir anak diperlukan untuk melihat hasil seleksi. "
            f"Bantuan dan kontak helpdesk: {help_url}"
        ),
    )
    if follow is not None:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, "Didaftarkan di sekolah: cara mengikuti status", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 5, _latin(follow))
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 9, "PIN anak: ____________________  (ditulis petugas sekolah)", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def follow_walk_in(base: str) -> str:
    """How a family registered at the school (walk-in) follows its registration: the proof and the school's
    page say the same."""
    return (
        f"Masuk di {base}/masuk/pin dengan NIK anak dan PIN anak dari sekolah untuk melihat status. Atau, bila "
        f"punya akun orang tua, tambahkan pendaftaran ini ke akun Anda di {base}/orangtua dengan nomor "
        "pendaftaran dan PIN anak. Jaga kerahasiaan PIN."
    )


def proof_response(request: Request, application: ApplicationOut, period_name: str, *, walk_in: bool) -> Response:
    """The proof as a download, for the family or the school's staff (`walk_in`: with how to follow it)."""
    base = str(request.base_url).rstrip("/")
    number = application.registration_number
    lookup = f"{base}/periode/{application.period_id}/hasil?nomor={number}"
    follow = follow_walk_in(base) if walk_in else None
    return Response(
        proof_pdf(application, period_name, lookup, f"{base}/bantuan", follow),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="bukti-{number}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )
