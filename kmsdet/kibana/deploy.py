"""Apply a plan: batched _import with overwrite (default) or the per-rule CRUD routes.

Every rule ends with one outcome. When a request fails outright we cannot know whether Kibana
applied it, so the affected rules are re-read and compared with what was sent; only rules that
cannot be checked are reported as "unknown". Nothing is deleted while an upsert failed.
Re-running the same deploy finds every rule unchanged and sends no write at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kmsdet.errors import KmsdetError, UsageError
from kmsdet.kibana.client import KibanaClient
from kmsdet.kibana.export import payload_lines
from kmsdet.kibana.plan import (
    CONFLICT,
    CREATE,
    DELETE,
    UNCHANGED,
    UPDATE,
    Plan,
    PlanItem,
    normalise,
)

# Kibana's defaults are 10,000 objects and 10 MiB per import; stay well inside both.
MAX_BATCH_OBJECTS = 1000
MAX_BATCH_BYTES = 8 * 1024 * 1024
MAX_BULK_IDS = 500

CREATED, UPDATED, DELETED, FAILED = "created", "updated", "deleted", "failed"
NOT_APPLIED, UNKNOWN, SKIPPED = "not applied", "unknown", "skipped"
_DONE = {CREATE: CREATED, UPDATE: UPDATED, DELETE: DELETED}


@dataclass
class RuleOutcome:
    rule_id: str
    name: str
    action: str
    status: str
    message: str | None = None

    @property
    def changed(self) -> bool:
        return self.status in (CREATED, UPDATED, DELETED)

    @property
    def failed(self) -> bool:
        return self.status in (FAILED, NOT_APPLIED, UNKNOWN) or self.action == CONFLICT


@dataclass
class DeployResult:
    outcomes: list[RuleOutcome] = field(default_factory=list)
    requests: int = 0

    @property
    def ok(self) -> bool:
        return not any(o.failed for o in self.outcomes)

    def with_status(self, *statuses: str) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.status in statuses]


def apply_plan(client: KibanaClient, plan: Plan, *, method: str = "import",
               max_objects: int = MAX_BATCH_OBJECTS,
               max_bytes: int = MAX_BATCH_BYTES) -> DeployResult:
    """Carry out ``plan`` and report what happened to every rule in it."""
    if method not in ("import", "crud"):
        raise UsageError(f"unknown deploy method {method!r}", field="--method",
                         hint="use import or crud")
    start = client.requests_sent
    outcomes: dict[str, RuleOutcome] = {}
    for item in plan.items:
        if item.action == UNCHANGED:
            outcomes[item.rule_id] = RuleOutcome(item.rule_id, item.name, UNCHANGED, UNCHANGED)
        elif item.action == CONFLICT:
            outcomes[item.rule_id] = RuleOutcome(item.rule_id, item.name, CONFLICT, SKIPPED,
                                                 item.reason)
    upserts = [i for i in plan.items if i.action in (CREATE, UPDATE)]
    if method == "import":
        _import_all(client, upserts, outcomes, max_objects, max_bytes)
    else:
        _crud_all(client, upserts, outcomes)
    deletes = plan.by_action(DELETE)
    if any(outcomes[i.rule_id].failed for i in upserts):
        for item in deletes:
            outcomes[item.rule_id] = RuleOutcome(item.rule_id, item.name, DELETE, NOT_APPLIED,
                                                 "not deleted because other changes failed")
    elif deletes:
        _delete_all(client, deletes, outcomes)
    ordered = [outcomes[i.rule_id] for i in plan.items]
    return DeployResult(outcomes=ordered, requests=client.requests_sent - start)


def batches(items: Sequence[PlanItem], max_objects: int,
            max_bytes: int) -> list[tuple[list[PlanItem], bytes]]:
    """Split upserts into ndjson files inside Kibana's object and byte limits."""
    out: list[tuple[list[PlanItem], bytes]] = []
    current: list[PlanItem] = []
    chunks: list[bytes] = []
    objects = size = 0
    for item in items:
        assert item.payload is not None
        data = "".join(f"{line}\n" for line in payload_lines(item.payload)).encode()
        lines = data.count(b"\n")
        if current and (objects + lines > max_objects or size + len(data) > max_bytes):
            out.append((current, b"".join(chunks)))
            current, chunks, objects, size = [], [], 0, 0
        current.append(item)
        chunks.append(data)
        objects += lines
        size += len(data)
    if current:
        out.append((current, b"".join(chunks)))
    return out


def _import_all(client: KibanaClient, upserts: list[PlanItem],
                outcomes: dict[str, RuleOutcome], max_objects: int, max_bytes: int) -> None:
    parts = batches(upserts, max_objects, max_bytes)
    for index, (items, data) in enumerate(parts):
        try:
            summary = client.import_rules(data, overwrite=True, overwrite_exceptions=any(
                i.exceptions_changed for i in items))
        except KmsdetError as exc:
            status = getattr(exc, "status", None)
            refused = isinstance(status, int) and 400 <= status < 500
            if refused and index == 0:
                raise  # nothing was applied: the error itself is the whole story (e.g. 403)
            for item in items:
                outcomes[item.rule_id] = RuleOutcome(item.rule_id, item.name, item.action,
                                                     NOT_APPLIED if refused else UNKNOWN,
                                                     f"import request failed: {exc.message}")
            for later, _ in parts[index + 1:]:
                for item in later:
                    outcomes[item.rule_id] = RuleOutcome(
                        item.rule_id, item.name, item.action, NOT_APPLIED,
                        "not sent because an earlier import request failed")
            if not refused:
                _verify(client, items, outcomes)
            return
        _record_import(client, items, summary, outcomes)


def import_summary_problem(items: Sequence[PlanItem], summary: Any) -> str | None:
    """Why an _import answer does not account for every rule sent, or None when it does.

    Kibana answers 200 whatever happened to the rules, so the status alone proves nothing: the
    summary must say success, count the imported rules and name each failed one, and the counts
    must add up to what was sent. A proxy, an old or foreign server, or a truncated answer
    fails this, and the rules it does not account for are then checked by re-reading Kibana.
    """
    if not isinstance(summary, dict):
        return "the answer is not a JSON object"
    success, count, errors = (summary.get("success"), summary.get("success_count"),
                              summary.get("errors"))
    missing = [name for name, ok in (("success", isinstance(success, bool)),
                                     ("success_count", _is_count(count)),
                                     ("errors", isinstance(errors, list))) if not ok]
    if missing:
        return f"the answer has no valid {', '.join(missing)}"
    assert isinstance(count, int) and isinstance(errors, list)
    sent = len(items)
    rules_count = summary.get("rules_count")
    if rules_count is not None and rules_count != sent:
        return f"Kibana counted {rules_count} rule(s) in the file, kmsdet sent {sent}"
    named = {str(e.get("rule_id")) for e in errors if isinstance(e, dict)}
    failed = sum(1 for i in items if i.rule_id in named)
    if count + failed != sent:
        return (f"Kibana reported {count} imported and {failed} failed of the {sent} "
                "rule(s) sent")
    if success is not (not errors):
        return f"success is {str(success).lower()} with {len(errors)} error(s) listed"
    return None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _record_import(client: KibanaClient, items: list[PlanItem], summary: Any,
                   outcomes: dict[str, RuleOutcome]) -> None:
    problem = import_summary_problem(items, summary)
    if problem is not None:
        errors = {}
        if isinstance(summary, dict) and isinstance(summary.get("errors"), list):
            errors = _rule_errors(summary)
        unclear = [i for i in items if i.rule_id not in errors]
        for item in items:
            if item.rule_id in errors:
                outcomes[item.rule_id] = RuleOutcome(item.rule_id, item.name, item.action,
                                                     FAILED, errors[item.rule_id])
            else:
                outcomes[item.rule_id] = RuleOutcome(
                    item.rule_id, item.name, item.action, UNKNOWN,
                    f"Kibana's import answer does not account for this rule: {problem}")
        _verify(client, unclear, outcomes)
        return
    errors = _rule_errors(summary)
    list_errors: dict[str, str] = {}
    for err in summary.get("exceptions_errors") or []:
        detail = err.get("error") or {}
        list_errors[str(err.get("list_id"))] = str(detail.get("message", "import failed"))
    for item in items:
        listed = item.payload.exceptions.list_id if item.payload and \
            item.payload.exceptions else None
        if item.rule_id in errors:
            outcomes[item.rule_id] = RuleOutcome(item.rule_id, item.name, item.action, FAILED,
                                                 errors[item.rule_id])
        elif listed in list_errors:
            outcomes[item.rule_id] = RuleOutcome(item.rule_id, item.name, item.action, FAILED,
                                                 f"rule imported but its exception list "
                                                 f"failed: {list_errors[listed]}")
        else:
            outcomes[item.rule_id] = RuleOutcome(item.rule_id, item.name, item.action,
                                                 _DONE[item.action])


def _rule_errors(summary: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in summary.get("errors") or []:
        if not isinstance(err, dict):
            continue
        detail = err.get("error") or {}
        errors[str(err.get("rule_id"))] = (f"{detail.get('status_code', '?')}: "
                                           f"{detail.get('message', 'import failed')}")
    return errors


def _verify(client: KibanaClient, items: list[PlanItem],
            outcomes: dict[str, RuleOutcome]) -> None:
    """After a failed request, find out which of its rules Kibana applied anyway."""
    try:
        remote = {str(r.get("rule_id")): r for r in client.find_rules()}
    except KmsdetError:
        return
    for item in items:
        assert item.payload is not None
        deployed = remote.get(item.rule_id)
        previous = outcomes[item.rule_id].message
        if deployed is not None and normalise(deployed) == normalise(item.payload.body):
            outcomes[item.rule_id] = RuleOutcome(
                item.rule_id, item.name, item.action, _DONE[item.action],
                f"applied although the request failed ({previous})")
        else:
            outcomes[item.rule_id] = RuleOutcome(item.rule_id, item.name, item.action,
                                                 NOT_APPLIED, previous)


def _crud_all(client: KibanaClient, upserts: list[PlanItem],
              outcomes: dict[str, RuleOutcome]) -> None:
    for item in upserts:
        if item.payload is not None and item.payload.exceptions is not None:
            outcomes[item.rule_id] = RuleOutcome(item.rule_id, item.name, item.action, FAILED,
                                                 "rules with exceptions deploy with "
                                                 "--method import")
            continue
    for index, item in enumerate(upserts):
        if item.rule_id in outcomes:
            continue
        assert item.payload is not None
        try:
            if item.action == CREATE:
                client.create_rule(item.payload.body)
            else:
                client.update_rule(item.payload.body)
        except KmsdetError as exc:
            outcomes[item.rule_id] = RuleOutcome(item.rule_id, item.name, item.action, FAILED,
                                                 exc.message)
            if getattr(exc, "exit_code", 0) == 3:
                for later in upserts[index + 1:]:
                    outcomes.setdefault(later.rule_id, RuleOutcome(
                        later.rule_id, later.name, later.action, NOT_APPLIED,
                        "not sent because Kibana stopped answering"))
                _verify(client, [item], outcomes)
                return
            continue
        outcomes[item.rule_id] = RuleOutcome(item.rule_id, item.name, item.action,
                                             _DONE[item.action])


def _delete_all(client: KibanaClient, deletes: list[PlanItem],
                outcomes: dict[str, RuleOutcome]) -> None:
    by_id = {str(i.remote_id): i for i in deletes}
    ids = list(by_id)
    for start in range(0, len(ids), MAX_BULK_IDS):
        chunk = ids[start:start + MAX_BULK_IDS]
        try:
            result = client.bulk_action("delete", chunk)
        except KmsdetError as exc:
            for rid in ids[start:]:
                item = by_id[rid]
                outcomes[item.rule_id] = RuleOutcome(item.rule_id, item.name, DELETE, UNKNOWN
                                                     if rid in chunk else NOT_APPLIED,
                                                     f"delete request failed: {exc.message}")
            return
        failed: dict[str, str] = {}
        for err in result.errors:
            for rule in err.get("rules") or []:
                failed[str(rule.get("id"))] = str(err.get("message", "delete failed"))
        for rid in chunk:
            item = by_id[rid]
            if rid in failed:
                outcomes[item.rule_id] = RuleOutcome(item.rule_id, item.name, DELETE, FAILED,
                                                     failed[rid])
            else:
                outcomes[item.rule_id] = RuleOutcome(item.rule_id, item.name, DELETE, DELETED)
