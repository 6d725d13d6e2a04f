"""Message templates on SQL (docs/business.md section 6): shared queries and transaction functions
(see ``storage.sql.txn``), run by ``SqlBusinessStore``."""

from __future__ import annotations

from passerelle.domain.business.consent import Category
from passerelle.domain.business.ids import TemplateId, WabaId
from passerelle.domain.business.quality import Quality, TemplateStatus
from passerelle.domain.ids import Timestamp
from passerelle.service.business.records import TemplateAdded, TemplateRecord
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.txn import Row, Txn, all_rows, count, one

_TEMPLATE = (
    "id, waba, name, language, category, parameter_format, components, status, quality, "
    "rejected_reason, pauses, paused_until, created_at, updated_at"
)
COUNT_TEMPLATES = "SELECT COUNT(*) FROM business_templates WHERE waba = ?"
INSERT_TEMPLATE = (
    f"INSERT INTO business_templates ({_TEMPLATE}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (waba, name, language) DO NOTHING RETURNING id"
)
GET_TEMPLATE = f"SELECT {_TEMPLATE} FROM business_templates WHERE waba = ? AND name = ? AND language = ?"
TEMPLATE_BY_ID = f"SELECT {_TEMPLATE} FROM business_templates WHERE id = ?"
_LIST = f"SELECT {_TEMPLATE} FROM business_templates WHERE waba = ?"
_ORDER = " ORDER BY name, language LIMIT ?"
DELETE_BY_NAME = f"DELETE FROM business_templates WHERE waba = ? AND name = ? RETURNING {_TEMPLATE}"
DELETE_BY_ID = f"DELETE FROM business_templates WHERE waba = ? AND name = ? AND id = ? RETURNING {_TEMPLATE}"
CHANGE_TEMPLATE = (
    "UPDATE business_templates SET status = ?, quality = ?, rejected_reason = ?, pauses = ?, "
    "paused_until = ?, updated_at = ? WHERE id = ? AND status = ?"
)
TO_EVALUATE = (
    f"SELECT {_TEMPLATE} FROM business_templates WHERE status IN ('APPROVED', 'PAUSED') AND id > ? "
    "ORDER BY id LIMIT ?"
)


def _template(row: Row) -> TemplateRecord:
    return TemplateRecord(
        id=TemplateId(str(row[0])),
        waba=WabaId(str(row[1])),
        name=str(row[2]),
        language=str(row[3]),
        category=Category(str(row[4])),
        parameter_format=str(row[5]),
        components=str(row[6]),
        status=TemplateStatus(str(row[7])),
        quality=Quality(str(row[8])),
        rejected_reason=str(row[9]),
        pauses=int(row[10]),
        paused_until=None if row[11] is None else Timestamp(int(row[11])),
        created_at=Timestamp(int(row[12])),
        updated_at=Timestamp(int(row[13])),
    )


def add_template_txn(d: Dialect, t: TemplateRecord, cap: int) -> Txn[TemplateAdded]:
    held = yield from one(COUNT_TEMPLATES, t.waba)
    if held is not None and int(held[0]) >= cap:
        return TemplateAdded.FULL
    row = yield from one(
        INSERT_TEMPLATE,
        t.id,
        t.waba,
        t.name,
        t.language,
        t.category.value,
        t.parameter_format,
        t.components,
        t.status.value,
        t.quality.value,
        t.rejected_reason,
        t.pauses,
        t.paused_until,
        t.created_at,
        t.updated_at,
    )
    return TemplateAdded.TAKEN if row is None else TemplateAdded.ADDED


def get_template_txn(d: Dialect, waba: WabaId, name: str, language: str) -> Txn[TemplateRecord | None]:
    row = yield from one(GET_TEMPLATE, waba, name, language)
    return None if row is None else _template(row)


def template_by_id_txn(d: Dialect, template: TemplateId) -> Txn[TemplateRecord | None]:
    row = yield from one(TEMPLATE_BY_ID, template)
    return None if row is None else _template(row)


def list_templates_txn(
    d: Dialect,
    waba: WabaId,
    limit: int,
    after: tuple[str, str] | None,
    name: str | None,
    status: TemplateStatus | None,
) -> Txn[list[TemplateRecord]]:
    sql = _LIST
    args: list[object] = [waba]
    if name is not None:
        sql += " AND name = ?"
        args.append(name)
    if status is not None:
        sql += " AND status = ?"
        args.append(status.value)
    if after is not None:
        sql += " AND (name > ? OR (name = ? AND language > ?))"
        args.extend((after[0], after[0], after[1]))
    rows = yield from all_rows(sql + _ORDER, *args, limit)
    return [_template(r) for r in rows]


def count_templates_txn(d: Dialect, waba: WabaId) -> Txn[int]:
    row = yield from one(COUNT_TEMPLATES, waba)
    return 0 if row is None else int(row[0])


def delete_templates_txn(
    d: Dialect, waba: WabaId, name: str, template: TemplateId | None
) -> Txn[list[TemplateRecord]]:
    if template is None:
        rows = yield from all_rows(DELETE_BY_NAME, waba, name)
    else:
        rows = yield from all_rows(DELETE_BY_ID, waba, name, template)
    return sorted((_template(r) for r in rows), key=lambda t: t.language)


def change_template_txn(d: Dialect, t: TemplateRecord, expected: TemplateStatus) -> Txn[bool]:
    changed = yield from count(
        CHANGE_TEMPLATE,
        t.status.value,
        t.quality.value,
        t.rejected_reason,
        t.pauses,
        t.paused_until,
        t.updated_at,
        t.id,
        expected.value,
    )
    return changed > 0


def templates_to_evaluate_txn(d: Dialect, after: TemplateId | None, limit: int) -> Txn[list[TemplateRecord]]:
    rows = yield from all_rows(TO_EVALUATE, after or "", limit)
    return [_template(r) for r in rows]
