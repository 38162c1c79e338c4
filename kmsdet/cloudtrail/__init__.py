"""Synthetic AWS CloudTrail: raw records as AWS writes them, and the ECS documents Elastic's AWS
integration (cloudtrail data stream) makes of them.

Entry points (import them from their modules; this package imports nothing eagerly):

* :func:`kmsdet.cloudtrail.builder.build_record` - one raw record from short overrides
  (markers ``"<absent>"`` / ``"<null>"`` in :mod:`kmsdet.cloudtrail.overrides`);
* :func:`kmsdet.cloudtrail.to_ecs.to_ecs` - the integration pipeline's mapping, as of the AWS
  integration version chosen in :mod:`kmsdet.cloudtrail.integration` (``mapper_for(version)``
  binds one);
* :func:`kmsdet.cloudtrail.readers.read_records` / ``read_ecs`` / ``detect_kind`` - files;
* :func:`kmsdet.cloudtrail.baseline.benign_baseline` - ordinary background activity.

Supporting modules: ``javamap`` (Java ``Map.toString`` in ``HashMap`` order), ``useragent``
(the ``user_agent`` processor for CloudTrail's agents), ``identities``, ``callers``,
``kms_apis`` and ``service_apis`` (record parts), ``categories`` (event.category table),
``entities`` (the actor/target mapping option), ``geoip`` (source.geo/as from MaxMind databases).
"""
