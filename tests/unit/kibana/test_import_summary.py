"""An _import answer must account for every rule sent; a bare 200 proves nothing."""

from __future__ import annotations

from typing import Any

import pytest

from kmsdet.kibana.deploy import import_summary_problem
from kmsdet.kibana.plan import CREATE, PlanItem

ITEMS = [PlanItem(rule_id=f"r{i}", name=f"rule {i}", action=CREATE) for i in range(3)]


def summary(**changes: Any) -> dict[str, Any]:
    return {"success": True, "success_count": 3, "rules_count": 3, "errors": [], **changes}


def error(rule_id: str) -> dict[str, Any]:
    return {"rule_id": rule_id, "error": {"status_code": 400, "message": "bad"}}


@pytest.mark.parametrize(("answer", "problem"), [
    ({}, "no valid success, success_count, errors"),
    (None, "not a JSON object"),
    ([], "not a JSON object"),
    (summary(success_count="3"), "no valid success_count"),
    (summary(success_count=True), "no valid success_count"),
    (summary(success="true"), "no valid success"),
    (summary(errors=None), "no valid errors"),
    (summary(success_count=1), "1 imported and 0 failed of the 3"),
    (summary(rules_count=2), "counted 2 rule(s)"),
    (summary(success_count=2, errors=[error("other")]), "2 imported and 0 failed"),
    (summary(success=True, success_count=2, errors=[error("r1")]), "success is true"),
    (summary(success=False), "success is false with 0 error(s)"),
])
def test_answers_that_do_not_account_for_the_rules(answer: Any, problem: str) -> None:
    found = import_summary_problem(ITEMS, answer)
    assert found is not None and problem in found


@pytest.mark.parametrize("answer", [
    summary(),
    summary(success=False, success_count=2, errors=[error("r1")]),
    {"success": True, "success_count": 3, "errors": []},  # rules_count is optional
])
def test_answers_that_do(answer: dict[str, Any]) -> None:
    assert import_summary_problem(ITEMS, answer) is None
