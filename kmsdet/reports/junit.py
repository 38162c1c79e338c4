"""JUnit XML, the lowest common denominator every CI system renders."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class JUnitCase:
    classname: str
    name: str
    failure: str | None = None
    details: str = ""
    seconds: float = 0.0
    skipped: str | None = None


def junit_xml(suite: str, cases: Sequence[JUnitCase]) -> str:
    failures = sum(1 for c in cases if c.failure is not None)
    skipped = sum(1 for c in cases if c.skipped is not None)
    total = sum(c.seconds for c in cases)
    root = ET.Element("testsuites", name=suite, tests=str(len(cases)), failures=str(failures),
                      errors="0", skipped=str(skipped), time=f"{total:.3f}")
    node = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)),
                         failures=str(failures), errors="0", skipped=str(skipped),
                         time=f"{total:.3f}")
    for case in cases:
        item = ET.SubElement(node, "testcase", classname=case.classname, name=case.name,
                             time=f"{case.seconds:.3f}")
        if case.failure is not None:
            failure = ET.SubElement(item, "failure", message=case.failure)
            failure.text = case.details
        elif case.skipped is not None:
            ET.SubElement(item, "skipped", message=case.skipped)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
