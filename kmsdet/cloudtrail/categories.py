"""The integration's eventName -> ``event.category`` / ``event.type`` table (pipeline 0b97ab02).

Every record first gets ``event.kind: event`` and ``event.type: [info]``; names in this table then
replace category and type. The table has no KMS names, which is why KMS documents carry no
``event.category`` and keep ``event.type: [info]``. An empty type list (Publish, SendCommand,
Converse) leaves no ``event.type`` at all once empty values are pruned.
"""

from __future__ import annotations

_GROUPS: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    (("iam",), ("group", "change"),
     ("AddUserToGroup", "AttachGroupPolicy", "DeleteGroupPolicy", "DetachGroupPolicy",
      "PutGroupPolicy", "RemoveUserFromGroup", "UpdateGroup")),
    (("iam",), ("user", "change"),
     ("AttachUserPolicy", "ChangePassword", "CreateAccessKey", "CreateVirtualMFADevice",
      "DeactivateMFADevice", "DeleteAccessKey", "DeleteSSHPublicKey",
      "DeleteUserPermissionsBoundary", "DeleteUserPolicy", "DeleteVirtualMFADevice",
      "DetachUserPolicy", "EnableMFADevice", "PutUserPermissionsBoundary", "PutUserPolicy",
      "TagUser", "UntagUser", "UpdateAccessKey", "UpdateLoginProfile", "UpdateSSHPublicKey",
      "UpdateUser")),
    (("authentication",), ("info",), ("AssumeRole", "ConsoleLogin", "GetCallerIdentity")),
    (("file",), ("creation",), ("CreateBucket", "CreateDocument")),
    (("iam",), ("group", "creation"), ("CreateGroup",)),
    (("iam",), ("admin", "creation"), ("CreateKeyPair",)),
    (("iam",), ("user", "creation"), ("CreateUser",)),
    (("file",), ("deletion",), ("DeleteBucket",)),
    (("iam",), ("group", "deletion"), ("DeleteGroup",)),
    (("iam",), ("user", "deletion"), ("DeleteUser",)),
    (("iam",), ("group", "info"),
     ("GetGroup", "GetGroupPolicy", "ListAttachedGroupPolicies", "ListGroupPolicies",
      "ListGroups")),
    (("iam",), ("user", "info"),
     ("GetUser", "GetUserPolicy", "ListAttachedUserPolicies", "ListGroupsForUser",
      "ListUserPolicies", "ListUsers", "ListUserTags")),
    (("iam",), ("admin", "change"),
     ("SetDefaultPolicyVersion", "SetSecurityTokenServicePreferences",
      "UpdateAccountPasswordPolicy", "UpdateRole")),
    (("host",), ("info",), ("DescribeInstances", "DescribeVolumes", "ListInstanceAssociations")),
    (("network",), ("info",),
     ("DescribeSecurityGroups", "DescribeNetworkInterfaces", "DescribeVpcs",
      "DescribeNetworkAcls", "DescribeLoadBalancers")),
    (("file",), ("info",), ("ListBuckets", "ListObjects", "HeadObject", "GetObject")),
    (("api",), ("info",), ("DescribeRegions",)),
    (("iam",), ("info",), ("ListRoles", "GetPolicy", "ListAttachedRolePolicies")),
    (("configuration",), ("info",), ("DescribeTrails",)),
    (("package",), ("info",), ("ListFunctions",)),
    (("database",), ("info",), ("ListTables", "DescribeDBInstances")),
    (("network",), ("access",), ("AuthorizeSecurityGroupIngress",)),
    (("configuration",), ("creation",), ("CreateTopic",)),
    (("configuration",), ("change",), ("Subscribe",)),
    (("api",), (), ("Publish", "Converse")),
    (("process",), (), ("SendCommand",)),
    (("iam",), ("creation",), ("CreatePolicy",)),
    (("iam",), ("change",), ("AttachRolePolicy",)),
    (("session",), ("start",),
     ("StartSession", "CreateControlChannel", "OpenControlChannel", "CreateDataChannel",
      "OpenDataChannel")),
    (("session",), ("end",), ("TerminateSession",)),
    (("file",), ("change",), ("PutObject",)),
    (("configuration",), ("deletion",), ("DeleteTrail",)),
    (("file",), ("delete",), ("DeleteObject",)),
)

CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    name: (category, types) for category, types, names in _GROUPS for name in names
}
"""eventName -> (event.category, event.type) for the names the pipeline categorises."""
