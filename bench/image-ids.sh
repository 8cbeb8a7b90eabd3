#!/bin/bash
# Image ids under SOURCE_DATE_EPOCH of every own case (fixtures/cases, ../shared/conformance/cases), this
# checkout against another (built: npm run build), each on a fresh store, without cache. A refactor must
# keep them. Needs the registry of ../shared/tools/oracle.sh up (localhost:5000/busybox:latest).
#   bench/image-ids.sh /path/to/other/checkout
set -u
OLD=$(cd "${1:?usage: image-ids.sh OTHER-CHECKOUT}" && pwd)
NEW=$(cd "$(dirname "$0")/.." && pwd)
export SOURCE_DATE_EPOCH=1600000000
W=$(mktemp -d /tmp/tsbuild-ids-XXXX); trap 'rm -rf "$W"' EXIT
for side in old new; do
  dir=$NEW; [ $side = old ] && dir=$OLD
  node $dir/packages/cli/bin/tsbuild.js pull --root $W/$side --insecure-registry localhost:5000 localhost:5000/busybox:latest >/dev/null 2>&1 || echo "pull failed $side"
done
for c in $NEW/fixtures/cases/* $NEW/../shared/conformance/cases/*; do
  [ -f $c/Dockerfile ] || continue
  args=(); [ -f "$c/args" ] && mapfile -t args < <(grep -v '^\s*$' "$c/args")
  o=$(node $OLD/packages/cli/bin/tsbuild.js build -q --no-cache --root $W/old --insecure-registry localhost:5000 "${args[@]}" $c 2>/dev/null | tail -1)
  n=$(node $NEW/packages/cli/bin/tsbuild.js build -q --no-cache --root $W/new --insecure-registry localhost:5000 "${args[@]}" $c 2>/dev/null | tail -1)
  if [ "$o" = "$n" ]; then echo "same $(basename $c) ${n:7:12}"; else echo "DIFF $(basename $c) old=${o:7:12} new=${n:7:12}"; fi
done
