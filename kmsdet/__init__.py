"""kmsdet: detection-as-code for Elastic Security (lint, CloudTrail tests, Kibana deploy)."""

__version__ = "0.1.0"
