#!/usr/bin/env python3
"""make validate: template.yaml as AWS will see it.

Three steps, each of which fails the run:
  1. cfn-lint, informational checks included (an exception is a cfn-lint Metadata ignore in the
     template, with a comment saying why);
  2. the SAM transform, offline (aws-sam-translator with a stub managed-policy loader and an s3://
     CodeUri), which is what `sam deploy` submits;
  3. assertions on that transformed template: what AWS needs for the stack to deploy and behave as
     written. Each assertion is generic (every alarm, every KMS principal, every schedule...), so
     resources added later are checked too.

Usage: validate.py [--no-lint] [TEMPLATE]
"""

import copy
import fnmatch
import json
import os
import re
import subprocess
import sys

from cfnlint.decode import decode
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform

# WhatConverts allows this many requests in flight per API key (shared/whatconverts.MaxInFlight).
WHATCONVERTS_MAX_IN_FLIGHT = 20

# What each AWS service principal needs on a customer-managed key, from its own guide, and the
# condition keys that hold in its requests. A principal missing here is a finding: look its needs
# up and add them.
SERVICE_KEY_NEEDS = {
    # EventBridge: "Authorizing EventBridge to use a customer managed key" (bus encryption) and the
    # SQS guide for delivery to encrypted queues. SQS calls KMS for EventBridge without its
    # aws:SourceAccount/aws:SourceArn, so no condition may be put on these.
    "events.amazonaws.com": {
        "actions": {"kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"},
        "conditions": set(),
    },
    # CloudWatch Logs: "Encrypt log data in CloudWatch Logs using AWS KMS".
    "logs.${AWS::Region}.amazonaws.com": {
        "actions": {"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"},
        "conditions": {"kms:EncryptionContext:aws:logs:arn"},
    },
    # CloudWatch alarms publishing to an encrypted SNS topic (SNS guide).
    "cloudwatch.amazonaws.com": {
        "actions": {"kms:Decrypt", "kms:GenerateDataKey*"},
        "conditions": set(),
    },
}

# Resources whose loss is data loss: kept on stack deletion and on replacement.
STATEFUL_TYPES = {
    "AWS::DynamoDB::Table", "AWS::KMS::Key", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup",
    "AWS::SQS::Queue", "AWS::S3::Bucket",
}

# Security policies of API Gateway that refuse TLS 1.0 and 1.1.
TLS12_POLICIES = re.compile(r"^(TLS_1_2|SecurityPolicy_TLS1[23]_.+)$")

# Function environment variables that must never reach a deployed function.
LOCAL_ONLY_ENV = re.compile(r"^(WCBRIDGE_WEBHOOK_TOKENS|WHATCONVERTS_CREDENTIALS|.*_ENDPOINT)$")

# The audit writers' "audit record stored" lines, the trail's second record (docs/audit.md): the one
# function whose environment names their log groups (shared/config.EnvWriterLogGroups) reads them
# back this many days, so the groups must keep them at least that long.
WRITER_LOG_GROUPS_ENV = "AUDIT_WRITER_LOG_GROUPS"
WRITER_LINES_READ_BACK_DAYS = 7  # shared/audit.VerifyWindow

# A partition key of an audit record (shared/table.AuditKey): a role that may put an item under it
# writes audit records.
AUDIT_RECORD_KEY = "audit#01JPROBE"

# Application log levels at which Lambda still delivers a writer's stored lines (logged at INFO):
# with a JSON LogFormat it drops lines below the function's ApplicationLogLevel.
LEVELS_KEEPING_STORED_LINES = {"TRACE", "DEBUG", "INFO"}

# What would erase a writer's stored lines, or cut them short, before the verifier reads them.
LOG_ERASERS = ("logs:DeleteLogGroup", "logs:DeleteLogStream", "logs:PutRetentionPolicy")

# What the AWS managed policies attached in the template allow on CloudWatch Logs, every one on
# Resource "*" (the AWS Managed Policy Reference). A policy missing here is a finding: look it up
# and add it.
MANAGED_POLICY_LOGS_ACTIONS = {
    "AWSLambdaBasicExecutionRole": {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"},
    "AWSXrayWriteOnlyAccess": set(),
    "AWSXRayDaemonWriteAccess": set(),
    "AmazonAPIGatewayPushToCloudWatchLogs": {
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups", "logs:DescribeLogStreams",
        "logs:PutLogEvents", "logs:GetLogEvents", "logs:FilterLogEvents"},
}

# Roles only these services assume, which their guides give a managed policy reading every log
# group: API Gateway's account-wide CloudWatch role (AmazonAPIGatewayPushToCloudWatchLogs). No
# identity of the account acts as them.
LOG_READING_SERVICE_ROLES = {"apigateway.amazonaws.com"}


# --------------------------------------------------------------------------------------------------
# Loading and transforming

def load(path):
    """The SAM template as plain dicts and lists (intrinsics in their long form)."""
    tmpl, matches = decode(path)
    if matches:
        raise SystemExit("validate: %s does not parse: %s" % (path, matches))
    return json.loads(json.dumps(tmpl, default=str))


def transformed(sam):
    """What `sam deploy` submits: the SAM transform, offline."""
    sam = copy.deepcopy(sam)
    for res in sam.get("Resources", {}).values():
        if res.get("Type") == "AWS::Serverless::Function":
            res.setdefault("Properties", {})["CodeUri"] = "s3://validate/bootstrap.zip"

    class NoManagedPolicies:  # every policy of ours is inline: nothing to look up
        def load(self):
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform(sam, {}, NoManagedPolicies())


def lint(path):
    """cfn-lint's findings, informational checks included ([] when clean)."""
    out = subprocess.run(["cfn-lint", "--include-checks", "I", "--", path], capture_output=True, text=True)
    if out.returncode == 0:
        return []
    return ["cfn-lint: " + (out.stdout + out.stderr).strip()]


# --------------------------------------------------------------------------------------------------
# Helpers over a CloudFormation template

def as_list(v):
    return v if isinstance(v, list) else [v]


def sub_text(v):
    """A string, or the template string of an Fn::Sub; None for other intrinsics."""
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and "Fn::Sub" in v:
        s = v["Fn::Sub"]
        return s if isinstance(s, str) else s[0]
    return None


def refs(v):
    """Logical IDs v refers to (Ref, Fn::GetAtt, Fn::Sub), pseudo parameters excluded."""
    found = set()
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "Ref" and isinstance(x, str):
                found.add(x)
            elif k == "Fn::GetAtt":
                found.add(x.split(".")[0] if isinstance(x, str) else x[0])
            elif k == "Fn::Sub":
                s = x if isinstance(x, str) else x[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", s)}
                if not isinstance(x, str):
                    found |= refs(x[1])
            else:
                found |= refs(x)
    elif isinstance(v, list):
        for x in v:
            found |= refs(x)
    return {r for r in found if not r.startswith("AWS::")}


def of_type(cfn, typ):
    return {lid: r for lid, r in cfn["Resources"].items() if r["Type"] == typ}


def depends_on(cfn, lid):
    """Every resource lid waits for, directly or not."""
    res = cfn["Resources"]
    seen, todo = set(), [lid]
    while todo:
        r = res.get(todo.pop())
        if r is None:
            continue
        direct = refs(r.get("Properties", {})) | set(as_list(r.get("DependsOn", [])))
        for d in direct & set(res) - seen:
            seen.add(d)
            todo.append(d)
    return seen


def statements(doc):
    return [s for s in as_list((doc or {}).get("Statement", []))]


def actions(stmt):
    return set(as_list(stmt.get("Action", [])))


def allows(stmt, action):
    return any(fnmatch.fnmatchcase(action, a) for a in actions(stmt))


def condition_keys(stmt):
    return {k for op in (stmt.get("Condition") or {}).values() for k in op}


def role_statements(role):
    """The inline policy statements of an AWS::IAM::Role."""
    return [s for p in role["Properties"].get("Policies", []) for s in statements(p.get("PolicyDocument"))]


def getatt_arn(v):
    """The logical ID whose Arn v is (Fn::GetAtt X.Arn), else None."""
    if isinstance(v, dict) and list(v) == ["Fn::GetAtt"]:
        x = v["Fn::GetAtt"]
        lid, attr = x.split(".", 1) if isinstance(x, str) else x
        return lid if attr == "Arn" else None
    return None


def env_of(fn):
    return ((fn["Properties"].get("Environment") or {}).get("Variables")) or {}


def role_of(cfn, fn):
    """The logical ID of a function's role, if it is a role of this template."""
    ids = refs(fn["Properties"].get("Role")) & set(of_type(cfn, "AWS::IAM::Role"))
    return ids.pop() if ids else None


def managed_logs_actions(role):
    """The CloudWatch Logs actions a role's managed policies allow (on every resource), and the
    managed policies whose actions MANAGED_POLICY_LOGS_ACTIONS does not list."""
    granted, unknown = set(), []
    for arn in role["Properties"].get("ManagedPolicyArns", []):
        name = (sub_text(arn) or "?").rsplit("/", 1)[-1]
        if name in MANAGED_POLICY_LOGS_ACTIONS:
            granted |= MANAGED_POLICY_LOGS_ACTIONS[name]
        else:
            unknown.append(name)
    return granted, unknown


def service_principals(stmt):
    p = stmt.get("Principal")
    if not isinstance(p, dict) or "Service" not in p:
        return []
    return [sub_text(s) for s in as_list(p["Service"])]


# --------------------------------------------------------------------------------------------------
# The checks. Each returns a list of problems; the name says what it guarantees.

def check_stateful_resources_are_retained(cfn):
    return ["%s (%s) has no DeletionPolicy/UpdateReplacePolicy Retain: deleting or replacing the stack loses its data"
            % (lid, r["Type"]) for lid, r in cfn["Resources"].items()
            if r["Type"] in STATEFUL_TYPES
            and (r.get("DeletionPolicy") != "Retain" or r.get("UpdateReplacePolicy") != "Retain")]


def check_every_alarm_notifies(cfn):
    return ["alarm %s has no AlarmActions: nobody is told" % lid
            for lid, r in of_type(cfn, "AWS::CloudWatch::Alarm").items()
            if not r["Properties"].get("AlarmActions")]


def check_every_function_is_alarmed(cfn):
    alarmed = set()
    for a in of_type(cfn, "AWS::CloudWatch::Alarm").values():
        alarmed |= refs(a["Properties"])
    return ["function %s is in no alarm: its errors would tell nobody (add it to FunctionErrorsAlarm)" % lid
            for lid in of_type(cfn, "AWS::Lambda::Function") if lid not in alarmed]


def check_metric_math_alarms_within_limit(cfn):
    """CloudWatch refuses an alarm whose metric math references more than 10 metrics."""
    return ["alarm %s references %d metrics; CloudWatch allows 10 (split it into two alarms)" % (lid, n)
            for lid, a in of_type(cfn, "AWS::CloudWatch::Alarm").items()
            for n in [sum(1 for m in a["Properties"].get("Metrics", []) if "MetricStat" in m)] if n > 10]


def check_api_has_one_stage(cfn):
    problems = []
    for lid, d in of_type(cfn, "AWS::ApiGateway::Deployment").items():
        if "StageName" in d["Properties"]:
            problems.append("deployment %s creates stage %r besides the declared one (set OpenApiVersion): "
                            "no access log, no throttling" % (lid, d["Properties"]["StageName"]))
    for api in of_type(cfn, "AWS::ApiGateway::RestApi"):
        stages = [s for s, r in of_type(cfn, "AWS::ApiGateway::Stage").items() if refs(r["Properties"].get("RestApiId")) == {api}]
        if len(stages) != 1:
            problems.append("RestApi %s has %d stages, want exactly 1" % (api, len(stages)))
    return problems


def check_iam_routes_use_the_callers_identity(cfn):
    problems = []
    for lid, api in of_type(cfn, "AWS::ApiGateway::RestApi").items():
        for path, methods in (api["Properties"].get("Body") or {}).get("paths", {}).items():
            for method, op in methods.items():
                integ = op.get("x-amazon-apigateway-integration", {}) if isinstance(op, dict) else {}
                if "credentials" in integ:
                    problems.append("%s %s %s: the integration has credentials %r (set Auth InvokeRole: NONE): "
                                    "a caller with only execute-api:Invoke gets 500" % (lid, method.upper(), path, integ["credentials"]))
    return problems


def check_method_settings_paths_are_escaped(cfn):
    problems = []
    for lid, st in of_type(cfn, "AWS::ApiGateway::Stage").items():
        for ms in st["Properties"].get("MethodSettings", []):
            p = ms.get("ResourcePath", "")
            if p != "/*" and "/" in p[1:]:
                problems.append("stage %s: MethodSettings ResourcePath %r is not escaped ('/' inside a path is '~1'): "
                                "API Gateway rejects the stage" % (lid, p))
    return problems


def check_api_tls(cfn):
    problems = []
    for lid, api in of_type(cfn, "AWS::ApiGateway::RestApi").items():
        pol = api["Properties"].get("SecurityPolicy", "")
        if not isinstance(pol, str) or not TLS12_POLICIES.match(pol):
            problems.append("RestApi %s: SecurityPolicy %r allows TLS 1.0/1.1 (want TLS_1_2 or a SecurityPolicy_TLS13_*)" % (lid, pol))
        elif pol.startswith("SecurityPolicy_") and not api["Properties"].get("EndpointAccessMode"):
            problems.append("RestApi %s: an enhanced security policy needs EndpointAccessMode" % lid)
    return problems


def check_access_logs_can_be_written(cfn):
    """API Gateway writes access logs only once the region's account setting names a CloudWatch role."""
    problems = []
    accounts = of_type(cfn, "AWS::ApiGateway::Account")
    for lid, st in of_type(cfn, "AWS::ApiGateway::Stage").items():
        if "AccessLogSetting" not in st["Properties"]:
            continue
        if not accounts:
            problems.append("stage %s writes access logs but nothing sets the region's API Gateway CloudWatch role "
                            "(AWS::ApiGateway::Account): the first deploy in a fresh account fails" % lid)
        elif not set(accounts) & depends_on(cfn, lid):
            problems.append("stage %s does not wait for %s: it may be created before API Gateway may write logs"
                            % (lid, ", ".join(sorted(accounts))))
    for lid, acc in accounts.items():
        if not acc["Properties"].get("CloudWatchRoleArn"):
            problems.append("%s sets no CloudWatchRoleArn" % lid)
    return problems


def check_encrypted_buses_dead_letter(cfn):
    return ["event bus %s is encrypted with a customer key but has no DeadLetterConfig: events it cannot "
            "encrypt or decrypt are dropped" % lid
            for lid, b in of_type(cfn, "AWS::Events::EventBus").items()
            if b["Properties"].get("KmsKeyIdentifier") and not b["Properties"].get("DeadLetterConfig")]


def check_schedules(cfn):
    """Names unique per stack; a role that can read the payload and reach the dead-letter queue."""
    problems = []
    roles = of_type(cfn, "AWS::IAM::Role")
    for lid, sch in of_type(cfn, "AWS::Scheduler::Schedule").items():
        p = sch["Properties"]
        name = p.get("Name")
        if name is not None and "${AWS::StackName}" not in (sub_text(name) or ""):
            problems.append("schedule %s has the fixed name %r: a second stack in the region collides (OmitName)" % (lid, name))
        target = p.get("Target", {})
        role_ids = refs(target.get("RoleArn")) & set(roles)
        if not role_ids:
            problems.append("schedule %s: its role is not a role of this template" % lid)
            continue
        stmts = role_statements(roles[role_ids.pop()])
        for key in refs(p.get("KmsKeyArn")):
            if not any(s.get("Effect") == "Allow" and allows(s, "kms:Decrypt") and key in refs(s.get("Resource")) for s in stmts):
                problems.append("schedule %s is encrypted with %s but its role may not kms:Decrypt with it: every run fails, silently" % (lid, key))
        dlq = refs((target.get("DeadLetterConfig") or {}).get("Arn"))
        if not dlq:
            problems.append("schedule %s has no DeadLetterConfig: a run that cannot be invoked leaves no trace" % lid)
        for q in dlq:
            if not any(s.get("Effect") == "Allow" and allows(s, "sqs:SendMessage") and q in refs(s.get("Resource")) for s in stmts):
                problems.append("schedule %s: its role may not send to its dead-letter queue %s" % (lid, q))
    return problems


def key_uses(cfn):
    """(key, service principal, required actions, why) for every use of a template key by a service."""
    uses = []
    sqs_fed_by_events = set()
    for r in of_type(cfn, "AWS::Events::Rule").values():
        for t in r["Properties"].get("Targets", []):
            sqs_fed_by_events |= refs(t.get("Arn")) | refs((t.get("DeadLetterConfig") or {}).get("Arn"))
    for lid, b in of_type(cfn, "AWS::Events::EventBus").items():
        sqs_fed_by_events |= refs((b["Properties"].get("DeadLetterConfig") or {}).get("Arn"))
        for k in refs(b["Properties"].get("KmsKeyIdentifier")):
            uses.append((k, "events.amazonaws.com", {"kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"}, "bus " + lid))
    for lid, q in of_type(cfn, "AWS::SQS::Queue").items():
        if lid in sqs_fed_by_events:
            for k in refs(q["Properties"].get("KmsMasterKeyId")):
                uses.append((k, "events.amazonaws.com", {"kms:GenerateDataKey", "kms:Decrypt"}, "queue " + lid))
    for lid, g in of_type(cfn, "AWS::Logs::LogGroup").items():
        for k in refs(g["Properties"].get("KmsKeyId")):
            uses.append((k, "logs.${AWS::Region}.amazonaws.com", SERVICE_KEY_NEEDS["logs.${AWS::Region}.amazonaws.com"]["actions"], "log group " + lid))
    alarm_targets = set()
    for a in of_type(cfn, "AWS::CloudWatch::Alarm").values():
        alarm_targets |= refs(a["Properties"].get("AlarmActions", []))
    for lid, t in of_type(cfn, "AWS::SNS::Topic").items():
        if lid in alarm_targets:
            for k in refs(t["Properties"].get("KmsMasterKeyId")):
                uses.append((k, "cloudwatch.amazonaws.com", {"kms:Decrypt", "kms:GenerateDataKey"}, "alarm topic " + lid))
    return uses


def check_key_policies(cfn):
    """Every principal of every key policy gets what its service documents, no more, and can use it."""
    problems = []
    keys = of_type(cfn, "AWS::KMS::Key")
    for lid, key in keys.items():
        for s in statements(key["Properties"].get("KeyPolicy")):
            sid = s.get("Sid", "?")
            if s.get("Effect") == "Deny":
                if allows(s, "kms:Decrypt") and not (allows(s, "kms:ReEncryptFrom") and allows(s, "kms:ReEncryptTo")):
                    problems.append("%s %s denies kms:Decrypt but not kms:ReEncrypt*, which unwraps the same data keys" % (lid, sid))
                continue
            p = s.get("Principal")
            if p == "*" or (isinstance(p, dict) and "*" in as_list(p.get("AWS", []))):
                problems.append("%s %s allows every principal" % (lid, sid))
            for svc in service_principals(s):
                need = SERVICE_KEY_NEEDS.get(svc)
                if need is None:
                    problems.append("%s %s names %s, whose key needs are not documented here (a principal that does "
                                    "nothing, or add it to SERVICE_KEY_NEEDS with its guide)" % (lid, sid, svc))
                    continue
                extra = actions(s) - need["actions"]
                if extra:
                    problems.append("%s %s gives %s %s beyond what its guide lists" % (lid, sid, svc, sorted(extra)))
                bad = condition_keys(s) - need["conditions"]
                if bad:
                    problems.append("%s %s conditions %s on %s, which its requests do not carry: every use fails"
                                    % (lid, sid, sorted(bad), svc))
    for key, svc, required, why in key_uses(cfn):
        if key not in keys:
            continue
        granted = [s for s in statements(keys[key]["Properties"].get("KeyPolicy"))
                   if s.get("Effect") == "Allow" and svc in service_principals(s)]
        missing = {a for a in required if not any(allows(s, a) for s in granted)}
        if missing:
            problems.append("%s encrypts %s, but its policy does not allow %s %s" % (key, why, svc, sorted(missing)))
    return problems


def check_phi_readers(cfn):
    """The key's Decrypt exception names the readers by role path, and every direct decrypter is one."""
    problems = []
    for lid, key in of_type(cfn, "AWS::KMS::Key").items():
        for s in statements(key["Properties"].get("KeyPolicy")):
            if s.get("Effect") != "Deny" or not allows(s, "kms:Decrypt"):
                continue
            cond = s.get("Condition") or {}
            patterns = [sub_text(p) or "" for op, kv in cond.items() if op.startswith("Arn")
                        for k, v in kv.items() if k == "aws:PrincipalArn" for p in as_list(v)]
            purpose = (cond.get("StringEquals") or {}).get("kms:EncryptionContext:purpose")
            for pat in patterns:
                if not re.search(r":role/.+/\*$", pat):
                    problems.append("%s: the Decrypt exception %r matches role names, which CloudFormation truncates "
                                    "for long stack names; match a role path (RolePath) instead" % (lid, pat))
            paths = [re.sub(r"^.*:role", "", p)[:-1] for p in patterns if p.endswith("/*")]
            for rid, role in of_type(cfn, "AWS::IAM::Role").items():
                opens = [st for st in role_statements(role) if opens_envelopes(st, lid, purpose)]
                if opens and sub_text(role["Properties"].get("Path")) not in paths:
                    problems.append("role %s may open %s envelopes but is not under the reader path %s: the key denies it"
                                    % (rid, lid, paths or "(none)"))
    return problems


def opens_envelopes(stmt, key, purpose):
    """Whether an IAM statement lets its role kms:Decrypt directly (not through a service) what the
    key's Deny protects: no encryption-context condition, or one naming the protected purpose."""
    if stmt.get("Effect") != "Allow" or not allows(stmt, "kms:Decrypt") or key not in refs(stmt.get("Resource")):
        return False
    keys = condition_keys(stmt)
    if "kms:ViaService" in keys:
        return False
    if not any(k.startswith("kms:EncryptionContext:") for k in keys):
        return True
    return purpose is not None and '"%s"' % purpose in json.dumps(stmt.get("Condition"))


def signers_named_by_key_policies(cfn):
    """key -> the roles its policy allows kms:Sign (by an explicit principal, not the account)."""
    out = {}
    for lid, key in of_type(cfn, "AWS::KMS::Key").items():
        for s in statements(key["Properties"].get("KeyPolicy")):
            if s.get("Effect") == "Allow" and allows(s, "kms:Sign") and isinstance(s.get("Principal"), dict):
                out.setdefault(lid, set()).update(refs(s["Principal"].get("AWS")))
    return out


def check_digest_duties(cfn):
    """Only the role a signing key's policy names signs with it; no role MACs: the legacy daily
    digests are no longer built, and an auditor (not the stack) verifies them."""
    problems = []
    signers = signers_named_by_key_policies(cfn)
    for rid, role in of_type(cfn, "AWS::IAM::Role").items():
        for s in role_statements(role):
            if s.get("Effect") != "Allow":
                continue
            for a in ("kms:GenerateMac", "kms:VerifyMac"):
                if allows(s, a):
                    problems.append("role %s may %s: nothing in the stack builds or checks MAC digests any more "
                                    "(only AuditDigestFunction digests, and signs)" % (rid, a))
            if allows(s, "kms:Sign"):
                keys = refs(s.get("Resource")) or {"*"}
                for k in sorted(keys):
                    if rid not in signers.get(k, set()):
                        problems.append("role %s may kms:Sign with %s, whose key policy does not name it as the signer: "
                                        "only the digest role signs digests" % (rid, k))
    return problems


def check_deployed_environment(cfn):
    problems = []
    for lid, fn in of_type(cfn, "AWS::Lambda::Function").items():
        env = ((fn["Properties"].get("Environment") or {}).get("Variables")) or {}
        for name, v in env.items():
            if LOCAL_ONLY_ENV.match(name):
                problems.append("function %s sets %s, a local-only variable (secrets come from Secrets Manager)" % (lid, name))
            if name == "WHATCONVERTS_BASE_URL" and not (sub_text(v) or "").startswith("https://"):
                problems.append("function %s: WHATCONVERTS_BASE_URL %r is not https" % (lid, v))
    return problems


def check_whatconverts_in_flight(cfn):
    """Reserved concurrency bounds the WhatConverts requests in flight (one per instance)."""
    problems, total = [], 0
    for lid, fn in of_type(cfn, "AWS::Lambda::Function").items():
        env = ((fn["Properties"].get("Environment") or {}).get("Variables")) or {}
        if "WHATCONVERTS_SECRET_ARN" not in env:
            continue
        n = fn["Properties"].get("ReservedConcurrentExecutions")
        if not isinstance(n, int):
            problems.append("function %s calls WhatConverts without ReservedConcurrentExecutions: its requests in "
                            "flight are unbounded" % lid)
            continue
        total += n
    if total > WHATCONVERTS_MAX_IN_FLIGHT:
        problems.append("the WhatConverts callers' reserved concurrency adds up to %d, over WhatConverts' %d in flight per key"
                        % (total, WHATCONVERTS_MAX_IN_FLIGHT))
    return problems


def writes_audit_records(stmts, tag_keys, tables):
    """Whether a role may write audit records: generate record tag keys (the key TAG_KEY_ID names),
    or put an item under an audit record's key. Either alone suffices: a record needs its tag, and a
    record put without one is still one the trail must account for."""
    for s in stmts:
        if s.get("Effect") != "Allow":
            continue
        res = as_list(s.get("Resource", []))
        on = {getatt_arn(r) for r in res} | ({"*"} if "*" in res else set())
        if allows(s, "kms:GenerateDataKey") and (on & tag_keys or "*" in on):
            return True
        if (allows(s, "dynamodb:PutItem") or allows(s, "dynamodb:BatchWriteItem")) and (on & tables or "*" in on):
            pats = [p for op in (s.get("Condition") or {}).values() for k, v in op.items()
                    if k == "dynamodb:LeadingKeys" for p in as_list(v)]
            if not pats or any(fnmatch.fnmatchcase(AUDIT_RECORD_KEY, p) for p in pats):
                return True
    return False


def assumed_only_by(role, services):
    """Whether only the given service principals may assume a role."""
    trust = [s for s in statements(role["Properties"].get("AssumeRolePolicyDocument")) if s.get("Effect") == "Allow"]
    return bool(trust) and all(isinstance(s.get("Principal"), dict) and list(s["Principal"]) == ["Service"]
                               and set(service_principals(s)) <= services for s in trust)


def joined_log_groups(v, groups):
    """The log groups a comma-joined list of their names names (Fn::Join on "," of Refs, or one Ref),
    and the parts of v that are not such a name."""
    if isinstance(v, dict) and list(v) == ["Ref"]:
        parts = [v]
    elif isinstance(v, dict) and list(v) == ["Fn::Join"] and v["Fn::Join"][0] == "," and isinstance(v["Fn::Join"][1], list):
        parts = v["Fn::Join"][1]
    else:
        return [], [v]
    named = [x["Ref"] for x in parts if isinstance(x, dict) and list(x) == ["Ref"] and x.get("Ref") in groups]
    return named, [x for x in parts if not (isinstance(x, dict) and list(x) == ["Ref"] and x.get("Ref") in groups)]


def log_reads(role, groups):
    """What a role may logs:FilterLogEvents on: the log groups of this template named by their Arn,
    and everything else it names (a wildcard, another ARN, a managed policy's "*")."""
    readable, wider = set(), []
    for s in role_statements(role):
        if s.get("Effect") != "Allow" or not allows(s, "logs:FilterLogEvents"):
            continue
        if "NotResource" in s:
            wider.append({"NotResource": s["NotResource"]})
        for r in as_list(s.get("Resource", [])):
            if getatt_arn(r) in groups:
                readable.add(getatt_arn(r))
            else:
                wider.append(r)
    if "logs:FilterLogEvents" in managed_logs_actions(role)[0]:
        wider.append("* (a managed policy)")
    return readable, wider


def min_retention(cfn, group):
    """The fewest days a log group may keep its events (None: forever); a string when unbounded."""
    v = group["Properties"].get("RetentionInDays")
    if v is None or isinstance(v, int):
        return v
    ids = refs(v) & set(cfn.get("Parameters", {}))
    if not ids:
        return "%r, which is no parameter of this template" % (v,)
    p = cfn["Parameters"][ids.pop()]
    bounds = [int(x) for x in p.get("AllowedValues", [])] or ([int(p["MinValue"])] if "MinValue" in p else [])
    return min(bounds) if bounds else "a parameter with no AllowedValues or MinValue"


def verifiers(cfn):
    """The functions that verify the audit trail: the one whose role signs the digests (a key policy
    names it), and every one whose role may fetch a signing key's public key to check them."""
    sign_keys = {lid for lid, k in of_type(cfn, "AWS::KMS::Key").items()
                 if k["Properties"].get("KeyUsage") == "SIGN_VERIFY"}
    signers = {r for rs in signers_named_by_key_policies(cfn).values() for r in rs}
    roles = of_type(cfn, "AWS::IAM::Role")
    out = set()
    for lid, f in of_type(cfn, "AWS::Lambda::Function").items():
        rid = role_of(cfn, f)
        if rid in signers or (rid and any(s.get("Effect") == "Allow" and allows(s, "kms:GetPublicKey")
                                          and refs(s.get("Resource")) & sign_keys for s in role_statements(roles[rid]))):
            out.add(lid)
    return out


def check_writer_lines_are_read(cfn):
    """The audit trail's second record: every audit writer logs its stored lines (at a level Lambda
    keeps) to a log group of the stack; the functions that read them back (AUDIT_WRITER_LOG_GROUPS:
    every function that verifies the trail) name exactly those groups, as does the
    AuditWriterLogGroups output; their roles may FilterLogEvents on them and on nothing else; no other
    role reads them; no role may delete them or shorten their retention; and they keep their lines
    at least as long as the verification reads back."""
    problems = []
    fns = of_type(cfn, "AWS::Lambda::Function")
    roles = of_type(cfn, "AWS::IAM::Role")
    groups = of_type(cfn, "AWS::Logs::LogGroup")
    tag_keys = {k for f in fns.values() for k in refs(env_of(f).get("TAG_KEY_ID"))}
    tables = {t for f in fns.values() for t in refs(env_of(f).get("AUDIT_TABLE_NAME"))}
    writers = {}
    for lid, f in fns.items():
        rid = role_of(cfn, f)
        if rid and writes_audit_records(role_statements(roles[rid]), tag_keys, tables):
            writers[lid] = refs((f["Properties"].get("LoggingConfig") or {}).get("LogGroup")) & set(groups)
    writer_groups = set().union(*writers.values()) if writers else set()
    for w, g in sorted(writers.items()):
        level = (fns[w]["Properties"].get("LoggingConfig") or {}).get("ApplicationLogLevel", "INFO")
        if level not in LEVELS_KEEPING_STORED_LINES:
            problems.append("audit writer %s has ApplicationLogLevel %s: Lambda drops its stored lines (INFO)" % (w, level))
        if not g:
            problems.append("audit writer %s logs to no log group of this template (LoggingConfig LogGroup): "
                            "nothing reads its stored lines back" % w)

    readers = sorted(lid for lid, f in fns.items() if WRITER_LOG_GROUPS_ENV in env_of(f))
    for lid in sorted(verifiers(cfn)):
        if lid not in readers:
            problems.append("%s verifies the audit trail but does not set %s: its verification cannot read the "
                            "writers' stored lines" % (lid, WRITER_LOG_GROUPS_ENV))
    if writers and not readers:
        problems.append("no function sets %s: nothing reads the writers' stored lines back" % WRITER_LOG_GROUPS_ENV)
    reader_roles = {role_of(cfn, fns[r]): r for r in readers}
    out = ((cfn.get("Outputs") or {}).get("AuditWriterLogGroups") or {}).get("Value")
    named = set()
    for reader in readers:
        value = env_of(fns[reader])[WRITER_LOG_GROUPS_ENV]
        names, bad = joined_log_groups(value, groups)
        named |= set(names)
        for x in bad:
            problems.append("%s's %s holds %s, which is not the name (Ref) of a log group of this template, "
                            "joined on ','" % (reader, WRITER_LOG_GROUPS_ENV, json.dumps(x)))
        for w, g in sorted(writers.items()):
            for x in sorted(g - set(names)):
                problems.append("audit writer %s's log group %s is not in %s's %s: a deletion of its last records "
                                "goes unseen" % (w, x, reader, WRITER_LOG_GROUPS_ENV))
        for x in sorted(set(names) - writer_groups):
            problems.append("%s's %s names %s, the log group of no audit writer" % (reader, WRITER_LOG_GROUPS_ENV, x))
        if out != value:
            problems.append("the AuditWriterLogGroups output is not %s's %s: verify-audit would read other groups "
                            "than the stack's verification" % (reader, WRITER_LOG_GROUPS_ENV))
        rid = role_of(cfn, fns[reader])
        if rid is None:
            continue
        readable, wider = log_reads(roles[rid], groups)
        everything = any("*" in (sub_text(w) or "") for w in wider)  # reported below as too wide
        missing = sorted(set(names) - readable)
        if missing and not everything:
            problems.append("role %s may not logs:FilterLogEvents on %s: %s cannot read those writers' stored lines"
                            % (rid, ", ".join(missing), reader))
        extra = sorted(readable - set(names)) + [json.dumps(w) for w in wider]
        if extra:
            problems.append("role %s may logs:FilterLogEvents on %s, beyond the writers' log groups"
                            % (rid, ", ".join(extra)))

    for rid, role in sorted(roles.items()):
        if rid in reader_roles or assumed_only_by(role, LOG_READING_SERVICE_ROLES):
            continue
        readable, wider = log_reads(role, groups)
        if readable & writer_groups or wider:
            problems.append("role %s may logs:FilterLogEvents on %s: only the roles of %s read the writers' stored lines"
                            % (rid, ", ".join(sorted(readable & writer_groups) + [json.dumps(w) for w in wider]),
                               ", ".join(readers) or "(no function)"))

    for rid, role in sorted(roles.items()):
        managed, unknown = managed_logs_actions(role)
        for name in unknown:
            problems.append("role %s has the managed policy %s, whose CloudWatch Logs actions are not listed in "
                            "MANAGED_POLICY_LOGS_ACTIONS: look them up and add them" % (rid, name))
        for a in LOG_ERASERS:
            if a in managed or any(s.get("Effect") == "Allow" and allows(s, a) for s in role_statements(role)):
                problems.append("role %s may %s: the audit writers' stored lines could be erased before they are read"
                                % (rid, a))

    for g in sorted(writer_groups):
        days = min_retention(cfn, groups[g])
        if isinstance(days, str):
            problems.append("log group %s: its RetentionInDays is %s: it may be fewer than the %d days the "
                            "verification reads the writers' stored lines back" % (g, days, WRITER_LINES_READ_BACK_DAYS))
        elif days is not None and days < WRITER_LINES_READ_BACK_DAYS:
            problems.append("log group %s may keep its events for only %d days, fewer than the %d days the verification "
                            "reads the writers' stored lines back" % (g, days, WRITER_LINES_READ_BACK_DAYS))
    return problems


CHECKS = [
    check_stateful_resources_are_retained,
    check_every_alarm_notifies,
    check_every_function_is_alarmed,
    check_metric_math_alarms_within_limit,
    check_api_has_one_stage,
    check_iam_routes_use_the_callers_identity,
    check_method_settings_paths_are_escaped,
    check_api_tls,
    check_access_logs_can_be_written,
    check_encrypted_buses_dead_letter,
    check_schedules,
    check_key_policies,
    check_phi_readers,
    check_digest_duties,
    check_deployed_environment,
    check_whatconverts_in_flight,
    check_writer_lines_are_read,
]


def problems_of(sam):
    """Every assertion's problems with a SAM template (as a dict), after the transform."""
    cfn = transformed(sam)
    return [p for check in CHECKS for p in check(cfn)]


def main(argv):
    args = [a for a in argv if a != "--no-lint"]
    path = args[0] if args else "template.yaml"
    problems = [] if "--no-lint" in argv else lint(path)
    try:
        problems += problems_of(load(path))
    except InvalidDocumentException as e:
        problems += ["SAM transform: " + c.message for c in e.causes]
    for p in problems:
        print("validate: " + p, file=sys.stderr)
    if problems:
        return 1
    print("validate: %s: cfn-lint clean, SAM transform and %d checks pass" % (path, len(CHECKS)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
