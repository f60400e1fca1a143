package apigateway

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
)

func TestRoutesMatchAsAPIGatewayDoes(t *testing.T) {
	tmpl, err := samtemplate.Load("testdata/template.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	routes, err := newRouteTable(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path   string
		wantFunction, wantRe string
		wantParams           map[string]string
	}{
		{"a literal path", "GET", "/leads", "LeadsFunction", "/leads", nil},
		{"a trailing slash is ignored", "GET", "/leads/", "LeadsFunction", "/leads", nil},
		{"another method of the same path", "POST", "/leads", "LeadsFunction", "/leads", nil},
		{"a path parameter", "GET", "/leads/42", "LeadsFunction", "/leads/{lead_id}", map[string]string{"lead_id": "42"}},
		{"a path parameter, decoded", "PATCH", "/leads/a%20b", "LeadsFunction", "/leads/{lead_id}", map[string]string{"lead_id": "a b"}},
		{"a parameter mid-path", "GET", "/triggers/new-lead/samples", "LeadsFunction", "/triggers/{trigger}/samples", map[string]string{"trigger": "new-lead"}},
		{"greedy proxy takes the rest of the path", "DELETE", "/files/a/b/c.txt", "FilesFunction", "/files/{proxy+}", map[string]string{"proxy": "a/b/c.txt"}},
		{"greedy proxy with one segment", "GET", "/files/x", "FilesFunction", "/files/{proxy+}", map[string]string{"proxy": "x"}},
		{"a literal resource beats a greedy one", "GET", "/files/readme", "FilesFunction", "/files/readme", nil},
		{"a NONE route", "POST", "/webhooks/whatconverts", "WebhookFunction", "/webhooks/whatconverts", nil},

		{"an undefined path", "GET", "/nope", "", "", nil},
		{"the root, undefined", "GET", "/", "", "", nil},
		{"a method the resource does not have", "DELETE", "/leads/42", "", "", nil},
		{"a deeper path than any resource", "GET", "/leads/42/notes", "", "", nil},
		{"greedy proxy needs at least one segment", "GET", "/files", "", "", nil},
		// API Gateway picks the resource first, then its method: the more specific /files/readme
		// has no POST, and the greedy resource's ANY does not take over.
		{"the most specific resource without the method", "POST", "/files/readme", "", "", nil},
		{"methods are case-sensitive", "get", "/leads", "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt, params, ok := routes.match(tc.method, tc.path)
			if tc.wantFunction == "" {
				if ok {
					t.Fatalf("matched %s %s, want no route", rt.fn.LogicalID, rt.resource.path)
				}
				return
			}
			if !ok {
				t.Fatal("no route, want one")
			}
			if rt.fn.LogicalID != tc.wantFunction || rt.resource.path != tc.wantRe {
				t.Errorf("matched %s %s, want %s %s", rt.fn.LogicalID, rt.resource.path, tc.wantFunction, tc.wantRe)
			}
			if !reflect.DeepEqual(params, tc.wantParams) {
				t.Errorf("params = %v, want %v", params, tc.wantParams)
			}
		})
	}
}

func TestUndefinedRoutesAnswerMissingAuthenticationToken(t *testing.T) {
	s := newStack(t, nil, GatewayOptions{Now: func() time.Time { return testNow }})
	tests := []struct {
		name, method, path string
		signed             bool
	}{
		{"an undefined path", http.MethodGet, "/nope", false},
		{"an undefined path, even signed", http.MethodGet, "/nope", true},
		{"an undefined method of a defined path", http.MethodDelete, "/leads/42", true},
		{"an undefined method of a NONE route", http.MethodGet, "/webhooks/whatconverts", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://127.0.0.1:3000"+tc.path, nil)
			if tc.signed {
				sign(t, req, nil, testCreds, testNow)
			}
			w := httptest.NewRecorder()
			s.gw.ServeHTTP(w, req)
			assertAPIGatewayError(t, w, http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
		})
	}
	for id, rec := range s.recorders {
		if n := rec.count(); n != 0 {
			t.Errorf("%s was invoked %d times, want never", id, n)
		}
	}
}

func TestANoneRouteIsReachableUnsignedAndAnIAMRouteIsNot(t *testing.T) {
	s := newStack(t, nil, GatewayOptions{})

	w := httptest.NewRecorder()
	s.gw.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "http://127.0.0.1:3000/webhooks/whatconverts?token=t", strings.NewReader(`{}`)))
	if w.Code != http.StatusOK || w.Body.String() != `{"ok":true}` {
		t.Errorf("NONE route: %d %s, want 200 and the function's body", w.Code, w.Body)
	}

	w = httptest.NewRecorder()
	s.gw.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:3000/leads?profile_id=1001", nil))
	assertAPIGatewayError(t, w, http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
	if n := s.recorders["LeadsFunction"].count(); n != 0 {
		t.Errorf("LeadsFunction invoked %d times for an unsigned request, want never", n)
	}
}

func TestTemplatesTheGatewayCannotServeAreRefused(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"a Cognito authorizer", `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        E: {Type: Api, Properties: {Path: /x, Method: get, Auth: {Authorizer: MyCognito}}}`, `authorizer "MyCognito" is not supported`},
		{"two functions on one route", `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        E: {Type: Api, Properties: {Path: "/x/{id}", Method: get}}
  G:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        E: {Type: Api, Properties: {Path: "/x/{other}", Method: GET}}`, "GET /x/{other} is both F's and G's"},
		{"a greedy parameter mid-path", `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        E: {Type: Api, Properties: {Path: "/x/{p+}/y", Method: get}}`, "must be the last segment"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := samtemplate.Parse([]byte(tc.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = newRouteTable(tmpl)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
