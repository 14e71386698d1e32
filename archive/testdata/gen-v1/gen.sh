#!/usr/bin/env bash
# Regenerates archive/testdata/v1: an archive written by exhibit's format-1
# release (commit 74ab0a2), with three real omniwitness witnesses and a real
# timestamp-server (both on PATH, as .ci/install-tools installs them). The upgrade
# tests open it with the current code.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out="$root/archive/testdata/v1"
wt=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$wt" >/dev/null 2>&1 || true; rm -rf "$wt"' EXIT
git -C "$root" worktree add --detach "$wt" 74ab0a2 >/dev/null
cp "$here/gen_test.go" "$wt/archive/gen_v1_test.go"
(cd "$wt" && go test ./archive -run '^TestGenerateV1$' -count=1 -v -args -gen-out="$out")
# Git keeps no empty directories, and the lock file is per process.
find "$out" -type d -empty -delete
echo "wrote $out"
