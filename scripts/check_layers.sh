#!/usr/bin/env bash
# Fails when a module uses another module it may not (the table in ARCHITECTURE.md):
#   api → none · dsp → none · media → none · sim → api, media, dsp ·
#   engine → api · plan → engine, api · hydro → engine, api, media, dsp · cli → all.
# A use is any `crate::<module>` or `super::super::<module>` path in a module's files.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
  [api]=""
  [dsp]=""
  [media]=""
  [sim]="api media dsp"
  [engine]="api"
  [plan]="engine api"
  [hydro]="engine api media dsp"
  [cli]="api dsp media sim engine plan hydro"
)
modules="api dsp media sim engine plan hydro cli"
status=0
for m in $modules; do
  [ -d "src/$m" ] || continue
  for other in $modules; do
    [ "$other" = "$m" ] && continue
    case " ${allowed[$m]} " in *" $other "*) continue ;; esac
    # Strip line comments, then look for paths into the other module.
    hits=$(grep -rnE --include='*.rs' "(crate|super::super)::${other}\b|use crate::\{[^}]*\b${other}\b" "src/$m" \
      | grep -vE '^[^:]+:[0-9]+:\s*//' || true)
    if [ -n "$hits" ]; then
      echo "layer violation: '$m' may not use '$other':"
      echo "$hits" | sed 's/^/  /'
      status=1
    fi
  done
done
if [ $status -eq 0 ]; then
  echo "layers: ok (every module uses only what ARCHITECTURE.md allows)"
fi
exit $status
