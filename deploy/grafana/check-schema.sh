#!/usr/bin/env bash
# Checks tm-defect-bridge.json against Grafana's own dashboard schema: the
# `Dashboard` type that Grafana publishes in @grafana/schema (generated from its
# CUE schema), type-checked by TypeScript with excess-property checks, so an
# unknown field, a wrong type or an invalid enum value fails.
#
# Needs node and npm (installs both packages into a temporary folder).
# Usage: deploy/grafana/check-schema.sh [dashboard.json]
set -euo pipefail

dashboard="$(realpath "${1:-$(dirname "$0")/tm-defect-bridge.json}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent @grafana/schema@13.2.3 typescript@7.0.2 >/dev/null

node - "$dashboard" <<'EOF'
const fs = require('fs');
const dashboard = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
// Import-only fields, read by Grafana's import page and not part of the stored dashboard.
for (const key of ['__inputs', '__elements', '__requires']) delete dashboard[key];
fs.writeFileSync('check.ts', `import type { Dashboard } from '@grafana/schema';

// JSON carries enum values as plain strings: accept each string enum's values, nothing else.
type Json<T> = T extends string ? \`\${T}\` : T extends (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;

export const dashboard: Json<Dashboard> = ${JSON.stringify(dashboard, null, 2)};
`);
EOF

npx tsc --noEmit --strict --skipLibCheck --module esnext --moduleResolution bundler --target es2020 check.ts
echo "$(basename "$dashboard"): matches @grafana/schema 13.2.3 Dashboard"
