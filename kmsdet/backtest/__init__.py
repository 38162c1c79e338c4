"""Backtesting: recorded CloudTrail through the rules on their schedules, at real volume.

Data flow: sources (files, S3 layout, stdin, or the user's Elasticsearch) -> scan (each record
read, mapped and matched once, against all rules together, in worker processes; records no
rule can match rejected on their raw fields before mapping) -> the streaming schedule
(kmsdet.backends.streaming) over the matched documents -> a per-rule summary for the report.
"""
