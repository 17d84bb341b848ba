"""Document files: checked by their content, stored under generated names in the data directory."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from pathlib import Path

from litestar import Response
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from ppdb.accounts.models import Role
from ppdb.applicants import schemas
from ppdb.applicants.models import Application, ApplicationStatus, Document, DocumentStatus
from ppdb.audit.service import record_application
from ppdb.authz import Principal
from ppdb.errors import AppError, ApplicationWithdrawn, NotFound
from ppdb.regions.models import Period, PeriodStatus
from ppdb.regions.rules import RuleSet
from ppdb.regions.service import accepting_registrations

# The first bytes of the only formats accepted; the client's Content-Type and file name are never trusted.
SIGNATURES = {
    b"%PDF-": ("application/pdf", "pdf"),
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
}


def sniff(content: bytes) -> tuple[str, str]:
    for magic, kind in SIGNATURES.items():
        if content.startswith(magic):
            return kind
    raise AppError("document_type_unsupported", "Berkas harus PDF, JPEG, atau PNG.", "file", status_code=415)


def refuse_size(max_bytes: int) -> None:
    raise AppError("document_too_large", f"Berkas melebihi {max_bytes // (1024 * 1024)} MB.", "file", status_code=413)


FORMAT_WORDS = {"pdf": "PDF", "jpg": "JPEG", "png": "PNG"}


def check(rules: RuleSet, kind: str, content: bytes, *, max_bytes: int) -> tuple[str, str]:
    """The file's content type and extension, or the reason it is refused; nothing is stored."""
    spec = rules.document_kinds.get(kind)
    if spec is None:
        raise AppError("document_kind_unknown", f"Jenis dokumen '{kind}' tidak dikenal.", "kind")
    if not content:
        raise AppError("document_empty", "Berkas kosong.", "file")
    if len(content) > max_bytes:
        refuse_size(max_bytes)
    content_type, extension = sniff(content)
    if spec.formats and extension not in spec.formats:
        allowed = " atau ".join(FORMAT_WORDS[f] for f in spec.formats)
        raise AppError("document_type_unsupported", f"{spec.title} harus berkas {allowed}.", "file", status_code=415)
    return content_type, extension


def may_upload(period: Period, application: Application, kind: str) -> None:
    """While registration is open, any document; after it closes and until the selection runs, only one a
    verifier rejected: the family can fix it (a new file is checked again)."""
    document = next((d for d in application.documents if d.kind == kind), None)
    fixing = document is not None and document.status is DocumentStatus.REJECTED
    if not (fixing and period.status is PeriodStatus.REGISTRATION_CLOSED):
        accepting_registrations(period)


async def store(
    session: AsyncSession,
    application: Application,
    kind: str,
    content: bytes,
    *,
    rules: RuleSet,
    actor: str,
    data_dir: Path,
    max_bytes: int,
) -> schemas.DocumentOut:
    if application.status is ApplicationStatus.WITHDRAWN:
        raise ApplicationWithdrawn()
    content_type, extension = check(rules, kind, content, max_bytes=max_bytes)
    folder = data_dir / "documents" / str(application.period_id)
    name = write_private(folder, content, extension)

    document = next((d for d in application.documents if d.kind == kind), None)
    stored = None if document is None else document.storage_name
    replaced = None if stored is None else data_dir / "documents" / stored
    files_follow(session, new=folder / name, replaced=replaced)
    old = None
    if document is None:
        document = Document(application_id=application.id, kind=kind)
        application.documents.append(document)
    else:
        old = {"sha256": document.sha256, "status": document.status.value}
    document.status, document.content_type = DocumentStatus.UPLOADED, content_type
    document.size_bytes, document.sha256 = len(content), hashlib.sha256(content).hexdigest()
    document.storage_name = f"{application.period_id}/{name}"
    document.reason = None
    if application.status is ApplicationStatus.VERIFIED:  # a new file must be checked again
        application.status = ApplicationStatus.SUBMITTED
    record_application(
        session,
        application,
        "document.upload",
        actor=actor,
        old=old,
        new={"kind": kind, "sha256": document.sha256, "size_bytes": len(content)},
    )
    await session.flush()
    return schemas.DocumentOut(
        kind=kind, status=document.status.value, content_type=content_type, size_bytes=len(content)
    )


def _private(folder: Path) -> Path:
    """A documents folder only the service's own user can read (children's KK and birth certificates)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for part in (folder, folder.parent):
        os.chmod(part, 0o700)
    return folder


def write_private(folder: Path, content: bytes, extension: str) -> str:
    """Write a file under a generated name into a private folder (`_private`), whole or not at all; its name."""
    name = f"{secrets.token_hex(16)}.{extension}"
    temporary = _private(folder) / f".{name}.part"
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
        file.write(content)
    os.replace(temporary, folder / name)  # a reader never sees half a file
    return name


def files_follow(session: AsyncSession, *, new: Path, replaced: Path | None) -> None:
    """Files follow the transaction: once it commits, the replaced file is deleted (a child's old KK scan is
    not kept for nothing; the audit log keeps its digest); if it does not, the new one is."""
    sync, outcome = session.sync_session, set[str]()

    def committed(_session: Session) -> None:
        outcome.add("committed")

    def ended(_session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is not None or "done" in outcome:  # a savepoint inside, or already handled
            return
        outcome.add("done")
        gone = replaced if "committed" in outcome else new
        if gone is not None:
            gone.unlink(missing_ok=True)

    event.listen(sync, "after_commit", committed)
    event.listen(sync, "after_transaction_end", ended)


def carry(session: AsyncSession, old: Document, new: Document, period_id: int, *, data_dir: Path) -> None:
    """A document as it stands (its file, status and the verifier's decision) into a registration carried to
    the next stage: the file is copied, so each registration keeps its own (and may replace it alone)."""
    if old.storage_name is None:
        return
    folder = _private(data_dir / "documents" / str(period_id))
    name = f"{secrets.token_hex(16)}{Path(old.storage_name).suffix}"
    try:
        shutil.copyfile(data_dir / "documents" / old.storage_name, folder / name)
    except FileNotFoundError:  # gone from the disk: the family uploads it again
        return
    os.chmod(folder / name, 0o600)
    files_follow(session, new=folder / name, replaced=None)
    for column in ("status", "content_type", "size_bytes", "sha256", "decided_by", "reason"):
        setattr(new, column, getattr(old, column))
    new.storage_name = f"{period_id}/{name}"


async def fetch(
    session: AsyncSession, application: Application, kind: str, *, actor: Principal, data_dir: Path
) -> tuple[bytes, str, str]:
    """The stored file of one kind (content, content type, download name); staff reads are audited.

    Files are addressed by application and kind only: the path comes from the generated storage name,
    never from the client, and must stay inside the documents folder.
    """
    document = next((d for d in application.documents if d.kind == kind), None)
    folder = (data_dir / "documents").resolve()
    path = None if document is None or document.storage_name is None else (folder / document.storage_name).resolve()
    if document is None or path is None or not path.is_relative_to(folder) or not path.is_file():
        raise NotFound("document_not_found", "Dokumen belum diunggah.", "kind")
    if actor.role is not Role.PARENT:
        record_application(
            session,
            application,
            "document.read",
            actor=actor.actor,
            new={"kind": kind, "sha256": document.sha256},
        )
    extension = path.suffix.lstrip(".")
    return path.read_bytes(), document.content_type or "application/octet-stream", f"{kind}.{extension}"


SANDBOX = "default-src 'none'; sandbox"
"""An uploaded file is someone else's bytes: whatever a browser makes of it runs nothing and reaches nothing."""


def serve(content: bytes, content_type: str, filename: str, *, inline: bool = False) -> Response[bytes]:
    """A stored file as the answer: never cached (a child's documents), under a sandbox, as an attachment. Only an
    image may be shown inline (`inline`: a page draws it with `<img>`); a PDF is always downloaded, since a file
    that passes as a PDF may also be read as something else (a polyglot)."""
    disposition = "inline" if inline and content_type.startswith("image/") else "attachment"
    return Response(
        content,
        media_type=content_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": SANDBOX,
        },
    )
