package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxBinary is the size limit of a stripped arm64 bootstrap (docs/performance.md, P4): 12 MB.
const maxBinary = 12_000_000

// buildFlags are the Makefile's GO_BUILD flags: every shipped binary, and the baseline, built alike.
var buildFlags = []string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w -buildid="}

// lambdaFunction is one function's bootstrap: built for the host (the emulator runs the machine's
// own architecture) and for arm64 (what ships, whose size is the figure).
type lambdaFunction struct {
	name       string          // folder under functions/, "hello", or "hello-clients[<services>]"
	services   []string        // the AWS SDK service clients it links (a function's; a clients baseline's)
	clients    *lambdaFunction // a function's second baseline: hello building the same clients
	host, arm  string          // the two bootstraps
	env        []string        // its process environment: what template.yaml gives it, made local
	event      []byte          // the first request
	eventName  string
	runs       []startup
	failures   int
	lastOutput string
}

func (f *lambdaFunction) medians() (first, init, warm float64) {
	var a, b, c []float64
	for _, r := range f.runs {
		a, b, c = append(a, float64(r.first)), append(b, float64(r.init)), append(c, float64(r.warm))
	}
	return median(a), median(b), median(c)
}

// measureP4 builds every function as shipped, and the aws-lambda-go hello world of scripts/bench/hello
// the same way, then times start to first response of each under aws-lambda-rie: the emulator is
// started and listening, the clock starts with the first invoke (which starts the bootstrap: process
// start, runtime init, configuration, clients, the handler's first answer) and stops when the answer
// is read. b.rounds rounds, each running every function once in a rotated order; medians compared.
//
// Each function gets the environment the in-process stack gives it (devstack: template.yaml's
// variables made local: table on dynalite, keys on local-kms, the bus and the WhatConverts simulator
// on loopback, local secrets). Besides the figure, the details split it: the
// init phase as the emulator reports it (process start to the runtime's first request for work, what
// Lambda reports as Init Duration), and a second, warm answer to the same request (its own work).
func measureP4(ctx context.Context, b *bench) (result, error) {
	rie := os.Getenv("WCBRIDGE_RIE")
	if rie == "" {
		return result{}, errors.New("WCBRIDGE_RIE is not set: run under scripts/with-services.sh (make bench)")
	}
	if _, err := os.Stat(rie); err != nil {
		return result{}, fmt.Errorf("the Lambda runtime interface emulator is missing (%s): scripts/tools.sh all installs it", rie)
	}
	fns, err := b.buildFunctions(ctx)
	if err != nil {
		return result{}, err
	}
	envs, err := newFunctionEnvs(ctx, b)
	if err != nil {
		return result{}, err
	}
	defer envs.close()
	for _, f := range fns {
		if strings.HasPrefix(f.name, "hello-clients") {
			continue // given the environment of the first function it stands beside, below
		}
		if f.env, err = envs.env(f.name); err != nil {
			return result{}, err
		}
		if f.clients != nil && f.clients.env == nil {
			f.clients.env = f.env
		}
	}

	hello := fns[0]
	for r := range b.rounds {
		b.progress("  P4 round %d/%d: %d cold starts", r+1, b.rounds, len(fns))
		order := slices.Clone(fns)
		k := r % len(order) // rotate, so no function always runs first or after the same one
		order = append(order[k:], order[:k]...)
		for _, f := range order {
			if err := ctx.Err(); err != nil {
				return result{}, err
			}
			s, out, err := coldStart(ctx, rie, f.host, f.env, f.event)
			if err != nil {
				f.failures++
				f.lastOutput = err.Error() + "\n" + out
				continue
			}
			f.runs = append(f.runs, s)
		}
	}
	if len(hello.runs) == 0 {
		return result{}, fmt.Errorf("the hello world never answered under aws-lambda-rie\n%s", hello.lastOutput)
	}
	baseFirst, baseInit, _ := hello.medians()

	var details []string
	details = append(details, fmt.Sprintf("aws-lambda-rie, linux/%s bootstraps built with CGO_ENABLED=0 %s; %d rounds in rotated order, medians",
		runtime.GOARCH, strings.Join(buildFlags[1:], " "), b.rounds))
	details = append(details, "first = start to first response (the figure); init = the emulator's INIT REPORT (process start to the runtime's first /next);")
	details = append(details, "pkg init = package initialisation before main (GODEBUG=inittrace=1); warm = a second answer to the same request")
	details = append(details, "(the request's own work: for most, the audit write of a refusal); hello-clients[...] = hello building the AWS clients")
	details = append(details, "a function links (the SDK's own cost: configuration chain, clients), the second baseline; vs clients = first over it")
	details = append(details, fmt.Sprintf("%-34s %10s %7s %10s %7s %10s %10s %10s %9s  %s", "function", "first", "ratio", "vs clients", "init", "ratio",
		"pkg init", "warm", "arm64", "first request"))
	worstName, worst, worstInit, worstClients, worstClientsName := "", 0.0, 0.0, 0.0, ""
	worstInitClients, worstInitClientsName := 0.0, ""
	bigName, big := "", int64(0)
	var overLimit []string // every function over the size limit, named with its size
	allOK := true
	for _, f := range fns {
		size := fileSize(f.arm)
		if !strings.HasPrefix(f.name, "hello") {
			if size > big {
				bigName, big = f.name, size
			}
			if size > maxBinary {
				overLimit = append(overLimit, f.name+" "+fmtMB(size))
			}
		}
		if len(f.runs) == 0 {
			allOK = false
			details = append(details, fmt.Sprintf("%-34s never answered: %s", f.name, firstLine(f.lastOutput)))
			for _, l := range strings.Split(tail([]byte(f.lastOutput), 12), "\n") {
				details = append(details, "    "+l)
			}
			continue
		}
		first, init, warm := f.medians()
		vsClients := "-"
		if !strings.HasPrefix(f.name, "hello") {
			if first/baseFirst > worst {
				worstName, worst = f.name, first/baseFirst
			}
			worstInit = max(worstInit, init/baseInit)
			if c := f.clients; c != nil && len(c.runs) > 0 {
				cFirst, cInit, _ := c.medians()
				vsClients = fmt.Sprintf("%.2fx", first/cFirst)
				if init/cInit > worstInitClients {
					worstInitClientsName, worstInitClients = f.name, init/cInit
				}
				if first/cFirst > worstClients {
					worstClientsName, worstClients = f.name, first/cFirst
				}
			} else {
				allOK = false
			}
		}
		note := f.eventName
		if f.failures > 0 {
			note += fmt.Sprintf(" (%d of %d runs failed: %s)", f.failures, b.rounds, firstLine(f.lastOutput))
		}
		details = append(details, fmt.Sprintf("%-34s %10s %6.2fx %10s %10s %6.2fx %10s %10s %9s  %s", f.name, fmtNanos(first), first/baseFirst,
			vsClients, fmtNanos(init), init/baseInit, fmtNanos(packageInit(ctx, f.host)), fmtNanos(warm), fmtMB(size), note))
	}
	if worstName == "" {
		return result{}, errors.New("no function answered under aws-lambda-rie\n" + strings.Join(details, "\n"))
	}
	byName := func(name string) *lambdaFunction {
		return fns[slices.IndexFunc(fns, func(f *lambdaFunction) bool { return f.name == name })]
	}
	slowFirst, _, _ := byName(worstName).medians()
	// What a first answer holds beyond the start: the actions seal every request into its audit
	// record, so their first answer fetches the instance's first data key from KMS; the outbox
	// publisher's first answer is a sweep of every outbox shard.
	firstWork := "MISS (explained: the first answer's own work, not the start: an action's first audit record asks KMS for a data key, " +
		"the publisher sweeps 16 outbox shards; compare the init rows)"
	missOr := func(ok bool) string {
		if ok {
			return "OK"
		}
		return firstWork
	}
	rows := []row{
		{ID: "P4", Name: "cold start to first response, slowest (" + worstName + ")", Value: fmtNanos(slowFirst),
			Baseline: "hello " + fmtNanos(baseFirst), Ratio: fmtRatio(worst), Target: "target ≤1.5x",
			Verdict: missOr(worst <= 1.5 && allOK)},
	}
	if worstClientsName != "" {
		wf := byName(worstClientsName)
		wFirst, _, _ := wf.medians()
		cFirst, _, _ := wf.clients.medians()
		rows = append(rows, row{ID: "P4", Name: "cold start over the clients baseline, worst (" + worstClientsName + ")",
			Value: fmtNanos(wFirst), Baseline: wf.clients.name + " " + fmtNanos(cFirst), Ratio: fmtRatio(worstClients),
			Target: "target ≤1.2x", Verdict: missOr(worstClients <= 1.2 && allOK)})
	}
	if worstInitClientsName != "" {
		wf := byName(worstInitClientsName)
		_, wInit, _ := wf.medians()
		_, cInit, _ := wf.clients.medians()
		rows = append(rows, row{ID: "P4", Name: "init phase over the clients baseline, worst (" + worstInitClientsName + ")",
			Value: fmtNanos(wInit), Baseline: wf.clients.name + " " + fmtNanos(cInit), Ratio: fmtRatio(worstInitClients),
			Target: "target ≤1.2x", Verdict: verdict(worstInitClients <= 1.2 && allOK)})
	}
	rows = append(rows,
		row{ID: "P4", Name: "init phase (INIT REPORT), worst ratio", Value: "-",
			Baseline: "hello " + fmtNanos(baseInit), Ratio: fmtRatio(worstInit), Target: "reported", Verdict: "-"},
		row{ID: "P4", Name: "stripped arm64 binary, largest (" + bigName + ")", Value: fmtMB(big),
			Baseline: "hello " + fmtMB(fileSize(hello.arm)), Ratio: fmtRatio(float64(big) / float64(fileSize(hello.arm))),
			Target: "limit 12 MB", Verdict: sizeVerdict(overLimit)})
	return result{Rows: rows, Details: details}, nil
}

// sizeVerdict is OK, or MISS naming every function over the size limit, so that none hides behind the
// largest.
func sizeVerdict(over []string) string {
	if len(over) == 0 {
		return "OK"
	}
	return "MISS: over the limit: " + strings.Join(over, ", ")
}

// buildFunctions builds hello (first), every functions/<name>, and for each distinct set of AWS
// service clients the functions link, a hello-clients building that set, for the host and for arm64.
func (b *bench) buildFunctions(ctx context.Context) ([]*lambdaFunction, error) {
	dirs, err := filepath.Glob(filepath.Join(b.root, "functions", "*", "main.go"))
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, errors.New("no functions/<name>/main.go")
	}
	sort.Strings(dirs)
	pkgs := []string{"./scripts/bench/hello"}
	for _, d := range dirs {
		pkgs = append(pkgs, "./functions/"+filepath.Base(filepath.Dir(d)))
	}
	services, err := linkedServices(ctx, b.root, pkgs[1:])
	if err != nil {
		return nil, err
	}
	var fns []*lambdaFunction
	for _, p := range pkgs {
		name := filepath.Base(p)
		fns = append(fns, &lambdaFunction{name: name, services: services[p],
			host: filepath.Join(b.tmp, "host", name), arm: filepath.Join(b.tmp, "arm64", name)})
	}
	baselines := map[string]*lambdaFunction{}
	for _, f := range fns[1:] {
		set := strings.Join(f.services, ",")
		c, ok := baselines[set]
		if !ok {
			name := "hello-clients[" + set + "]"
			c = &lambdaFunction{name: name, services: f.services,
				host: filepath.Join(b.tmp, "host", "clients-"+strconv.Itoa(len(baselines))),
				arm:  filepath.Join(b.tmp, "arm64", "clients-"+strconv.Itoa(len(baselines)))}
			baselines[set] = c
			fns = append(fns, c)
		}
		f.clients = c
	}
	builds := []struct{ arch, dir string }{{runtime.GOARCH, "host"}}
	if runtime.GOARCH != "arm64" {
		builds = append(builds, struct{ arch, dir string }{"arm64", "arm64"})
	} else { // one build serves both
		for _, f := range fns {
			f.arm = f.host
		}
	}
	for _, bd := range builds {
		b.progress("  P4: building %d bootstraps and %d clients baselines for linux/%s", len(pkgs), len(baselines), bd.arch)
		if err := goBuild(ctx, b.root, bd.arch, filepath.Join(b.tmp, bd.dir), pkgs); err != nil {
			return nil, err
		}
		for _, c := range baselines {
			out := c.host
			if bd.dir == "arm64" {
				out = c.arm
			}
			if err := goBuildClients(ctx, b.root, bd.arch, out, c.services); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range fns {
		f.event, f.eventName = firstRequest(f.name)
	}
	return fns, nil
}

// sdkServices are the AWS service clients the functions may build; helloclients has a file for each.
var sdkServices = []string{"cloudwatchlogs", "dynamodb", "eventbridge", "kms", "lambda", "s3", "secretsmanager", "ssm"}

// linkedServices is, for each package, the sdkServices among its dependencies (go list -deps), as
// built for Lambda.
func linkedServices(ctx context.Context, root string, pkgs []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, p := range pkgs {
		cmd := exec.CommandContext(ctx, "go", "list", "-tags", "lambda.norpc", "-deps", "-f", "{{.ImportPath}}", p)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		deps, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("go list -deps %s: %v", p, err)
		}
		const prefix = "github.com/aws/aws-sdk-go-v2/service/"
		for _, dep := range strings.Fields(string(deps)) {
			svc, ok := strings.CutPrefix(dep, prefix)
			if !ok || strings.HasPrefix(svc, "internal/") || strings.Contains(svc, "/") {
				continue
			}
			if !slices.Contains(sdkServices, svc) {
				// A baseline without the client would flatter the function.
				return nil, fmt.Errorf("%s links the %s client, which scripts/bench/helloclients cannot build: add it", p, svc)
			}
			out[p] = append(out[p], svc)
		}
		slices.Sort(out[p])
	}
	return out, nil
}

// goBuildClients builds scripts/bench/helloclients with one bench_<service> tag per service.
func goBuildClients(ctx context.Context, root, arch, out string, services []string) error {
	tags := "lambda.norpc"
	for _, s := range services {
		tags += ",bench_" + s
	}
	args := slices.Clone(buildFlags)
	args[slices.Index(args, "lambda.norpc")] = tags
	cmd := exec.CommandContext(ctx, "go", append(args, "-o", out, "./scripts/bench/helloclients")...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build helloclients for linux/%s: %v\n%s", arch, err, tail(b, 20))
	}
	return nil
}

// goBuild builds pkgs into dir (one binary per package, named for its folder), as the Makefile does.
func goBuild(ctx context.Context, root, arch, dir string, pkgs []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	args := append(slices.Clone(buildFlags), "-o", dir+string(filepath.Separator))
	cmd := exec.CommandContext(ctx, "go", append(args, pkgs...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build for linux/%s: %v\n%s", arch, err, tail(out, 20))
	}
	return nil
}

// firstRequest is the request a function is cold-started with: the cheapest answer it gives, so that
// the figure is the start and not the work. An API Gateway event without a token or a caller's
// identity is refused (401/403) after one audit write, as every refusal is; the daily report refuses
// a date that is not one, audited too; the outbox publisher sweeps an empty outbox.
func firstRequest(name string) ([]byte, string) {
	if strings.HasPrefix(name, "hello") {
		return []byte(`{}`), "-"
	}
	switch name {
	case "daily-report":
		return []byte(`{"date": "not-a-date"}`), "a refused date"
	case "publish-outbox":
		return []byte(`{}`), "a sweep of the empty outbox"
	case "hello":
		return []byte(`{}`), "-"
	default:
		return []byte(`{}`), "a refused API request"
	}
}

// startup is one cold start: the first response, the emulator's INIT REPORT (process start to the
// runtime's first request for work: what Lambda reports as Init Duration) and a second, warm answer
// to the same request (the request's own work).
type startup struct {
	first, init, warm time.Duration
}

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// coldStart starts aws-lambda-rie with bootstrap, waits until it listens, and times the first invoke
// (the bootstrap starts on it), then a second. It returns the emulator's output for a failure's
// diagnosis.
func coldStart(ctx context.Context, rie, bootstrap string, env []string, event []byte) (startup, string, error) {
	var s startup
	api, err := freePort()
	if err != nil {
		return s, "", err
	}
	runtimeAPI, err := freePort()
	if err != nil {
		return s, "", err
	}
	var out syncBuffer
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", api, "--runtime-api-address", runtimeAPI, bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so that stopping it stops the bootstrap it started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return s, "", fmt.Errorf("start aws-lambda-rie: %w", err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	if err := waitListening(ctx, api, 10*time.Second); err != nil {
		return s, out.String(), err
	}
	url := "http://" + api + "/2015-03-31/functions/function/invocations"
	if s.first, err = invoke(ctx, url, event); err != nil {
		return s, out.String(), err
	}
	if s.warm, err = invoke(ctx, url, event); err != nil {
		return s, out.String(), fmt.Errorf("second invoke: %w", err)
	}
	m := initReport.FindStringSubmatch(out.String())
	if m == nil {
		return s, out.String(), errors.New("aws-lambda-rie printed no INIT REPORT")
	}
	ms, _ := strconv.ParseFloat(m[1], 64)
	s.init = time.Duration(ms * float64(time.Millisecond))
	return s, out.String(), nil
}

// invoke posts one event and times it until the answer is read. A function error is an answer (the
// first request may be refused); the runtime failing (Runtime.ExitError, an init error) is not.
func invoke(ctx context.Context, url string, event []byte) (time.Duration, error) {
	ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ictx, http.MethodPost, url, bytes.NewReader(event))
	if err != nil {
		return 0, err
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("invoke: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"errorType":"Runtime.`)) {
		return 0, fmt.Errorf("the invoke failed: %d %.200s", resp.StatusCode, body)
	}
	return elapsed, nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitListening(ctx context.Context, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("aws-lambda-rie not listening on %s after %s", addr, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// packageInit is the clock time of the bootstrap's package initialisation (GODEBUG=inittrace=1,
// summed over packages; the median of three runs), before main runs: the part of the init phase
// that the linked packages cost, whatever the function then does.
func packageInit(ctx context.Context, bootstrap string) float64 {
	var runs []float64
	for range 3 {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		cmd := exec.CommandContext(cctx, bootstrap)
		cmd.Env = []string{"GODEBUG=inittrace=1"} // no Lambda environment: main fails at once, after init
		out, _ := cmd.CombinedOutput()
		cancel()
		total := 0.0
		for _, m := range inittrace.FindAllSubmatch(out, -1) {
			v, _ := strconv.ParseFloat(string(m[1]), 64)
			total += v
		}
		runs = append(runs, total*float64(time.Millisecond))
	}
	return median(runs)
}

var inittrace = regexp.MustCompile(`(?m)^init \S+ @\S+ ms, ([0-9.]+) ms clock`)

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func fmtMB(n int64) string { return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + " MB" }

func firstLine(s string) string { return strings.SplitN(strings.TrimSpace(s), "\n", 2)[0] }

// syncBuffer is a bytes.Buffer the emulator's two output streams write to concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
