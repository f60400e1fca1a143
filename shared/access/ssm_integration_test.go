package access

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/wcbridge/wcbridge/shared/config"
)

// motoSSM starts moto's server (the machine image's python3 tools) on a free loopback port and
// returns its endpoint. It skips without moto_server, and fails under CI=true, where it must be.
func motoSSM(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("moto_server is not installed")
		}
		t.Skip("moto_server is not installed (pip install 'moto[server]')")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return endpoint
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The deployed path against a real SSM API (moto): Build reads the policy and the API ID from
// their parameters as the template names them, the parameter's version is in the policy version,
// a new version is in force after the refresh, and a broken version is never used.
func TestParameterStoreThroughTheSSMAPI(t *testing.T) {
	endpoint := motoSSM(t)
	cfg, err := config.FromMap(map[string]string{
		"AWS_REGION":                    "us-east-1",
		config.EnvSSMEndpoint:           endpoint,
		config.EnvDynamoDBEndpoint:      endpoint, // marks the configuration local: static credentials
		config.EnvAccessPolicyParameter: "/wcbridge/access-policy",
		config.EnvAPIIDParameter:        "/wcbridge/api-id",
		config.EnvAccountID:             "123456789012",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	awsCfg, err := cfg.AWS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := ssm.NewFromConfig(awsCfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(endpoint) })
	put := func(name, value string) {
		t.Helper()
		_, err := client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value),
			Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("/wcbridge/api-id", "a1b2c3d4e5")
	put("/wcbridge/access-policy", string(must(os.ReadFile("cedar/examples/integration-read-1001.cedar"))))

	authz, origin, err := Build(ctx, cfg, awsCfg, discard())
	if err != nil {
		t.Fatal(err)
	}
	if origin.APIID != "a1b2c3d4e5" || origin.AccountID != "123456789012" {
		t.Fatalf("origin %+v", origin)
	}
	clk := &clock{t: time.Now()}
	authz.now = clk.now // the refresh, without waiting a minute
	ok, v1, err := authz.Authorize(ctx, crmSession, ActionGetLeads, 1001)
	if err != nil || !ok || !strings.HasPrefix(v1, "ssm:1@sha256:") {
		t.Fatalf("Authorize = %v %q %v", ok, v1, err)
	}

	put("/wcbridge/access-policy", string(must(os.ReadFile("cedar/examples/operator.cedar"))))
	clk.add(DefaultRefresh + time.Second)
	if ok, v, _ := authz.Authorize(ctx, operator, ActionReplay, 1002); !ok || !strings.HasPrefix(v, "ssm:2@") {
		t.Fatalf("version 2 is not in force: %v %q", ok, v)
	}
	put("/wcbridge/access-policy", `permit (principal, action, resource); permit (`)
	clk.add(DefaultRefresh + time.Second)
	if ok, v, _ := authz.Authorize(ctx, crmRole, ActionCreateLead, 1001); ok || !strings.HasPrefix(v, "ssm:2@") {
		t.Fatalf("a broken version 3 was used: %v %q", ok, v)
	}
}
