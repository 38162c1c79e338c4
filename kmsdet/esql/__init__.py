"""ES|QL lint analysis: source index patterns, the fields each command reads, syntax errors."""
