package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/envelope"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/table"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// program builds the verifier once per test run, as `go run` would.
func program(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "verify-audit-test")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "verify-audit")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return binary
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

// execute runs the verifier with only the given environment (plus PATH and local credentials).
func execute(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(program(t), args...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_EC2_METADATA_DISABLED=true",
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

func TestUsageErrors(t *testing.T) {
	full := map[string]string{"AUDIT_TABLE_NAME": "t", "AWS_REGION": "us-east-1"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		says string
	}{
		{"no arguments", full, nil, "-from (or -date) is required"},
		{"an unknown flag", full, []string{"-day", "2025-03-14"}, "flag provided but not defined"},
		{"a stray argument", full, []string{"-date", "2025-03-14", "extra"}, `unexpected argument "extra"`},
		{"date and range", full, []string{"-date", "2025-03-14", "-from", "2025-03-13"}, "exclude each other"},
		{"no environment", nil, []string{"-date", "2025-03-14"}, "AUDIT_TABLE_NAME, AWS_REGION not set"},
		{"no public key", full, []string{"-date", "2025-03-14"}, "-public-key (or SIGNING_KEY_ID) is required"},
		{"a malformed day", full, []string{"-date", "14/03/2025", "-public-key", "x"}, "days must be YYYY-MM-DD"},
		{"a range backwards", full, []string{"-from", "2025-03-14", "-to", "2025-03-13", "-public-key", "x"}, "-to is before -from"},
		{"legacy without its key", full, []string{"-legacy-date", "2025-03-14"}, "-legacy-date needs DIGEST_KEY_ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := execute(t, tc.env, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(stderr, tc.says) || !strings.Contains(stderr, "usage: verify-audit") {
				t.Errorf("stderr does not say %q and the usage:\n%s", tc.says, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout: %q", stdout)
			}
		})
	}
}

// A legacy daily digest (MACed with the HMAC key) still verifies.
func TestVerifiesALegacyDay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db := testenv.DynamoDB(t)
	tbl := testenv.Table(t, db)
	k := testenv.KMS(t)
	keyID := testenv.HMACKey(t, k)
	start := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	store := audit.New(audit.Config{DB: db, Table: tbl,
		Tagger: envelope.NewTagger(k, testenv.SymmetricKey(t, k), envelope.Options{}),
		Now:    func() time.Time { return start.AddDate(0, 0, 2) }})
	var (
		ids    []string
		leaves [][]byte
		lines  strings.Builder
	)
	for i := range 5 {
		r, err := store.Append(ctx, action(start.Add(time.Duration(i)*time.Hour), i), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
		h, _ := hex.DecodeString(strings.TrimPrefix(r.Hash, "sha256:"))
		leaf := sha256.Sum256(append(append(append([]byte{0}, r.ID...), 0), h...))
		leaves = append(leaves, leaf[:])
		lines.WriteString(r.ID + " " + hex.EncodeToString(h) + "\n")
	}
	// The day's digest as the daily report wrote them before the hourly chain (docs/audit.md):
	// nothing builds them any more, so the test writes one from the format's definition.
	d := audit.Digest{Day: "2025-03-14", Records: 5, Root: "sha256:" + hex.EncodeToString(testenv.MTH(leaves))}
	mac, err := k.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: aws.String(keyID), MacAlgorithm: kmstypes.MacAlgorithmSpecHmacSha256, Message: d.Statement()})
	if err != nil {
		t.Fatal(err)
	}
	lpk, lsk := table.DigestLeavesKey(d.Day, 0)
	dpk, dsk := table.DigestKey(d.Day)
	for _, item := range []map[string]types.AttributeValue{
		{"pk": sAttr(lpk), "sk": sAttr(lsk), "first": &types.AttributeValueMemberN{Value: "0"}, "leaves": sAttr(lines.String())},
		{"pk": sAttr(dpk), "sk": sAttr(dsk), "records": &types.AttributeValueMemberN{Value: "5"}, "root": sAttr(d.Root),
			"mac": &types.AttributeValueMemberB{Value: mac.Mac}, "mac_key_id": sAttr(keyID), "leaf_chunks": &types.AttributeValueMemberN{Value: "1"}},
	} {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tbl), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{
		"AUDIT_TABLE_NAME": tbl, "DIGEST_KEY_ID": keyID, "AWS_REGION": testenv.Region,
		"DYNAMODB_ENDPOINT": os.Getenv("DYNAMODB_ENDPOINT"), "KMS_ENDPOINT": os.Getenv("KMS_ENDPOINT"),
	}
	if code, stdout, stderr := execute(t, env, "-legacy-date", "2025-03-14"); code != 0 || !strings.HasSuffix(stdout, ": intact\n") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	// A DynamoDB whose answers to the day's queries end short of their Content-Length after the JSON (a connection
	// cut, a proxy): the SDK's clients warn that the rest of the body could not be discarded. That is
	// not a finding: stdout holds findings and the summary only, and the SDK's logger says nothing.
	t.Run("the SDK's connection warnings stay out of the output", func(t *testing.T) {
		cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			in, _ := io.ReadAll(r.Body)
			req, _ := http.NewRequest(r.Method, os.Getenv("DYNAMODB_ENDPOINT")+r.URL.Path, bytes.NewReader(in))
			req.Header = r.Header.Clone()
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			for k, vs := range resp.Header {
				if k != "Content-Length" {
					w.Header()[k] = vs
				}
			}
			// Only the day's empty shards: a cut answer with items fails to decode (an error, not a
			// warning); an empty one decodes, and its drain fails.
			cut := bytes.Contains(in, []byte(`"IndexName":"`+table.IndexByDay+`"`)) && bytes.Contains(body, []byte(`"Count":0`))
			if cut {
				w.Header().Set("Content-Length", strconv.Itoa(len(body)+16)) // 16 bytes that never come
			}
			w.WriteHeader(resp.StatusCode)
			_, _ = w.Write(body)
			if cut {
				// The whole answer is there before the connection drops: it decodes, and only
				// draining the rest fails.
				w.(http.Flusher).Flush()
				time.Sleep(50 * time.Millisecond)
			}
		}))
		defer cut.Close()
		viaCut := maps.Clone(env)
		viaCut["DYNAMODB_ENDPOINT"] = cut.URL
		code, stdout, stderr := execute(t, viaCut, "-legacy-date", "2025-03-14")
		// A cut answer with items may also fail to decode: then the day is not verified (exit 2, the
		// error on stderr, nothing on stdout). Either way no SDK warning is printed.
		switch {
		case code == 0 && strings.Count(stdout, "\n") == 1 && strings.HasSuffix(stdout, ": intact\n"):
		case code == 2 && stdout == "" && strings.Contains(stderr, "deserialization failed"):
		default:
			t.Errorf("exit %d\nstdout: %q\nstderr: %s", code, stdout, stderr)
		}
		if strings.Contains(stdout+stderr, "failed to discard") || strings.Contains(stdout+stderr, "WARN") {
			t.Errorf("the SDK's warning is in the output:\nstdout: %s\nstderr: %s", stdout, stderr)
		}
	})
	deleteItem(t, db, tbl, recordKey(ids[2]))
	code, stdout, _ := execute(t, env, "-legacy-date", "2025-03-14")
	if code != 1 || !strings.HasPrefix(stdout, "deleted "+ids[2]+" ") {
		t.Fatalf("exit %d, stdout:\n%s", code, stdout)
	}
}

func sAttr(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func action(at time.Time, i int) audit.Record {
	return audit.Record{
		Kind: audit.KindAction, Actor: "arn:aws:iam::123456789012:role/crm-sync", Action: "get-lead",
		ProfileID: 1001, LeadIDs: []int64{int64(i)}, Outcome: audit.OutcomeOK, Status: 200, ReceivedAt: at,
	}
}
