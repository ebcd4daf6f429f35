# dynamo — build, test and verification entry points. `make help` lists them.

GO      ?= go
BIN     := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)

# Tool versions. protoc-gen-go follows the protobuf runtime in go.mod, so the
# generated code always matches the library it runs on.
PROTOC_GEN_GO_VERSION := $(shell $(GO) list -m -f '{{.Version}}' google.golang.org/protobuf)
STATICCHECK_VERSION   := v0.6.1
PROTOC_VERSION        := 3.21.12
PROTO_DIR             := messages/proto
PROTO_FILES           := $(wildcard $(PROTO_DIR)/dynamo/v1/*.proto)
# An execution count, not a duration: a duration -fuzztime trips a race in
# Go's fuzz coordinator (golang/go#75804, fixed in Go 1.27) that fails a
# target with "context deadline exceeded" and no crasher.
FUZZTIME              ?= 50000x

.PHONY: help test test-tls test-scale test-short verify fmt vet staticcheck tidy-check proto proto-check tools bench fuzz-smoke chaos bench-olric-test

help:
	@echo "make test         run every test, with the race detector where the libraries allow (the README's test command)"
	@echo "make test-tls     the node cluster tests again with mutual TLS, HTTPS and gossip encryption on"
	@echo "make test-scale   join, leave and remove under load at full size (20,000 keys; make test uses 2,000)"
	@echo "make verify       gofmt, go vet, staticcheck, go.mod tidiness, protobuf drift"
	@echo "make bench        Go benchmarks and the ring placement report"
	@echo "make bench-olric-test  build the Olric peer of 'bench load --vs olric' (bench/olric) and run it against a real 3-member Olric cluster (not in make test; CI runs it)"
	@echo "make proto        regenerate messages/*.pb.go from $(PROTO_DIR)"
	@echo "make fuzz-smoke   run every fuzz target for FUZZTIME ($(FUZZTIME) executions)"
	@echo "make tools        install pinned protoc-gen-go and staticcheck into ./bin"
	@echo "make chaos        chaos runs against 5 real agents: CHAOS ($(CHAOS)) each, seed 1 and a random seed, and the LWW control"

# Tests that start real remoting (several protoactor systems over gRPC in
# one process) run without the race detector, because the library itself
# races there: grpclog.SetLoggerV2 is a global set by every remote.Start
# and read by running gRPC transports. Those tests live in files built
# with `!race` (a lint test holds it), as do the few actors cluster tests
# that move so much data that the race detector makes them take seconds
# (actors/heavy_test.go): in remoting, client and actors the race pass
# runs everything else (the actors' clusters over a
# remoting.MemoryNetwork) and the second pass only the `!race` files'
# tests and examples; node, cmd/dynamo and examples/cart start real
# remoting throughout and run in the second pass only.
RACE_SPLIT_PKGS := remoting client actors
NORACE_PKGS := ./node/... ./cmd/... ./examples/...
NORACE_TESTS = $(shell grep -h -o -E '^func (Test|Example)[A-Za-z0-9_]*' $$(grep -l '^//go:build !race' $(addsuffix /*_test.go,$(RACE_SPLIT_PKGS))) | sed 's/^func //' | paste -sd'|')

test-tls:
	DYNAMO_TEST_TLS=1 $(GO) test -count=1 ./node/

# The scale scenario at full size (make test runs it with 2,000 keys).
test-scale:
	DYNAMO_SCALE_KEYS=20000 $(GO) test -count=1 -timeout 20m -run 'TestE2EJoinLeaveRemoveWithHandoff' ./cmd/dynamo/

test:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v -E '/(node|cmd/dynamo|examples/cart)$$')
	$(GO) test -count=1 -run '^($(NORACE_TESTS))$$' $(addprefix ./,$(RACE_SPLIT_PKGS))
	$(GO) test -count=1 $(NORACE_PKGS)

test-short:
	$(GO) test -short -count=1 ./...

verify: fmt vet staticcheck tidy-check proto-check

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck: $(BIN)/staticcheck
	$(BIN)/staticcheck ./...

tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run 'go mod tidy'"; exit 1; }

proto: $(BIN)/protoc-gen-go
	@command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler ($(PROTOC_VERSION))"; exit 1; }
	protoc -I $(PROTO_DIR) --plugin=protoc-gen-go=$(BIN)/protoc-gen-go \
		--go_out=. --go_opt=module=github.com/dynamokv/dynamo $(PROTO_FILES)

# Regenerates into a scratch copy and fails when the committed .pb.go differ.
proto-check: $(BIN)/protoc-gen-go
	@command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler ($(PROTOC_VERSION))"; exit 1; }
	@protoc --version | grep -q "$(PROTOC_VERSION)" || echo "warning: protoc is $$(protoc --version), the committed code was generated with $(PROTOC_VERSION)"
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	protoc -I $(PROTO_DIR) --plugin=protoc-gen-go=$(BIN)/protoc-gen-go \
		--go_out=$$tmp --go_opt=module=github.com/dynamokv/dynamo $(PROTO_FILES) && \
	for f in $$tmp/messages/*.pb.go; do \
		if ! diff -u messages/$$(basename $$f) $$f >/dev/null; then \
			echo "messages/$$(basename $$f) drifted from its .proto: run 'make proto' and commit"; diff -u messages/$$(basename $$f) $$f | head -20; exit 1; \
		fi; \
	done && \
	for f in messages/*.pb.go; do [ -f $$tmp/messages/$$(basename $$f) ] || { echo "$$f has no .proto any more"; exit 1; }; done && \
	echo "proto: generated code matches $(PROTO_DIR)"

tools: $(BIN)/protoc-gen-go $(BIN)/staticcheck

$(BIN)/protoc-gen-go: go.mod
	GOBIN=$(BIN) GOFLAGS= $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@touch $@

$(BIN)/staticcheck:
	GOBIN=$(BIN) GOFLAGS= $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) run ./bench ring

# `bench load --vs olric` for real: vets the nested module bench/olric, builds
# it (github.com/buraksezer/olric v0.5.7: 1-2 min the first time; needs the
# module proxy or a warm module cache) and runs a 3-member Olric cluster.
# make test leaves it out (without DYNAMO_BENCH_OLRIC=1 the test skips,
# saying so); CI runs this target.
bench-olric-test:
	cd bench/olric && $(GO) vet ./...
	DYNAMO_BENCH_OLRIC=1 $(GO) test -count=1 -timeout 15m -v -run '^TestOlricPeer$$' ./bench/

# Chaos runs (docs/testing.md): each CHAOS long; CHAOS_SEED replays one seed.
CHAOS ?= 60s
chaos:
	@log=$$(mktemp); DYNAMO_CHAOS=$(CHAOS) DYNAMO_CHAOS_SEED=$(CHAOS_SEED) $(GO) test -count=1 -timeout 60m -v -run 'TestChaos' ./chaos/ >$$log 2>&1; rc=$$?; \
		grep -v '^[[:space:]]*$$' $$log | grep -v 'level=' | tail -150; rm -f $$log; exit $$rc

fuzz-smoke:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$f"; log=$$(mktemp); \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg >$$log 2>&1 || { tail -40 $$log; rm -f $$log; exit 1; }; rm -f $$log; \
		done; \
	done
