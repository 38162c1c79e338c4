"""Every rule of the Elastic-format corpus has a broken twin that lint must refuse.

``elastic_format/`` lints clean (test_elastic_format.py); here each rule is changed in exactly
one place, the way a rule author slips, and the twin must fail lint with the named error at
the changed line. The twins span the checks the corpus relies on: KQL, EQL (inside a sequence
step) and ES|QL field and syntax checks, flattened-key wildcards, type and value checks,
contradictions, tags, ATT&CK, schedule and structure; the deprecated rule's twin shows that
deprecation exempts drift, not structural mistakes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kmsdet.rules.lint import lint_results
from kmsdet.rules.loader import load_text

CORPUS = Path(__file__).parent / "elastic_format"

# file -> (text in the rule, its broken replacement, the error lint must report there)
TWINS: dict[str, tuple[str, str, str]] = {
    "collection_microsoft_365_inbox_forwarding_rule_created.toml":
        ("risk_score = 21", "risk_score = 73", "KD206"),
    "command_and_control_curl_user_agent_to_rare_http_host.toml":
        ("(curl* or Wget*)", "(curl* or W*get)", "KD305"),
    "command_and_control_download_tool_followed_by_outbound_connection.toml":
        ('event.action == "connection_attempted"', 'event.action in ("connection_attempted", 4)',
         "KD304"),
    "command_and_control_threat_intel_ip_address_match.toml":
        ("source.ip:* or", "source.ip:10.* or", "KD305"),
    "credential_access_okta_push_notifications_denied_repeatedly.toml":
        ("event.dataset:okta.system and", "event.dataset:okta.system and @timestamp:yesterday and",
         "KD304"),
    "credential_access_ssh_password_guessing_then_success.toml":
        ('event.outcome == "success"', 'event.outcome in ("success", 1)', "KD304"),
    "defense_evasion_defender_exclusion_added_via_powershell.toml":
        ('type = "query"', 'type = "eql"', "KD203"),
    "defense_evasion_rundll32_running_script_protocol.toml":
        ('process.name : "rundll32.exe"', 'process.pid : "rundll32.exe"', "KD303"),
    "discovery_aws_iam_enumeration_by_single_identity.toml":
        ('name = "Discovery"', 'name = "Discvery"', "KD402"),
    "discovery_whoami_run_by_web_server_account.toml":
        ("| keep _id,", "| kep _id,", "KD301"),
    "execution_powershell_encoded_command_from_office_app.toml":
        ("process.name:(powershell.exe or pwsh.exe)", "process.name:(powershell.exe or pwsh.exe",
         "KD301"),
    "execution_shell_spawned_by_web_server_process.toml":
        ("event.category:process and", "event.category:process and process.pid:bash and",
         "KD304"),
    "execution_windows_service_binary_in_temp_first_seen.toml":
        ("process.pid > 4", 'process.pid in ("4")', "KD304"),
    "exfiltration_aws_s3_objects_read_with_desktop_browser_client.toml":
        ("event.action:GetObject and", "event.action:GetObject and not event.action:GetObject and",
         "KD308"),
    "impact_aws_bedrock_guardrail_blocks_repeated_for_one_user.toml":
        ("| sort Esql.blocked_count desc",
         "| sort Esql.blocked_count desc, gen_ai.request.model.id", "KD302"),
    "impact_aws_kms_key_deletion_scheduled_legacy.toml":
        ('severity = "medium"', 'severity = "moderate"', "KD201"),
    "impact_azure_key_vault_deleted.toml":
        ('"Domain: Cloud",', '"Domian: Cloud",', "KD501"),
    "impact_github_repository_deleted.toml":
        ('"Data Source: Github",', '"Data Source: Github", "Data Source: Github",', "KD505"),
    "initial_access_aws_console_login_from_new_country.toml":
        ("source.geo.country_iso_code:*\n", "source.geo.location:US\n", "KD303"),
    "initial_access_aws_console_login_root_without_mfa.toml":
        ("mfa_used:false", "mfa_used:no", "KD304"),
    "initial_access_entra_id_external_guest_invited.toml":
        ('id = "T1078.004"', 'id = "T1078.999"', "KD404"),
    "lateral_movement_network_logon_followed_by_service_install.toml":
        ("source.ip != null", 'source.ip : "10.*"', "KD303"),
    "persistence_aws_iam_access_key_created_for_other_user.toml":
        ("request_parameters.userName:*", "request_parameters.userName:svc*admin", "KD305"),
    "persistence_gcp_service_account_key_created.toml":
        ('from = "now-9m"', 'from = "9m"', "KD212"),
    "persistence_google_workspace_admin_role_assigned.toml":
        ('event.category: "iam"', 'event.category: "iam" and event.duration: "long"', "KD304"),
    "persistence_ml_rare_process_for_windows_host.toml":
        ("anomaly_threshold = 75", 'anomaly_threshold = "high"', "KD103"),
    "persistence_okta_mfa_factor_deactivated.toml":
        ('updated_date = "2025/03/03"', 'updated_date = "2025/02/30"', "KD210"),
    "persistence_unsigned_binary_created_in_startup_folder_first_time.toml":
        ("file.extension:(exe or dll or scr or com)", "file.size:(exe or dll or scr or com)",
         "KD304"),
    "privilege_escalation_aws_iam_admin_policy_attached_to_role.toml":
        ("event.outcome:success and", 'event.outcome:success and event.ingested:"noon" and',
         "KD304"),
    "privilege_escalation_aws_sts_role_assumed_with_unusual_session_name.toml":
        ("| where Esql.session_name is not null",
         '| where (Esql.session_name is not null', "KD301"),
    "privilege_escalation_kubernetes_privileged_pod_created.toml":
        ("risk_score = 73", "risk_score = 101", "KD205"),
    "promotion_elastic_defend_alerts.toml":
        ('type = "query"', 'type = "queries"', "KD202"),
}


def test_every_corpus_rule_has_a_twin() -> None:
    assert set(TWINS) == {p.name for p in CORPUS.glob("*.toml")}
    assert len(TWINS) >= 30


@pytest.mark.parametrize("name", sorted(TWINS))
def test_the_twin_fails_lint_where_it_was_broken(name: str) -> None:
    old, new, code = TWINS[name]
    path = CORPUS / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must appear once in {name}"
    good = lint_results([load_text(text, path)])
    assert not good.errors
    twin_text = text.replace(old, new)
    twin = lint_results([load_text(twin_text, path)])
    errors = [f for f in twin.errors if f.code == code]
    assert errors, f"{name}: expected {code}, got " + ", ".join(
        f"{f.code} {f.message}" for f in twin.findings)
    changed = twin_text[:twin_text.index(new)].count("\n") + 1
    # KD203 points at `language`, which no longer fits the changed type.
    assert any(f.line in (changed, changed + new.count("\n")) or code == "KD203"
               for f in errors), [(f.line, changed) for f in errors]
