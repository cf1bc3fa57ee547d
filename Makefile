# certgate developer entry points. The README documents `make run` and
# `make test`; everything else is for contributors.

SHELL := /bin/bash
GO ?= go
export GOFLAGS := -buildvcs=false
BIN := $(CURDIR)/bin
MODULES := . ./proto ./ca-core ./services ./gateway
DEV_DATA ?= .certgate-dev

.PHONY: run test build proto proto-check fmt-check vet staticcheck unit bench tools tidy clean

## run: start the whole suite on loopback with embedded defaults (dev mode).
run: build
	$(BIN)/certgate dev --data $(DEV_DATA)

## test: every module's tests, vet, staticcheck and the generated-code check.
test: proto-check fmt-check vet staticcheck unit

build:
	$(GO) build -o $(BIN)/certgate ./cmd/certgate

# TOOLS are built from the versions tools/go.mod pins. estclient (e2e
# tests) links github.com/miekg/pkcs11 through cgo: gcc is needed.
# scepclient (e2e tests) is micromdm's legacy SCEP client.
TOOLS := google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc \
	honnef.co/go/tools/cmd/staticcheck github.com/globalsign/est/cmd/estclient \
	github.com/micromdm/scep/v2/cmd/scepclient

tools:
	@mkdir -p $(BIN)
	cd tools && GOWORK=off CGO_ENABLED=1 $(GO) build -o $(BIN)/ $(TOOLS)

## proto: regenerate the Go code from proto/certgate/v1/*.proto.
proto: tools
	cd proto && PATH=$(BIN):$$PATH protoc -I . \
	  --go_out=. --go_opt=paths=source_relative \
	  --go-grpc_out=. --go-grpc_opt=paths=source_relative \
	  certgate/v1/*.proto

## proto-check: fail when the committed generated code is stale.
proto-check: proto
	@git diff --exit-code -- proto/ || { echo "generated code in proto/ is stale: run 'make proto' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- proto/)" || { git status --porcelain -- proto/; echo "untracked generated files in proto/: run 'make proto' and commit"; exit 1; }

fmt-check:
	@bad=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); test -z "$$bad" || { echo "gofmt would change: $$bad"; exit 1; }

## tidy: go mod tidy every module (-e: the proxy refuses some test-only
## dependencies of our dependencies; see spec/protocols.md §0).
tidy:
	@for m in $(MODULES); do (cd $$m && $(GO) mod tidy -e) || exit 1; done
	cd tools && GOWORK=off $(GO) mod tidy

vet:
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

staticcheck: tools
	@for m in $(MODULES); do (cd $$m && $(BIN)/staticcheck ./...) || exit 1; done

unit:
	@for m in $(MODULES); do (cd $$m && $(GO) test -count=1 ./...) || exit 1; done

## bench: issuance throughput and p50/p99 latency over gRPC next to the raw
## signer rate, for SQLite/PostgreSQL x soft/SoftHSM2 x P-256/RSA-2048;
## OCSP answers per second (GET, POST with nonce); CRL generation time for
## 10k, 100k and 1M revoked entries; against `certgate dev`: whole ACME
## enrollments per second with p50/p99 per step for 8, 32 and 64 clients,
## EST simpleenroll and serverkeygen requests per second, whole SCEP
## enrollments (PKCSReq, AES-256, RSA-2048) per second, and MDMWS NDES-page
## challenges per second and whole challenge + SCEP enrollments per second,
## each with p50/p99 for 8 and 32 clients.
BENCHTIME ?= 5s
E2E_REQUESTS ?= 3000
bench:
	cd ca-core && $(GO) test -run '^$$' -bench 'BenchmarkIssue|BenchmarkOCSP|BenchmarkCRL' -benchtime $(BENCHTIME) -timeout 30m .
	$(GO) test -run '^$$' -bench 'BenchmarkACME|BenchmarkEST|BenchmarkSCEP|BenchmarkMDMWS' -benchtime $(E2E_REQUESTS)x -timeout 30m ./e2e

clean:
	rm -rf $(BIN)
