"""Talking to a real Elasticsearch: connection and target options, index template, seeding.

``client`` turns the shared target options into a connected, version-checked client and maps
every transport failure to a typed :class:`kmsdet.errors.EnvironmentProblem`; ``template``
builds kmsdet's own CloudTrail index template from the field schema, degrading types the
cluster lacks; ``seed`` bulk-indexes ECS documents idempotently; ``search`` builds a rule's
search exactly as Kibana's query rule executor does.
"""
