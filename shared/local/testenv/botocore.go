package testenv

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"testing"
)

// botocoreSigner signs one request with botocore's SigV4Auth, as the AWS CLI and boto3 do, and prints
// the URL botocore sends and the headers it set.
const botocoreSigner = `
import json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
r = json.load(sys.stdin)
params = [tuple(p) for p in r["params"]] if r["params"] else None
req = AWSRequest(method=r["method"], url=r["url"], params=params, data=r["body"].encode())
SigV4Auth(Credentials(r["key_id"], r["secret"]), r["service"], r["region"]).add_auth(req)
p = req.prepare()
json.dump({"url": p.url, "headers": dict(p.headers)}, sys.stdout)
`

// BotocoreSigned returns a request signed by botocore (the AWS CLI's and boto3's signer), run in the
// image's python3, for execute-api in Region. With params nil the query of rawURL is signed as
// botocore signs a URL's query (as written, sorted); params (name, value pairs, repeatable) are
// encoded by botocore as an SDK call's parameters are. Without python3 or botocore the test is
// skipped with the reason, and fails under CI=true.
func BotocoreSigned(t testing.TB, method, rawURL string, params [][2]string, body []byte, keyID, secret string) *http.Request {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(python, "-c", "import botocore").Run()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 with botocore is required under CI=true: %v", err)
		}
		t.Skipf("python3 with botocore is not available: %v", err)
	}
	in, _ := json.Marshal(map[string]any{"method": method, "url": rawURL, "params": params, "body": string(body),
		"key_id": keyID, "secret": secret, "service": "execute-api", "region": Region})
	cmd := exec.Command(python, "-c", botocoreSigner)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("botocore signer: %v: %s", err, stderr.String())
	}
	var signed struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(out, &signed); err != nil {
		t.Fatalf("botocore signer output %q: %v", out, err)
	}
	req, err := http.NewRequest(method, signed.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("botocore's URL %q: %v", signed.URL, err)
	}
	for k, v := range signed.Headers {
		req.Header.Set(k, v)
	}
	return req
}
