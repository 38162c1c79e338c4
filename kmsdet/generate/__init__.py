"""Events from queries: must-fire documents, near misses, raw CloudTrail records, rule cases.

Entry points: :func:`kmsdet.generate.for_rule.generate_for_rule` (a rule, with raw records),
:class:`kmsdet.generate.generator.Generator` (any query and schema, ECS documents only),
:func:`kmsdet.generate.cases.append_cases` (``--write-cases``) and
:func:`kmsdet.generate.proof.refute` (lint check KD308).
"""
