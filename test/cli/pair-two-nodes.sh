#!/usr/bin/env bash
# Pairs two kith nodes from the shell and moves a file between them: the README example,
# kept honest by test/cli/pairTwoNodesScript.test.ts. No jq needed: `field` picks a JSON field with node.
#   usage: pair-two-nodes.sh WORKDIR        (prints "OK <hash>" on success)
set -euo pipefail
work=${1:?usage: pair-two-nodes.sh WORKDIR}
kith=(node "$(cd "$(dirname "$0")/../.." && pwd)/bin/kith.mjs")
field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }

"${kith[@]}" --home "$work/a" init --name Alice --insecure-plaintext-keys --json >/dev/null 2>&1
"${kith[@]}" --home "$work/b" init --name Bob --insecure-plaintext-keys --json >/dev/null 2>&1
"${kith[@]}" --home "$work/a" serve --listen 127.0.0.2:0 --json >"$work/a.log" 2>/dev/null & a=$!
"${kith[@]}" --home "$work/b" serve --listen 127.0.0.3:0 --json >"$work/b.log" 2>/dev/null & b=$!
trap 'kill $a $b 2>/dev/null; wait $a $b' EXIT
for _ in $(seq 100); do grep -q listening "$work/a.log" && grep -q listening "$work/b.log" && break; sleep 0.1; done

url=$("${kith[@]}" --home "$work/a" invite --json | field url)
"${kith[@]}" --home "$work/b" accept "$url" --json >/dev/null
bob=$("${kith[@]}" --home "$work/b" whoami --json | field personId)
head -c 2000000 /dev/urandom >"$work/in.bin"
hash=$("${kith[@]}" --home "$work/a" put "$work/in.bin" --share "$bob" --json | field hash)
for _ in $(seq 50); do "${kith[@]}" --home "$work/b" get "$hash" -o "$work/out.bin" --json >/dev/null 2>&1 && break; sleep 0.2; done
cmp "$work/in.bin" "$work/out.bin" && echo "OK $hash"
