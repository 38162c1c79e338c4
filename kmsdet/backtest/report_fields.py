"""The fields a backtest report reads from an alert's document."""

PRINCIPAL_FIELD = "aws.cloudtrail.user_identity.arn"
SOURCE_IP_FIELD = "source.ip"
REPORT_FIELDS = (PRINCIPAL_FIELD, SOURCE_IP_FIELD)
