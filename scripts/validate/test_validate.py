"""make validate fails on each finding (issue 12's, and the audit writers' log groups') when it is
put back into template.yaml.

Each case mutates a copy of the shipped template the way the finding was (or could come back) and
expects validate to report it; the shipped template itself must pass. Run by `make validate`:
python3 -m unittest discover -s scripts/validate
"""

import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import validate  # noqa: E402

TEMPLATE = os.path.join(os.path.dirname(__file__), "..", "..", "template.yaml")
SHIPPED = validate.load(TEMPLATE)


def res(t, lid):
    return t["Resources"][lid]


def props(t, lid):
    return t["Resources"][lid]["Properties"]


def key_statement(t, sid):
    return next(s for s in props(t, "DataKey")["KeyPolicy"]["Statement"] if s["Sid"] == sid)


def events_statement(t):
    return next(s for s in props(t, "DataKey")["KeyPolicy"]["Statement"]
                if "events.amazonaws.com" in validate.service_principals(s))


def first_of_type(t, typ):
    return next(lid for lid, r in t["Resources"].items() if r["Type"] == typ)


def functions_calling_whatconverts(t):
    return [lid for lid, r in t["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
            and "WHATCONVERTS_SECRET_ARN" in r["Properties"].get("Environment", {}).get("Variables", {})]


def webhook_method_setting(t):
    return next(m for m in props(t, "Api")["MethodSettings"] if m["ResourcePath"] != "/*")


def put_back_name_prefix_exception(t):
    deny = key_statement(t, "OnlyPHIReadersOpenEnvelopes")
    deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"] = [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AWS::StackName}-%s*" % f}
        for f in ("TriggerSamplesFunction", "CreateLeadFunction", "UpdateLeadFunction")]


def report_may(t, action, key):
    props(t, "DailyReportFunction")["Policies"][0]["Statement"].append(
        {"Effect": "Allow", "Action": action, "Resource": {"Fn::GetAtt": [key, "Arn"]}})


def writer_log_groups(t):
    """The parts of AUDIT_WRITER_LOG_GROUPS, joined on ','."""
    return props(t, "AuditDigestFunction")["Environment"]["Variables"]["AUDIT_WRITER_LOG_GROUPS"]["Fn::Join"][1]


def digest_statement(t, sid):
    return next(s for p in props(t, "AuditDigestRole")["Policies"] for s in p["PolicyDocument"]["Statement"]
                if s.get("Sid") == sid)


def drop_digest_statement(t, sid):
    for p in props(t, "AuditDigestRole")["Policies"]:
        p["PolicyDocument"]["Statement"] = [s for s in p["PolicyDocument"]["Statement"] if s.get("Sid") != sid]


def outbox_may(t, stmt):
    props(t, "PublishOutboxFunction")["Policies"][0]["Statement"].append(stmt)


# (finding, mutation, a phrase the report must contain)
FINDINGS = [
    ("1 MethodSettings path not escaped",
     lambda t: webhook_method_setting(t).update(ResourcePath="/webhooks/whatconverts"), "not escaped"),
    ("2 no API Gateway CloudWatch role",
     lambda t: [t["Resources"].pop(k) for k in ("ApiGatewayAccount", "ApiGatewayLogsRole")]
     and props(t, "ApiAccessLogs").pop("Tags"), "AWS::ApiGateway::Account"),
    ("2 the stage does not wait for the account setting",
     lambda t: props(t, "ApiAccessLogs").pop("Tags"), "does not wait for"),
    ("3 EventBridge may not DescribeKey",
     lambda t: events_statement(t).update(Action=["kms:GenerateDataKey", "kms:Decrypt"]), "kms:DescribeKey"),
    ("3 the encrypted bus has no dead-letter queue",
     lambda t: props(t, "LeadEventBus").pop("DeadLetterConfig"), "no DeadLetterConfig"),
    ("4 the outbox schedule's role cannot decrypt its payload",
     lambda t: props(t, "PublishOutboxFunction")["Events"]["EveryMinute"]["Properties"].pop("RoleArn"),
     "may not kms:Decrypt"),
    ("4 the outbox schedule has no dead-letter queue",
     lambda t: props(t, "PublishOutboxFunction")["Events"]["EveryMinute"]["Properties"].pop("DeadLetterConfig"),
     "no DeadLetterConfig"),
    ("5 SAM adds caller credentials to IAM routes",
     lambda t: props(t, "Api")["Auth"].pop("InvokeRole"), "credentials"),
    ("6 the implicit Stage stage",
     lambda t: props(t, "Api").pop("OpenApiVersion"), "'Stage'"),
    ("7 aws:SourceAccount on EventBridge's key statement",
     lambda t: events_statement(t).update(Condition={"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}),
     "aws:SourceAccount"),
    ("7 principals that do nothing",
     lambda t: events_statement(t)["Principal"].update(
         Service=["events.amazonaws.com", "scheduler.amazonaws.com", "sqs.amazonaws.com"]),
     "scheduler.amazonaws.com"),
    ("7 a service given more than its guide lists",
     lambda t: events_statement(t)["Action"].append("kms:CreateGrant"), "beyond what its guide lists"),
    ("8 fixed schedule names",
     lambda t: props(t, "DailyReportFunction")["Events"]["Daily"]["Properties"].pop("OmitName"), "fixed name"),
    ("9 the PHI-reader exception matches truncatable role names",
     put_back_name_prefix_exception, "truncates"),
    ("9 a PHI reader outside the reader path",
     lambda t: props(t, "CreateLeadFunction").pop("RolePath"), "not under the reader path"),
    ("TLS 1.0 allowed",
     lambda t: props(t, "Api").pop("SecurityPolicy"), "TLS 1.0"),
    ("ReEncrypt not denied to non-readers",
     lambda t: key_statement(t, "OnlyPHIReadersOpenEnvelopes").update(Action="kms:Decrypt"), "kms:ReEncrypt"),
    ("an alarm without actions",
     lambda t: props(t, first_of_type(t, "AWS::CloudWatch::Alarm")).pop("AlarmActions"), "no AlarmActions"),
    ("a function whose errors no alarm watches",
     lambda t: props(t, "FunctionErrorsAlarm")["Metrics"].pop(), "in no alarm"),
    ("an alarm over CloudWatch's 10 metrics",
     lambda t: props(t, "FunctionErrorsAlarm")["Metrics"].extend(
         copy.deepcopy(props(t, "FunctionErrorsAlarm")["Metrics"][1:3])), "allows 10"),
    ("a secret in a deployed function's environment",
     lambda t: props(t, "GetLeadsFunction")["Environment"]["Variables"].update(WHATCONVERTS_CREDENTIALS="{}"),
     "local-only"),
    ("WhatConverts over plain http",
     lambda t: props(t, "GetLeadsFunction")["Environment"]["Variables"].update(
         WHATCONVERTS_BASE_URL="http://app.whatconverts.com/api/v1"), "not https"),
    ("a WhatConverts caller without reserved concurrency",
     lambda t: props(t, functions_calling_whatconverts(t)[0]).pop("ReservedConcurrentExecutions"), "unbounded"),
    ("the WhatConverts callers over 20 in flight",
     lambda t: props(t, functions_calling_whatconverts(t)[0]).update(ReservedConcurrentExecutions=10), "over WhatConverts"),
    ("a log group deleted with the stack",
     lambda t: res(t, first_of_type(t, "AWS::Logs::LogGroup")).pop("DeletionPolicy"), "Retain"),
    ("the report role may MAC digests again",
     lambda t: report_may(t, ["kms:GenerateMac", "kms:VerifyMac"], "DigestKey"), "may kms:GenerateMac"),
    ("the report role may check MACs",
     lambda t: report_may(t, "kms:VerifyMac", "DigestKey"), "may kms:VerifyMac"),
    ("the report role may sign digests",
     lambda t: report_may(t, "kms:Sign", "AuditSigningKey"), "may kms:Sign with AuditSigningKey"),
    ("the report role may use any KMS action on the signing key",
     lambda t: report_may(t, "kms:*", "AuditSigningKey"), "may kms:Sign with AuditSigningKey"),
    ("a secret replaced with the stack",
     lambda t: res(t, "WhatConvertsSecret").pop("UpdateReplacePolicy"), "Retain"),
    # The audit writers' stored lines (docs/audit.md): read back by the digest function alone.
    ("a writer's log group left out of AUDIT_WRITER_LOG_GROUPS",
     lambda t: writer_log_groups(t).remove({"Ref": "GetReportLogs"}),
     "GetReportFunction's log group GetReportLogs is not in AuditDigestFunction's AUDIT_WRITER_LOG_GROUPS"),
    ("AUDIT_WRITER_LOG_GROUPS gone from the digest function",
     lambda t: props(t, "AuditDigestFunction")["Environment"]["Variables"].pop("AUDIT_WRITER_LOG_GROUPS"),
     "AuditDigestFunction verifies the audit trail but does not set AUDIT_WRITER_LOG_GROUPS"),
    ("AUDIT_WRITER_LOG_GROUPS gone from the daily report, which verifies its day",
     lambda t: props(t, "DailyReportFunction")["Environment"]["Variables"].pop("AUDIT_WRITER_LOG_GROUPS"),
     "DailyReportFunction verifies the audit trail but does not set AUDIT_WRITER_LOG_GROUPS"),
    ("the report's list differs from the digest function's",
     lambda t: props(t, "DailyReportFunction")["Environment"]["Variables"]["AUDIT_WRITER_LOG_GROUPS"]["Fn::Join"][1].pop(0),
     "IngestWebhookLogs is not in DailyReportFunction's AUDIT_WRITER_LOG_GROUPS"),
    ("the report's role may not read the writers' lines",
     lambda t: props(t, "DailyReportFunction")["Policies"][0].update(Statement=[
         s for s in props(t, "DailyReportFunction")["Policies"][0]["Statement"] if s.get("Sid") != "ReadTheWritersStoredLines"]),
     "role DailyReportFunctionRole may not logs:FilterLogEvents on CreateLeadLogs"),
    ("AUDIT_WRITER_LOG_GROUPS holds a group's ARN, not its name",
     lambda t: writer_log_groups(t).__setitem__(0, {"Fn::GetAtt": ["IngestWebhookLogs", "Arn"]}),
     "not the name (Ref) of a log group"),
    ("AUDIT_WRITER_LOG_GROUPS names a group no writer logs to",
     lambda t: writer_log_groups(t).append({"Ref": "PublishOutboxLogs"}), "the log group of no audit writer"),
    ("the output lists other groups than the digest function reads",
     lambda t: t["Outputs"]["AuditWriterLogGroups"]["Value"]["Fn::Join"][1].pop(), "AuditWriterLogGroups output"),
    ("a writer logging to no log group of the stack",
     lambda t: props(t, "ReplayFunction").pop("LoggingConfig"), "ReplayFunction logs to no log group"),
    ("a writer whose stored lines (INFO) Lambda drops",
     lambda t: props(t, "CreateLeadFunction")["LoggingConfig"].update(ApplicationLogLevel="WARN"),
     "CreateLeadFunction has ApplicationLogLevel WARN"),
    ("a new writer (it tags records) whose group is not read",
     lambda t: outbox_may(t, {"Effect": "Allow", "Action": "kms:GenerateDataKey",
                              "Resource": {"Fn::GetAtt": ["AuditTagKey", "Arn"]}}),
     "PublishOutboxFunction's log group PublishOutboxLogs is not in"),
    ("a new writer (it puts audit records) whose group is not read",
     lambda t: outbox_may(t, {"Effect": "Allow", "Action": "dynamodb:PutItem",
                              "Resource": {"Fn::GetAtt": ["AuditTable", "Arn"]},
                              "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["audit#*"]}}}),
     "PublishOutboxFunction's log group PublishOutboxLogs is not in"),
    ("the digest role may not read the writers' lines",
     lambda t: drop_digest_statement(t, "ReadTheWritersStoredLines"), "may not logs:FilterLogEvents on CreateLeadLogs"),
    ("the digest role may not read one writer's lines",
     lambda t: digest_statement(t, "ReadTheWritersStoredLines")["Resource"].pop(), "may not logs:FilterLogEvents on GetReportLogs"),
    ("the digest role may read every log group",
     lambda t: digest_statement(t, "ReadTheWritersStoredLines").update(Resource="*"), "beyond the writers' log groups"),
    ("the digest role may read a group beyond the writers'",
     lambda t: digest_statement(t, "ReadTheWritersStoredLines")["Resource"].append(
         {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}), "on ApiAccessLogs, beyond the writers' log groups"),
    ("the digest role may read log groups by a wildcard ARN",
     lambda t: digest_statement(t, "ReadTheWritersStoredLines").update(Action="logs:*", Resource={
         "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"}),
     "beyond the writers' log groups"),
    ("another role may read a writer's lines",
     lambda t: props(t, "GetReportFunction")["Policies"][0]["Statement"].append(
         {"Effect": "Allow", "Action": "logs:FilterLogEvents", "Resource": {"Fn::GetAtt": ["GetLeadLogs", "Arn"]}}),
     "role GetReportFunctionRole may logs:FilterLogEvents on GetLeadLogs: only the roles of"),
    ("the report's role may read a group beyond the writers'",
     lambda t: report_may(t, "logs:FilterLogEvents", "PublishOutboxLogs"),
     "role DailyReportFunctionRole may logs:FilterLogEvents on PublishOutboxLogs, beyond the writers' log groups"),
    ("API Gateway's log role (it reads every group) assumable by more than API Gateway",
     lambda t: props(t, "ApiGatewayLogsRole")["AssumeRolePolicyDocument"]["Statement"][0]["Principal"].update(
         AWS={"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}),
     "role ApiGatewayLogsRole may logs:FilterLogEvents"),
    ("a role may delete a writer's log streams",
     lambda t: report_may(t, "logs:DeleteLogStream", "DailyReportLogs"), "may logs:DeleteLogStream"),
    ("the digest role may shorten the writers' retention",
     lambda t: digest_statement(t, "ReadTheWritersStoredLines").update(
         Action=["logs:FilterLogEvents", "logs:PutRetentionPolicy"]),
     "role AuditDigestRole may logs:PutRetentionPolicy"),
    ("a managed policy whose logs rights nobody looked up",
     lambda t: props(t, "DailyReportFunction")["Policies"].append("arn:aws:iam::aws:policy/CloudWatchLogsFullAccess"),
     "CloudWatchLogsFullAccess, whose CloudWatch Logs actions are not listed"),
    ("log retention shorter than the verification reads back",
     lambda t: t["Parameters"]["LogRetentionDays"]["AllowedValues"].insert(0, 3), "fewer than the 7 days"),
    ("a writer's log group with a fixed retention of 1 day",
     lambda t: props(t, "GetLeadLogs").update(RetentionInDays=1), "GetLeadLogs may keep its events for only 1 days"),
]


class ValidateTest(unittest.TestCase):
    def test_the_shipped_template_passes(self):
        self.assertEqual(validate.problems_of(SHIPPED), [])

    def test_each_finding_put_back_fails(self):
        for name, mutate, phrase in FINDINGS:
            with self.subTest(finding=name):
                t = copy.deepcopy(SHIPPED)
                mutate(t)
                problems = validate.problems_of(t)
                self.assertTrue(any(phrase in p for p in problems),
                                "validate did not report %r; it said %s" % (phrase, problems))

    def test_cfn_lint_runs_and_fails_the_run(self):
        # The lint step is real: a property CloudFormation does not know fails the whole run.
        t = copy.deepcopy(SHIPPED)
        props(t, "AuditTable")["NoSuchProperty"] = True
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(t, f)
        try:
            self.assertNotEqual(validate.lint(f.name), [])
            out = subprocess.run([sys.executable, validate.__file__, f.name], capture_output=True, text=True)
            self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        finally:
            os.unlink(f.name)


if __name__ == "__main__":
    unittest.main()
