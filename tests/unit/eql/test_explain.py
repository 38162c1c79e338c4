from __future__ import annotations

from kmsdet.eql import EqlProgram
from kmsdet.eql.explain import explain_events
from kmsdet.fields.schema import FieldSchema

from .conftest import event


def test_each_event_lists_its_steps_keys_and_time(cloudtrail_schema: FieldSchema) -> None:
    program = EqlProgram('sequence by user.name [any where event.action == "A"] '
                         '[any where event.action == "B"] until [any where event.action == "B"]',
                         cloudtrail_schema)
    nameless = event(2, "B")
    del nameless["user"]
    untimed = event(3, "A")
    del untimed["@timestamp"]
    lines = explain_events(program, [event(0, "A"), nameless, event(1, "C"), untimed])
    assert lines == [
        "event 1 at 2024-01-01T00:00:00.000Z: matches step 1 by ['alice']",
        "event 2 at 2024-01-01T00:02:00.000Z: matches step 2 (a by field is null: never "
        "joins), until (a by field is null: never joins)",
        "event 3 at 2024-01-01T00:01:00.000Z: matches no step",
        "event 4 at no timestamp: not searched: matches step 1 by ['alice']",
    ]
