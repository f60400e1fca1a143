package devstack_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/local/devstack"
	"github.com/wcbridge/wcbridge/shared/local/logship"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/table"
	"github.com/wcbridge/wcbridge/shared/writelog"
)

// The local stack delivers the functions' output to their log groups as Lambda does, so the
// verifier's second record exists locally: every audit record the requests stored has its stored
// line in its writer's group, no line names a record the table does not hold, the verifier is given
// exactly the writers' groups, and nothing delivered holds the requests' contact details.
func TestEveryStoredRecordHasItsLineInTheWritersLocalLogGroup(t *testing.T) {
	started := time.Now()
	st := startStack(t, devstack.Options{DisableSchedules: true})
	endpoint := st.Options.LogsEndpoint
	if endpoint == "" { // startStack skipped without the S3 stand-in, which serves CloudWatch Logs too
		t.Fatal("S3_ENDPOINT is set without LOGS_ENDPOINT: scripts/with-services.sh sets both")
	}

	// The verifier (whichever function the template gives the variable) reads the writers' groups.
	writers := st.WriterLogGroups()
	for _, fn := range st.Template.Functions {
		if _, declared := fn.Environment[config.EnvWriterLogGroups]; declared {
			if got := st.Env(fn)[config.EnvWriterLogGroups]; got != strings.Join(writers, ",") {
				t.Errorf("%s's %s = %q, want the writers' local groups %q", fn.LogicalID, config.EnvWriterLogGroups, got, strings.Join(writers, ","))
			}
		}
	}
	for _, id := range []string{"IngestWebhookFunction", "GetLeadFunction"} {
		if !slices.Contains(writers, st.LogGroup(id)) {
			t.Fatalf("the writers' groups %q leave out %s's, %s: its records' lines would go unread", writers, id, st.LogGroup(id))
		}
	}

	// Three records from two writers: a webhook with contact details, the simulator's webhook of a
	// seeded lead, and a signed read of that lead.
	phi := []string{"Synthetic Patient Wren", "wren.patient@example.test", "+15550100923"}
	body := fmt.Sprintf(`{"trigger": "new", "lead_id": 9100923, "profile_id": 1001, "account_id": 2001, "lead_type": "Web Form",
		"date_created": "2026-01-15T10:00:00Z", "last_updated": "2026-01-15T10:00:00Z",
		"contact_name": %q, "email_address": %q, "phone_number": %q}`, phi[0], phi[1], phi[2])
	if r := do(t, st, http.MethodPost, st.WebhookURL, []byte(body), false); r.status != http.StatusOK {
		t.Fatalf("webhook = %d %s", r.status, r.body)
	}
	lead := st.Sim.LeadIDs(1001)[0]
	if r := do(t, st, http.MethodPost, fmt.Sprintf("%s/_local/whatconverts/leads/%d/webhook?trigger=update", st.APIURL, lead), nil, false); r.status != http.StatusOK {
		t.Fatalf("simulator webhook = %d %s", r.status, r.body)
	}
	if r := do(t, st, http.MethodGet, fmt.Sprintf("%s/leads/%d?profile_id=1001", st.APIURL, lead), nil, true); r.status != http.StatusOK {
		t.Fatalf("Get Lead = %d %s", r.status, r.body)
	}
	if seeded, ok := st.Sim.Lead(lead); ok {
		for _, k := range []string{"contact_name", "email_address", "phone_number"} {
			if v, _ := seeded[k].(string); v != "" {
				phi = append(phi, v)
			}
		}
	}
	ended := time.Now()

	ctx := context.Background()
	recorded := map[audit.StoredLine]string{} // → the record's action
	store := audit.New(audit.Config{DB: testenv.DynamoDB(t), Table: st.Options.Table})
	for day := started.UTC().Truncate(24 * time.Hour); !day.After(ended); day = day.Add(24 * time.Hour) {
		err := store.Day(ctx, table.Day(day), func(r audit.Record) error {
			if r.Writer == "" {
				t.Errorf("record %s (%s) has no writer", r.ID, r.Action)
			}
			recorded[audit.StoredLine{Writer: r.Writer, Seq: r.Seq, Period: audit.PeriodOf(r.ReceivedAt)}] = r.Action
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(recorded) < 3 {
		t.Fatalf("the table holds %d records, want at least the two webhooks' and the read's", len(recorded))
	}

	logged := map[audit.StoredLine]bool{}
	cw := writelog.CloudWatch{Client: logship.Client(endpoint, "us-east-1"), Groups: writers}
	err := cw.Lines(ctx, started, ended, func(l audit.StoredLine) error {
		l.Logged = time.Time{} // compared by writer, number and period
		logged[l] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rec, action := range recorded {
		if !logged[rec] {
			t.Errorf("record %v (%s) has no stored line in the writers' groups", rec, action)
		}
	}
	for l := range logged {
		if _, ok := recorded[l]; !ok {
			t.Errorf("stored line %v names no record of the table", l)
		}
	}
	writerIDs := map[string]bool{}
	for rec := range recorded {
		writerIDs[rec.Writer] = true
	}
	if len(writerIDs) < 2 {
		t.Errorf("the records come from %d writer(s), want the ingest function's and Get Lead's", len(writerIDs))
	}

	// Everything delivered, in every function's group: no contact detail of the requests.
	client := logship.Client(endpoint, "us-east-1")
	var delivered []string
	for _, fn := range st.Template.Functions {
		p := cloudwatchlogs.NewFilterLogEventsPaginator(client, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(st.LogGroup(fn.LogicalID))})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("read %s: %v", st.LogGroup(fn.LogicalID), err)
			}
			for _, e := range page.Events {
				delivered = append(delivered, aws.ToString(e.Message))
			}
		}
	}
	if len(delivered) < len(recorded) {
		t.Fatalf("%d lines delivered, want at least the %d stored lines", len(delivered), len(recorded))
	}
	all := strings.Join(delivered, "\n")
	for _, v := range phi {
		if strings.Contains(all, v) {
			t.Errorf("a delivered log line holds a contact detail (%d characters)", len(v))
		}
	}
	t.Logf("%d records, %d stored lines, %d lines delivered; writers' groups %q", len(recorded), len(logged), len(delivered), writers)
}

// The banner's command verifies the previous day against the stack with everything checked: `make
// verify-audit` gives the verifier the writers' local groups itself when LOGS_ENDPOINT is set, so
// the writers' lines are read (the summary counts them) and nothing is reported as not checked.
func TestTheBannersVerifyCommandReadsTheWritersLines(t *testing.T) {
	yesterday := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	// The default groups, as under make dev: the ones make verify-audit names.
	st := startStack(t, devstack.Options{DisableSchedules: true, ChainSince: yesterday, LogGroupPrefix: devstack.DefaultLogGroupPrefix})
	if st.Options.LogsEndpoint == "" {
		t.Fatal("S3_ENDPOINT is set without LOGS_ENDPOINT: scripts/with-services.sh sets both")
	}
	banner := st.Banner(time.Now())
	_, cmd, ok := strings.Cut(banner, "# verify that day's audit trail")
	if !ok {
		t.Fatalf("the banner shows no verify-audit command:\n%s", banner)
	}
	_, cmd, _ = strings.Cut(cmd, "\n")
	cmd, _, _ = strings.Cut(cmd, "\n\n")
	if !strings.Contains(cmd, "LOGS_ENDPOINT="+st.Options.LogsEndpoint) || !strings.Contains(cmd, "make verify-audit DATE="+yesterday.Format("2006-01-02")) {
		t.Fatalf("the verify command does not name the Logs endpoint and the day:\n%s", cmd)
	}
	c := exec.Command("bash", "-c", cmd)
	c.Dir = st.Options.Dir
	c.Env = append(os.Environ(), "AUDIT_WRITER_LOG_GROUPS=") // what a user's shell has: not set
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		t.Fatalf("%s\nfailed: %v\n%s%s", cmd, err, stdout.Bytes(), stderr.Bytes())
	}
	if !strings.Contains(stdout.String(), "stored lines") || !strings.Contains(stdout.String(), ": intact") {
		t.Errorf("the summary does not count the writers' stored lines, or is not intact:\n%s", stdout.Bytes())
	}
	if strings.Contains(stderr.String(), "NOT checking") {
		t.Errorf("the verifier left something unchecked:\n%s", stderr.Bytes())
	}
}
