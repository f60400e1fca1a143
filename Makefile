# wcbridge: every developer and CI command. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# SAM logical ID -> folder under functions/. The one list of functions.
FUNCTIONS := IngestWebhookFunction:ingest-webhook TriggerSamplesFunction:trigger-samples \
	PublishOutboxFunction:publish-outbox GetLeadsFunction:get-leads GetLeadFunction:get-lead \
	CreateLeadFunction:create-lead UpdateLeadFunction:update-lead DailyReportFunction:daily-report \
	AuditDigestFunction:audit-digest GetReportFunction:get-report ReplayFunction:replay

# How every shipped binary is built: static, no net/rpc (lambda.norpc), reproducible, stripped.
GOARCH_LAMBDA ?= arm64
GO_BUILD := CGO_ENABLED=0 GOOS=linux go build -tags lambda.norpc -trimpath -ldflags='-s -w -buildid='

FUZZTIME ?= 60s

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

.PHONY: dev
# Starts dynalite, local-kms and moto (S3 and CloudWatch Logs) unless DYNAMODB_ENDPOINT and
# KMS_ENDPOINT are both set; an endpoint the user did set survives with-services.sh (which exports its
# own) as WCBRIDGE_DEV_*. Built, not `go run`, so that Ctrl-C ends with the program's own exit status
# (go run exits 1 on SIGINT).
dev: ## run the whole stack locally (API :3000, Lambda Invoke API :3001), no AWS, no Docker
	@go build -o build/wcbridge-dev ./scripts/dev
	@if [ -n "$$DYNAMODB_ENDPOINT" ] && [ -n "$$KMS_ENDPOINT" ]; then exec build/wcbridge-dev; fi; \
	WCBRIDGE_DEV_DYNAMODB_ENDPOINT="$$DYNAMODB_ENDPOINT" WCBRIDGE_DEV_KMS_ENDPOINT="$$KMS_ENDPOINT" \
	WCBRIDGE_DEV_S3_ENDPOINT="$$S3_ENDPOINT" WCBRIDGE_DEV_LOGS_ENDPOINT="$$LOGS_ENDPOINT" \
	  exec scripts/with-services.sh build/wcbridge-dev

.PHONY: test
test: ## every test: unit, integration and end-to-end, starting dynalite and local-kms
	scripts/with-services.sh go test -count=1 ./...

.PHONY: unit
unit: ## unit tests only (integration tests skip without the services)
	go test -count=1 ./...

.PHONY: build
build: ## build each function to build/<LogicalId>/bootstrap for linux/$(GOARCH_LAMBDA)
	@for f in $(FUNCTIONS); do id=$${f%%:*}; dir=$${f##*:}; \
	  [ -d functions/$$dir ] || continue; \
	  echo "build $$id"; \
	  GOARCH=$(GOARCH_LAMBDA) $(GO_BUILD) -o build/$$id/bootstrap ./functions/$$dir || exit 1; \
	done

# sam build (BuildMethod: makefile) calls build-<LogicalId> with ARTIFACTS_DIR set.
$(foreach f,$(FUNCTIONS),$(eval build-$(firstword $(subst :, ,$(f))): ; \
	GOARCH=$(GOARCH_LAMBDA) $(GO_BUILD) -o $$(ARTIFACTS_DIR)/bootstrap ./functions/$(lastword $(subst :, ,$(f)))))

.PHONY: lint
# Every check runs or lint fails: a staticcheck that cannot install is a failure, not a skip.
lint: ## gofmt, go vet, staticcheck, go mod tidy leaves go.mod/go.sum unchanged
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...
	@scripts/tools.sh staticcheck || { echo "lint: staticcheck did not install (Go module proxy unreachable?)" >&2; exit 1; }
	.tools/bin/staticcheck ./...
	@go mod tidy -diff || { echo "lint: go.mod/go.sum are not tidy; run go mod tidy" >&2; exit 1; }

.PHONY: validate
validate: ## cfn-lint (informational checks too), the SAM transform, and the deploy assertions on its output
	@scripts/tools.sh python-tools
	python3 scripts/validate/validate.py template.yaml
	python3 -m unittest discover -s scripts/validate

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 60s)
	scripts/fuzz.sh $(FUZZTIME)

.PHONY: bench
bench: ## the performance figures P1-P7 (docs/performance.md) against same-run baselines; table into README.md and docs/performance-results.md
	scripts/with-services.sh go run ./scripts/bench -doc docs/performance-results.md -readme README.md

# The reliability suite (reliability/): load, injected faults and PHI scans through the whole local
# stack on dynalite and local-kms, then every fuzz target for RELIABILITY_FUZZTIME each.
RELIABILITY_FUZZTIME ?= 10s

.PHONY: reliability
reliability: ## load, fault injection and PHI scans through the local stack, then every fuzz target briefly
	cd reliability && WCBRIDGE_RELIABILITY=1 ../scripts/with-services.sh go test -count=1 -v -timeout 20m -run '^TestReliability$$' .
	scripts/fuzz.sh $(RELIABILITY_FUZZTIME)

# Built, not `go run`, so that the command's exit status (0 intact, 1 tampering, 2 error) is its own
# (make itself exits 2 on any failure and names the command's status: "Error 1"). Against `make dev`
# (LOGS_ENDPOINT set, AUDIT_WRITER_LOG_GROUPS not), the writers' log groups are the local stack's.
.PHONY: verify-audit
verify-audit: ## verify the audit trail: make verify-audit FROM=YYYY-MM-DD TO=YYYY-MM-DD (or DATE=) PUBLIC_KEY=file
	@test -n "$(DATE)$(FROM)" || { echo "usage: make verify-audit FROM=YYYY-MM-DD TO=YYYY-MM-DD [PUBLIC_KEY=file]  (or DATE=YYYY-MM-DD)"; exit 2; }
	@go build -o build/verify-audit ./scripts/verify-audit
	@if [ -n "$$LOGS_ENDPOINT" ] && [ -z "$$AUDIT_WRITER_LOG_GROUPS" ]; then \
	  go build -o build/wcbridge-dev ./scripts/dev && groups=$$(build/wcbridge-dev -writer-log-groups) || exit 2; \
	  export AUDIT_WRITER_LOG_GROUPS="$$groups"; \
	fi; \
	exec build/verify-audit $(if $(DATE),-date $(DATE),-from $(FROM) -to $(or $(TO),$(FROM))) $(if $(PUBLIC_KEY),-public-key $(PUBLIC_KEY))

.PHONY: report-url
report-url: ## print a short-lived presigned URL of a report to open in a browser: make report-url DATE=YYYY-MM-DD [FORMAT=csv] [API=https://…/prod]
	@go run ./scripts/report-url $(if $(DATE),-date $(DATE)) $(if $(FORMAT),-format $(FORMAT)) $(if $(EXPIRES),-expires $(EXPIRES)) $(if $(API),-api $(API))

.PHONY: clean
clean: ## remove build output
	rm -rf build .aws-sam
