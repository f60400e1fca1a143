package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/local/apigateway"
	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
	"github.com/wcbridge/wcbridge/shared/local/eventbus"
	"github.com/wcbridge/wcbridge/shared/local/rules"
)

// Stack is the running local stack. Close stops everything Start started.
type Stack struct {
	*Backends

	// Template is template.yaml as the stack serves it.
	Template *samtemplate.Template
	// Functions runs the template's functions in process (Invoke them directly in tests).
	Functions *apigateway.Functions
	// Rules evaluates the template's EventBridge rules (the workflows a parameter turned on) against
	// every event on the bus, delivering to their functions and in-memory queues.
	Rules *rules.Engine

	// APIURL is the REST API (and the /_local routes); LambdaURL is Lambda's Invoke API.
	APIURL, LambdaURL string
	// WebhookURL is the ingest route with the first webhook token: where the simulator's webhooks go,
	// and what a user pastes into WhatConverts' settings.
	WebhookURL string
	// Schedules are the template's schedules, and whether the stack runs them.
	Schedules []Schedule

	servers []*http.Server
	detach  func() // the rule engine from the bus
	stop    context.CancelFunc
	wg      sync.WaitGroup
	closed  sync.Once
}

// Start starts the whole stack (see the package comment). ctx bounds the start only; the stack runs
// until Close.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	return start(ctx, opts, registry)
}

func start(ctx context.Context, opts Options, reg map[string]builder) (*Stack, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	tmpl, err := LoadTemplate(opts.Dir, opts.ParameterOverrides)
	if err != nil {
		return nil, err
	}
	// The wiring is checked before anything starts: every template function needs its builder.
	if err := checkRegistry(tmpl, reg); err != nil {
		return nil, err
	}
	// The fixed ports next, so that a port in use fails at once and creates nothing.
	apiLn, err := listen(opts.APIPort)
	if err != nil {
		return nil, err
	}
	lambdaLn, err := listen(opts.LambdaPort)
	if err != nil {
		apiLn.Close()
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			apiLn.Close()
			lambdaLn.Close()
		}
	}()
	b, err := StartBackends(ctx, opts)
	if err != nil {
		return nil, err
	}
	s := &Stack{Backends: b, Template: tmpl}
	b.LambdaEndpoint = "http://" + lambdaLn.Addr().String()
	defer func() {
		if !ok {
			_ = s.Close(context.Background())
		}
	}()

	handlers := map[string]lambda.Handler{}
	for _, fn := range tmpl.Functions {
		cfg, err := config.FromMap(b.Env(fn))
		if err != nil {
			return nil, fmt.Errorf("devstack: %s: %w", fn.LogicalID, err)
		}
		log, err := b.functionLogger(ctx, fn.LogicalID)
		if err != nil {
			return nil, err
		}
		h, err := reg[fn.LogicalID](ctx, cfg, log)
		if err != nil {
			return nil, fmt.Errorf("devstack: %s: %w", fn.LogicalID, err)
		}
		handlers[fn.LogicalID] = h
	}
	s.Functions, err = apigateway.NewFunctions(tmpl, handlers, apigateway.FunctionsOptions{Logger: b.Options.Logger})
	if err != nil {
		return nil, err
	}
	s.Rules, err = rules.New(tmpl, s.Functions, rules.Options{Logger: b.Options.Logger})
	if err != nil {
		return nil, err
	}
	s.detach = s.Rules.Attach(b.Bus)
	gw, err := apigateway.NewGateway(s.Functions, apigateway.GatewayOptions{
		Principals: append([]apigateway.Principal{apigateway.LocalPrincipal(b.Options.AccessKeyID, b.Options.SecretAccessKey)},
			b.Options.Callers...),
		Stage:  stageOf(tmpl),
		Logger: b.Options.Logger,
	})
	if err != nil {
		return nil, err
	}

	apiSrv, apiURL := serve(apiLn, s.apiHandler(gw))
	lambdaSrv, lambdaURL := serve(lambdaLn, apigateway.NewInvokeAPI(s.Functions))
	s.servers = append(s.servers, apiSrv, lambdaSrv)
	s.APIURL, s.LambdaURL = apiURL, lambdaURL
	s.WebhookURL = apiURL + ingestPath + "?token=" + url.QueryEscape(b.Options.WebhookTokens[0])
	if b.Sim != nil {
		b.Sim.SetWebhookURL(s.WebhookURL)
	}

	s.Schedules, err = schedulesOf(tmpl, b.Options)
	if err != nil {
		return nil, err
	}
	var runCtx context.Context
	runCtx, s.stop = context.WithCancel(context.Background())
	for _, sc := range s.Schedules {
		if sc.Every > 0 {
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.run(runCtx, sc) }()
		}
	}
	ok = true
	return s, nil
}

// ingestPath is the webhook route of template.yaml.
const ingestPath = "/webhooks/whatconverts"

// checkRegistry refuses a template function without a builder, and a builder without a function.
func checkRegistry(tmpl *samtemplate.Template, reg map[string]builder) error {
	var missing, unknown []string
	for _, fn := range tmpl.Functions {
		if reg[fn.LogicalID] == nil {
			missing = append(missing, fn.LogicalID)
		}
	}
	for id := range reg {
		if _, ok := tmpl.Function(id); !ok {
			unknown = append(unknown, id)
		}
	}
	sort.Strings(unknown)
	switch {
	case len(missing) > 0:
		return fmt.Errorf("devstack: no handler for %s: add its builder to shared/local/devstack/registry.go", strings.Join(missing, ", "))
	case len(unknown) > 0:
		return fmt.Errorf("devstack: registry.go has functions template.yaml does not: %s", strings.Join(unknown, ", "))
	}
	return nil
}

// stageOf is the stage of the template's one REST API, as the events of a deployed one carry it.
func stageOf(tmpl *samtemplate.Template) string {
	if len(tmpl.APIs) == 1 {
		for _, api := range tmpl.APIs {
			return api.StageName
		}
	}
	return ""
}

// apiHandler serves the local-only routes under /_local/ and everything else as API Gateway.
func (s *Stack) apiHandler(gw http.Handler) http.Handler {
	local := http.NewServeMux()
	local.Handle(eventbus.LocalPath, s.Bus.LocalHandler())
	local.Handle(eventbus.LocalPath+"/", s.Bus.LocalHandler())
	local.Handle(rules.QueuesPath, s.Rules.QueuesHandler())
	local.Handle(rules.QueuesPath+"/", s.Rules.QueuesHandler())
	local.HandleFunc("POST "+LocalSimulatorPath+"/leads/{lead_id}/webhook", s.fireWebhook)
	local.HandleFunc("GET "+LocalSimulatorPath+"/profiles/{profile_id}/leads", s.listLeads)
	local.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "no such local route", "routes": LocalRoutes})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_local" || strings.HasPrefix(r.URL.Path, "/_local/") {
			local.ServeHTTP(w, r)
			return
		}
		gw.ServeHTTP(w, r)
	})
}

// LocalSimulatorPath is where the simulator's local controls live on the API port.
const LocalSimulatorPath = "/_local/whatconverts"

// LocalRoutes are the local-only routes of the API port (none exists in AWS).
var LocalRoutes = []string{
	"GET    /_local/bus                                   the events published so far",
	"DELETE /_local/bus                                   forget them",
	"PUT    /_local/bus/faults                            make the bus fail: {\"fail_requests\": n, \"fail_all_requests\": bool, \"fail_entries\": n}",
	"GET    /_local/queues[/{name}]                       the template's SQS queues, filled by its rules (DELETE to empty one)",
	"GET    /_local/whatconverts/profiles/{id}/leads      the simulator's lead IDs of a profile, newest first",
	"POST   /_local/whatconverts/leads/{id}/webhook?trigger=new|update   make the simulator send that lead's webhook now",
}

// fireWebhook makes the simulator deliver a lead's webhook to the ingest route now and answers with
// the ingest function's status (no payload: it is a lead).
func (s *Stack) fireWebhook(w http.ResponseWriter, r *http.Request) {
	if s.Sim == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "the WhatConverts simulator is not running (WHATCONVERTS_BASE_URL is set)"})
		return
	}
	id, err := strconv.ParseInt(r.PathValue("lead_id"), 10, 64)
	if err != nil || id <= 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "lead_id must be a positive integer"})
		return
	}
	trigger := r.URL.Query().Get("trigger")
	if trigger == "" {
		trigger = "update"
	}
	if trigger != "new" && trigger != "update" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "trigger must be new or update"})
		return
	}
	if _, ok := s.Sim.Lead(id); !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "the simulator has no such lead"})
		return
	}
	err = s.Sim.FireWebhook(id, trigger)
	status := 0
	if d := s.Sim.Webhooks(); len(d) > 0 {
		status = d[len(d)-1].Status
	}
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]any{"lead_id": id, "trigger": trigger, "delivered": false, "ingest_status": status})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"lead_id": id, "trigger": trigger, "delivered": true, "ingest_status": status})
}

// listLeads lists a simulator profile's lead IDs, newest first, so a user can pick one.
func (s *Stack) listLeads(w http.ResponseWriter, r *http.Request) {
	if s.Sim == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "the WhatConverts simulator is not running (WHATCONVERTS_BASE_URL is set)"})
		return
	}
	id, err := strconv.ParseInt(r.PathValue("profile_id"), 10, 64)
	if err != nil || id <= 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "profile_id must be a positive integer"})
		return
	}
	ids := s.Sim.LeadIDs(id)
	if ids == nil {
		ids = []int64{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"profile_id": id, "lead_ids": ids})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// Close stops the schedules, shuts the HTTP servers down gracefully (requests in flight finish, as
// far as ctx allows), waits for Event invocations and rule deliveries, then stops the backends. It is
// safe to call twice.
func (s *Stack) Close(ctx context.Context) error {
	var errs []error
	s.closed.Do(func() {
		if s.stop != nil {
			s.stop()
		}
		s.wg.Wait()
		for _, srv := range s.servers {
			if err := srv.Shutdown(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		if s.detach != nil {
			s.detach()
		}
		if s.Functions != nil {
			done := make(chan struct{})
			go func() {
				if s.Rules != nil {
					s.Rules.Wait()
				}
				s.Functions.Wait()
				close(done)
			}()
			select {
			case <-done:
			case <-ctx.Done():
				errs = append(errs, fmt.Errorf("devstack: Event invocations still running: %w", ctx.Err()))
			}
		}
		if err := s.Backends.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

// EventBus is the bus the functions publish to (their EVENT_BUS_NAME).
func (s *Stack) EventBus() string {
	for _, fn := range s.Template.Functions {
		if _, ok := fn.Environment[config.EnvEventBus]; ok {
			return s.Env(fn)[config.EnvEventBus]
		}
	}
	return eventbus.DefaultBusName
}
