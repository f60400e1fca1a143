package testenv

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"testing"
)

// botocoreSigner signs requests with botocore's SigV4Auth, as the AWS CLI and boto3 do, and prints
// for each the URL botocore sends and the headers it set.
const botocoreSigner = `
import json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
out = []
for r in json.load(sys.stdin):
    params = [tuple(p) for p in r["params"]] if r["params"] else None
    req = AWSRequest(method=r["method"], url=r["url"], params=params, data=r["body"].encode())
    SigV4Auth(Credentials(r["key_id"], r["secret"]), "execute-api", r["region"]).add_auth(req)
    p = req.prepare()
    out.append({"url": p.url, "headers": dict(p.headers)})
json.dump(out, sys.stdout)
`

// BotocoreRequest is a request for BotocoreSigned to sign. With Params nil the query of URL is signed
// as botocore signs a URL's query (as written, sorted); Params (name, value pairs, repeatable) are
// encoded by botocore as an SDK call's parameters are.
type BotocoreRequest struct {
	Method string
	URL    string
	Params [][2]string
	Body   []byte
}

// BotocoreSigned returns the requests signed by botocore (the AWS CLI's and boto3's signer) for
// execute-api in Region with the given key, all in one run of the image's python3. Without python3
// or botocore the test is skipped with the reason, and fails under CI=true.
func BotocoreSigned(t testing.TB, keyID, secret string, reqs ...BotocoreRequest) []*http.Request {
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
	in := make([]map[string]any, len(reqs))
	for i, r := range reqs {
		in[i] = map[string]any{"method": r.Method, "url": r.URL, "params": r.Params, "body": string(r.Body),
			"key_id": keyID, "secret": secret, "region": Region}
	}
	b, _ := json.Marshal(in)
	cmd := exec.Command(python, "-c", botocoreSigner)
	cmd.Stdin = bytes.NewReader(b)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("botocore signer: %v: %s", err, stderr.String())
	}
	var signed []struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(out, &signed); err != nil || len(signed) != len(reqs) {
		t.Fatalf("botocore signer output %q: %v", out, err)
	}
	signedReqs := make([]*http.Request, len(reqs))
	for i, s := range signed {
		req, err := http.NewRequest(reqs[i].Method, s.URL, bytes.NewReader(reqs[i].Body))
		if err != nil {
			t.Fatalf("botocore's URL %q: %v", s.URL, err)
		}
		for k, v := range s.Headers {
			req.Header.Set(k, v)
		}
		signedReqs[i] = req
	}
	return signedReqs
}
