package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
	"github.com/wcbridge/wcbridge/shared/local/devstack"
)

// functionEnvs are valid local environments for the functions' real bootstraps: exactly what the
// in-process stack loads for each (devstack.Backends.Env: template.yaml's variables overlaid with the
// local table, keys, bus, WhatConverts simulator and secrets), on dynalite and local-kms.
type functionEnvs struct {
	backends *devstack.Backends
	tmpl     *samtemplate.Template
}

func newFunctionEnvs(ctx context.Context, b *bench) (*functionEnvs, error) {
	ddb, err := localEndpoint("DYNAMODB_ENDPOINT")
	if err != nil {
		return nil, err
	}
	kmsURL, err := localEndpoint("KMS_ENDPOINT")
	if err != nil {
		return nil, err
	}
	tmpl, err := devstack.LoadTemplate(b.root, nil) // the template's defaults, as the stack's
	if err != nil {
		return nil, err
	}
	backends, err := devstack.StartBackends(ctx, devstack.Options{
		Dir: b.root, DynamoDBEndpoint: ddb, KMSEndpoint: kmsURL,
		Table: "wcbridge-bench-" + randomHex(4), DeleteTableOnClose: true, DisableSchedules: true,
	})
	if err != nil {
		return nil, err
	}
	return &functionEnvs{backends: backends, tmpl: tmpl}, nil
}

// env is the process environment of the function in folder functions/<name> (logical ID: the
// folder's name in CamelCase + "Function", as the Makefile's FUNCTIONS list pairs them); the hello
// world gets the ingest function's, which it ignores.
func (e *functionEnvs) env(name string) ([]string, error) {
	if name == "hello" {
		name = "ingest-webhook"
	}
	id := logicalID(name)
	fn, ok := e.tmpl.Function(id)
	if !ok {
		return nil, fmt.Errorf("template.yaml has no %s for functions/%s", id, name)
	}
	var env []string
	for _, kv := range os.Environ() { // the process basics, not the bench's own AWS settings
		k, _, _ := strings.Cut(kv, "=")
		if k == "PATH" || k == "HOME" || k == "TMPDIR" || k == "TZ" {
			env = append(env, kv)
		}
	}
	for k, v := range e.backends.Env(fn) {
		env = append(env, k+"="+v)
	}
	return env, nil
}

func (e *functionEnvs) close() { _ = e.backends.Close(context.Background()) }

// logicalID is "IngestWebhookFunction" for "ingest-webhook".
func logicalID(folder string) string {
	var b strings.Builder
	for _, part := range strings.Split(folder, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String() + "Function"
}
