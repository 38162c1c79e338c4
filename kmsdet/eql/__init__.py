"""EQL rules: Elasticsearch's EQL (event queries, sequences, samples) evaluated in memory."""

from kmsdet.eql.program import EqlMatch, EqlProgram

__all__ = ["EqlMatch", "EqlProgram"]
