#!/usr/bin/env bash
# example-ts.sh compiles and runs the TypeScript agent-loop example
# (examples/typescript/agent_loop.ts) with the SDK from this checkout, against
# `make run`'s API (ADMEM_URL, ADMEM_KEY; default .data/dev/platform.key).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/node.sh sdk/typescript
sdk/typescript/node_modules/.bin/tsc -p examples/typescript
# The compiled files are ES modules.
echo '{ "type": "module" }' >.data/examples-ts/package.json
exec node .data/examples-ts/examples/typescript/agent_loop.js "$@"
