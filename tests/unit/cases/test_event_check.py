"""Case and storyline event tables: typos and values CloudTrail never writes are input errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kmsdet.cases.event_check import event_problem
from kmsdet.cases.loader import load_cases
from kmsdet.cases.scenarios import load_scenario
from kmsdet.errors import InputError

BAD: list[tuple[dict[str, Any], tuple[str, ...], str]] = [
    ({"userIdentity": {"type": "Alien"}}, ("userIdentity", "type"), "not a CloudTrail identity"),
    ({"userIdentity": {"tpye": "IAMUser"}}, ("userIdentity", "tpye"), "did you mean 'type'"),
    ({"eventNmae": "DisableKey"}, ("eventNmae",), "did you mean 'eventName'"),
    ({"eventName": 42}, ("eventName",), "must be a string, not int 42"),
    ({"sourceIPAddress": 17}, ("sourceIPAddress",), "must be a string"),
    ({"readOnly": "false"}, ("readOnly",), "must be true or false"),
    ({"userIdentity": "IAMUser"}, ("userIdentity",), "must be a table"),
    ({"eventTime": "not a time"}, ("eventTime",), "is not a date-time"),
    ({"_at": "yesterday"}, ("_at",), "is not a duration"),
    ({"_at": 5}, ("_at",), "is not a duration"),
    ({"_ingest_delay": "soon"}, ("_ingest_delay",), "is not a duration"),
    ({"_count": 0}, ("_count",), "positive integer"),
    ({"_count": True}, ("_count",), "positive integer"),
    ({"_cuont": 2}, ("_cuont",), "did you mean '_count'"),
]

GOOD: list[dict[str, Any]] = [
    {"eventName": "DisableKey", "userIdentity": {"type": "AssumedRole", "userName": "x"}},
    {"userIdentity": {"type": "WebIdentityUser"}, "_at": "-5m", "_count": 3},
    {"eventName": "<absent>", "errorCode": "<null>", "responseElements": None},
    {"requestParameters": {"anything": 1}, "resources": [{"ARN": "a"}], "readOnly": True},
    {"eventTime": "2024-05-01T10:00:00Z", "_ingest_delay": "+30s"},
]


@pytest.mark.parametrize(("spec", "key", "text"), BAD)
def test_bad_event_tables_name_the_key(spec: dict[str, Any], key: tuple[str, ...],
                                       text: str) -> None:
    problem = event_problem(spec)
    assert problem is not None
    assert problem.key == key
    assert text in problem.message + problem.hint


@pytest.mark.parametrize("spec", GOOD)
def test_good_event_tables_pass(spec: dict[str, Any]) -> None:
    assert event_problem(spec) is None


def test_cases_file_error_points_at_the_line(tmp_path: Path) -> None:
    rule = tmp_path / "r.toml"
    (tmp_path / "r.cases.toml").write_text(
        '[[case]]\nname = "x"\nexpect = 1\n[[case.event]]\neventName = "DisableKey"\n'
        '[[case.event]]\nuserIdentity.type = "Alien"\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_cases(rule)
    error = info.value
    assert (error.file, error.line, error.field) == (str(tmp_path / "r.cases.toml"), 7,
                                                     "userIdentity.type")
    assert "case 'x' event 2" in error.message


def test_storyline_error_points_at_the_line(tmp_path: Path) -> None:
    path = tmp_path / "s.scenario.toml"
    path.write_text('name = "s"\n[[event]]\neventName = "ListKeys"\n_at = "yesterday"\n',
                    encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert (info.value.file, info.value.line, info.value.field) == (str(path), 4, "_at")
