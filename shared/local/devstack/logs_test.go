package devstack

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// The writers' log groups come from the template: the groups the verifier's AUDIT_WRITER_LOG_GROUPS
// !Join names, each mapped to the function whose LoggingConfig logs there, then to that function's
// local group.
func TestWriterLogGroupsAreTheLocalGroupsOfTheGroupsTheTemplateNames(t *testing.T) {
	const fns = `
  WriterAFunction:
    Type: AWS::Serverless::Function
    Properties: {LoggingConfig: {LogGroup: !Ref WriterALogs, LogFormat: JSON}}
  WriterALogs: {Type: AWS::Logs::LogGroup}
  WriterBFunction:
    Type: AWS::Serverless::Function
    Properties: {LoggingConfig: {LogGroup: !Ref WriterBLogs, LogFormat: JSON}}
  WriterBLogs: {Type: AWS::Logs::LogGroup}
  QuietFunction:
    Type: AWS::Serverless::Function
    Properties: {}
`
	tests := []struct {
		name     string
		verifier string // the verifier's Environment.Variables
		want     []string
		wantErr  string
	}{
		{"both writers, in the template's order", `{AUDIT_WRITER_LOG_GROUPS: !Join [",", [!Ref WriterBLogs, !Ref WriterALogs]]}`,
			[]string{"/p/WriterBFunction", "/p/WriterAFunction"}, ""},
		{"one writer", `{AUDIT_WRITER_LOG_GROUPS: !Ref WriterALogs}`, []string{"/p/WriterAFunction"}, ""},
		{"no variable, no writers", `{OTHER: x}`, nil, ""},
		{"a group no function logs to is refused", `{AUDIT_WRITER_LOG_GROUPS: !Join [",", [!Ref WriterALogs, !Ref StrayLogs]]}`,
			nil, `VerifierFunction: AUDIT_WRITER_LOG_GROUPS names "StrayLogs"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "Resources:" + fns + `  StrayLogs: {Type: AWS::Logs::LogGroup}
  VerifierFunction:
    Type: AWS::Serverless::Function
    Properties:
      LoggingConfig: {LogGroup: !Ref VerifierLogs}
      Environment: {Variables: ` + tc.verifier + `}
  VerifierLogs: {Type: AWS::Logs::LogGroup}
`
			tmpl, err := samtemplate.Parse([]byte(src), nil)
			if err != nil {
				t.Fatal(err)
			}
			g, err := localLogGroups(tmpl, "/p/")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b := &Backends{Options: Options{LogsEndpoint: "http://logs"}, logGroups: g}
			if got := b.WriterLogGroups(); !slices.Equal(got, tc.want) {
				t.Fatalf("WriterLogGroups = %q, want %q", got, tc.want)
			}
			fn, _ := tmpl.Function("VerifierFunction")
			env := b.Env(fn)
			if _, declared := fn.Environment[config.EnvWriterLogGroups]; declared {
				if got := env[config.EnvWriterLogGroups]; got != strings.Join(tc.want, ",") {
					t.Fatalf("the verifier's %s = %q, want %q", config.EnvWriterLogGroups, got, strings.Join(tc.want, ","))
				}
			} else if v, ok := env[config.EnvWriterLogGroups]; ok {
				t.Fatalf("%s = %q given to a function the template does not give it", config.EnvWriterLogGroups, v)
			}
			if env[config.EnvLogsEndpoint] != "http://logs" {
				t.Fatalf("%s = %q, want the stack's", config.EnvLogsEndpoint, env[config.EnvLogsEndpoint])
			}
			for _, id := range []string{"WriterAFunction", "QuietFunction"} {
				if got := b.LogGroup(id); got != "/p/"+id {
					t.Errorf("LogGroup(%s) = %q, want /p/%s", id, got, id)
				}
			}
			// Without a Logs endpoint the groups are named all the same, as a deployment names them
			// (the digest function refuses to start without them).
			b.Options.LogsEndpoint = ""
			if got := b.Env(fn)[config.EnvWriterLogGroups]; got != strings.Join(tc.want, ",") {
				t.Fatalf("without a Logs endpoint %s = %q, want %q", config.EnvWriterLogGroups, got, strings.Join(tc.want, ","))
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("logs server down") }

// A line the Logs server refuses does not fail the function (its logger, an emulated process's
// output pipe): the failure is reported on the stack's logger, by group, without the line.
func TestALineThatCannotBeDeliveredIsReportedNotReturned(t *testing.T) {
	var logs testenv.Logs
	d := delivery{w: failingWriter{}, group: "/p/GetLeadFunction", log: logs.Logger()}
	line := []byte(`{"msg":"audit record stored","audit_writer":"w_x","audit_seq":7}` + "\n")
	if n, err := d.Write(line); n != len(line) || err != nil {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(line))
	}
	got := logs.String()
	if !strings.Contains(got, "log delivery failed") || !strings.Contains(got, "/p/GetLeadFunction") || !strings.Contains(got, "logs server down") {
		t.Fatalf("the failure is not reported with its group and error: %s", got)
	}
	if strings.Contains(got, "w_x") {
		t.Fatalf("the report repeats the line: %s", got)
	}
}
