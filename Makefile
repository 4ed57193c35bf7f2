# admem — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
BENCH_ARGS ?= $(ARGS)

help: ## list the targets
	@grep -hE '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

run: ## install what is missing, start Postgres + Redis, migrate, run API + worker (Ctrl-C stops)
	@scripts/run.sh

test: ## install what is missing, start a throwaway stack, gofmt, vet, client diff, go test -race ./...
	@scripts/test.sh

example: ## run the Python agent-loop example against `make run`'s API (ADMEM_URL, ADMEM_KEY; default .data/dev/platform.key)
	@py=/usr/bin/python3; [ -x $$py ] || py=python3; $$py examples/python/agent_loop.py

example-go: ## run the Go agent-loop example against `make run`'s API (same settings as make example)
	@go run ./examples/go/agentloop

example-ts: ## run the TypeScript agent-loop example against `make run`'s API (same settings as make example)
	@scripts/example-ts.sh

build: ## build bin/api and bin/worker
	@mkdir -p bin && go build -o bin/api ./cmd/api && go build -o bin/worker ./cmd/worker

generate: ## regenerate the Go client and the TypeScript SDK's types from openapi.yaml
	@cd client && go tool oapi-codegen -config oapi-codegen.yaml ../openapi.yaml
	@scripts/node.sh sdk/typescript && cd sdk/typescript && ./node_modules/.bin/openapi-typescript ../../openapi.yaml --output src/api.gen.ts --default-non-nullable=false --silent

migrate: ## apply migrations to the dev stack
	@scripts/stack.sh up dev && set -a && . .data/dev/env && set +a && go run ./cmd/api migrate

stack-up: ## start the dev Postgres + Redis only
	@scripts/stack.sh up dev

stack-down: ## stop the dev Postgres + Redis
	@scripts/stack.sh down dev

speclint: ## lint openapi.yaml with Redocly and Spectral (pinned in tools/speclint)
	@scripts/speclint.sh

lint: ## gofmt and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" && go vet ./...

.PHONY: help run test example example-go example-ts build generate migrate stack-up stack-down speclint lint

bench-%: ## run benchmark % end to end on a private stack (DATA=file OUT=dir ARGS="flags"); e.g. make bench-api
	@scripts/bench.sh $* $(if $(DATA),-data $(DATA)) $(if $(OUT),-out $(OUT)) $(ARGS)

.PHONY: bench-%
