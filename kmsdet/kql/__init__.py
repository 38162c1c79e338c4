"""KQL: parse a query once into an AST, then check it, translate it to DSL or match with it."""

from kmsdet.kql.ast import (
    And,
    Exists,
    Is,
    MatchAll,
    Nested,
    Node,
    Not,
    Or,
    Range,
    Span,
    Value,
    field_refs,
    walk,
)
from kmsdet.kql.dsl import build_es_query, to_dsl
from kmsdet.kql.errors import KqlSyntaxError, KqlTranslationError, query_position
from kmsdet.kql.parser import parse

__all__ = [
    "And",
    "Exists",
    "Is",
    "KqlSyntaxError",
    "KqlTranslationError",
    "MatchAll",
    "Nested",
    "Node",
    "Not",
    "Or",
    "Range",
    "Span",
    "Value",
    "build_es_query",
    "field_refs",
    "parse",
    "query_position",
    "to_dsl",
    "walk",
]
