#!/usr/bin/env bash
# The install footprint of each published package, as a user gets it: installs each
# @backlot package alone in a fresh folder from its tarball (its @backlot dependencies from
# the same folder, the rest from the registry, --omit=dev) and prints the number of
# packages installed, their size, and whether the AWS SDK came with them.
#   npm run build && for p in metrics-core resilience storage events gateway; do
#     (cd packages/$p && npm pack --pack-destination /tmp/tarballs); done
#   bash scripts/install-footprint.sh /tmp/tarballs /tmp/footprint
set -u
tgz=$1; out=$2; mkdir -p "$out"
overrides=$(for f in "$tgz"/backlot-*.tgz; do n=$(basename "$f" | sed -E 's/^backlot-(.*)-[0-9]+\.[0-9]+\.[0-9]+[^/]*\.tgz$/\1/'); printf '"@backlot/%s":"file:%s",' "$n" "$f"; done | sed 's/,$//')
for p in resilience storage events gateway; do
  d="$out/$p"; rm -rf "$d"; mkdir -p "$d"
  own=$(ls "$tgz"/backlot-"$p"-[0-9]*.tgz | head -1)
  printf '{"name":"fp-%s","private":true,"dependencies":{"@backlot/%s":"file:%s"},"overrides":{%s}}\n' "$p" "$p" "$own" "$overrides" > "$d/package.json"
  (cd "$d" && npm install --omit=dev --prefer-offline --no-audit --no-fund --ignore-scripts >/dev/null 2>"$d/err.txt") || { echo "$p install FAILED"; cat "$d/err.txt" | tail -5; continue; }
  n=$(cd "$d" && npm ls --all --omit=dev --parseable 2>/dev/null | tail -n +2 | sort -u | wc -l)
  kib=$(du -sk "$d/node_modules" | cut -f1)
  aws=$(ls -d "$d"/node_modules/@aws-sdk "$d"/node_modules/@smithy 2>/dev/null | wc -l)
  echo -e "@backlot/$p\t$n packages\t$((kib/1024)) MiB\taws-sdk present: $([ "$aws" -gt 0 ] && echo yes || echo no)"
done
