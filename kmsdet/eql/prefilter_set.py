"""Many EQL rules' prefilters over one stream of documents, each document read once.

Like the KQL MatcherSet (kmsdet.kql.matcher), each rule is indexed by one exact keyword
condition all its event queries need (typically ``event.action``), so a document only runs the
prefilters of the rules it could possibly feed, and field conversions are cached once per
document for every rule. The answer is always identical to calling each rule's prefilter.
The programs must share one field schema (one index pattern set), as a MatcherSet's queries do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kmsdet.eql import ast
from kmsdet.eql.analysis import query_required_values
from kmsdet.eql.fields import FieldReader
from kmsdet.eql.program import EqlProgram
from kmsdet.kql.matcher import _Doc


class EqlPrefilterSet:
    def __init__(self, programs: Sequence[EqlProgram]) -> None:
        self.programs = list(programs)
        self._always: list[int] = []
        # field -> (the reader of the first program using it, value -> program indices)
        self._tables: dict[str, tuple[FieldReader, dict[str, list[int]]]] = {}
        # The field indexing a rule: the one with the most distinct values over all rules (the
        # most selective, typically event.action), then the fewest rules sharing its values.
        popularity: dict[tuple[str, str], int] = {}
        distinct: dict[str, set[str]] = {}
        all_options = []
        for program in self.programs:
            options = [(f, v) for f, v in query_required_values(
                program.query, program.category_field).items()
                if program.compiler.reader(ast.Field(f)).kind == "keyword"]
            all_options.append(options)
            for field, values in options:
                distinct.setdefault(field, set()).update(values)
                for value in values:
                    popularity[(field, value)] = popularity.get((field, value), 0) + 1
        chosen: list[tuple[str, frozenset[str]] | None] = [
            min(options, default=None, key=lambda o: (-len(distinct[o[0]]),
                                                      sum(popularity[(o[0], v)] for v in o[1])))
            for options in all_options]
        for index, (program, choice) in enumerate(zip(self.programs, chosen, strict=True)):
            if choice is None:
                self._always.append(index)
                continue
            field, values = choice
            reader = program.compiler.reader(ast.Field(field))
            _, table = self._tables.setdefault(field, (reader, {}))
            for value in values:
                table.setdefault(value, []).append(index)

    def __len__(self) -> int:
        return len(self.programs)

    def matches(self, doc: Mapping[str, Any]) -> list[int]:
        """Indices of the programs whose prefilter keeps ``doc``, ascending."""
        return self.matches_doc(_Doc(doc))

    def matches_doc(self, d: _Doc) -> list[int]:
        """:meth:`matches` on a wrapped document: hand the same wrapper to the programs'
        ``run`` and they reuse its field conversions and condition results."""
        candidates = list(self._always)
        for reader, table in self._tables.values():
            for value in set(reader.read(d)):
                hit = table.get(value)
                if hit:
                    candidates.extend(hit)
        if self._tables:
            candidates = sorted(set(candidates))
        programs = self.programs
        return [i for i in candidates if programs[i].prefilter_doc(d)]
