#!/usr/bin/env bash
# The release check (docs/releasing.md), run by .ci/run: what a user gets from `npm pack` on a fresh clone.
# 1. export the committed tree (no dist/, no node_modules) and pack it there: prepack must build dist/;
# 2. the tarball holds the built CLI, LICENSE, NOTICE, CHANGELOG and the example configs, and no tests,
#    sources or source maps;
# 3. install it with its production dependencies only into an empty directory, then run the installed bin:
#    --version, check-config --no-files on every example config, and a proxy in front of the stand-in.
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_update_notifier=false
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "check-package: FAILED: $*" >&2
  exit 1
}

version="$(node -p "require('./package.json').version")"
echo "== exporting $(git rev-parse --short HEAD) (committed files only) into $work/clone"
mkdir "$work/clone"
git archive --format=tar HEAD | tar -x -C "$work/clone"
[ ! -e "$work/clone/dist" ] || fail "the exported tree already has dist/"

# The image builds from the same tree: every path docker/Dockerfile copies from the context must be in it.
for source in $(sed -nE 's/^COPY +([^-][^ ]*( +[^ ]+)*) +[^ ]+$/\1/p' "$work/clone/docker/Dockerfile"); do
  [ -e "$work/clone/$source" ] || fail "docker/Dockerfile copies $source, which the committed tree lacks"
done

echo "== npm ci && npm pack in the export"
(cd "$work/clone" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
tarball="$(cd "$work/clone" && npm pack --silent --pack-destination "$work")"
tarball="$work/$tarball"
[ -f "$tarball" ] || fail "npm pack made no tarball"
echo "   $(basename "$tarball"): $(du -k "$tarball" | cut -f1) KiB"

listing="$(tar -tzf "$tarball")"
for needed in package/dist/main.js package/LICENSE package/NOTICE package/CHANGELOG.md package/README.md \
  package/config/quickstart.yaml package/docs/flink-rest/rest_v1_dispatcher.yml; do
  grep -qx "$needed" <<<"$listing" || fail "the tarball lacks $needed"
done
if grep -E '^package/(src|test|bench|scripts|flink-it)/|\.map$|\.ts$' <<<"$listing"; then
  fail "the tarball holds sources, tests or source maps (listed above)"
fi
echo "   $(wc -l <<<"$listing") files; dist/main.js, LICENSE, NOTICE, CHANGELOG.md present; no sources or maps"

# --engine-strict: the install fails when a production dependency's engines field refuses this Node (CI runs
# this on the lowest Node that package.json's engines allows).
echo "== installing the tarball into an empty directory (production dependencies only) on $(node --version)"
mkdir "$work/app"
(cd "$work/app" && npm install --engine-strict --omit=dev --no-audit --no-fund --loglevel=error "$tarball" >/dev/null)
bin="$work/app/node_modules/.bin/flink-guard"
installed="$work/app/node_modules/flink-guard"
[ -x "$bin" ] || fail "the installed package has no executable flink-guard bin"

echo "== installing it globally into a prefix, as docs/deploy-standalone.md does"
npm install --engine-strict --global --prefix "$work/prefix" --omit=dev --no-audit --no-fund --loglevel=error "$tarball" >/dev/null
global_printed="$(env -i PATH="$PATH" HOME="$work" "$work/prefix/bin/flink-guard" --version)"
[ "$global_printed" = "flink-guard $version" ] || fail "<prefix>/bin/flink-guard --version printed \"$global_printed\""
echo "   <prefix>/bin/flink-guard --version: $global_printed"

# From here on the installed package runs with no environment but PATH and HOME, as on a fresh host.
# run execs: call it in a subshell, ( run … ).
run() { cd "$work/app" && exec env -i PATH="$PATH" HOME="$work" npm_config_update_notifier=false "$@"; }

printed="$( (run npx --no-install flink-guard --version) )"
[ "$printed" = "flink-guard $version" ] || fail "npx flink-guard --version printed \"$printed\", not \"flink-guard $version\""
echo "   npx flink-guard --version: $printed"

# No variable the examples refer to is set: --no-files needs none (a ConfigMap linted in CI).
for example in "$installed"/config/*.yaml; do
  code=0
  (run "$bin" check-config --no-files --config "$example" >/dev/null) || code=$?
  [ "$code" = 0 ] || fail "check-config --no-files --config config/$(basename "$example") exited $code"
  echo "   check-config --no-files config/$(basename "$example"): valid"
done

echo "== the installed bin as a proxy: standin and serve on free ports"
# Started as subshells that exec the bin, so $! is the server itself and cleanup ends it.
: >"$work/standin.log"
: >"$work/serve.log"
(run "$bin" standin --port 0 >"$work/standin.log" 2>&1) &
pids+=($!)
upstream=""
for _ in $(seq 1 100); do
  upstream="$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$work/standin.log" | head -1 || true)"
  [ -n "$upstream" ] && break
  sleep 0.1
done
[ -n "$upstream" ] || fail "the installed standin did not start: $(cat "$work/standin.log")"
cat >"$work/serve.yaml" <<EOF
listen: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
upstream: { url: "$upstream" }
auth: { anonymous: { roles: [anyone] } }
authz: { roles: { anyone: viewer } }
EOF
(run "$bin" serve --config "$work/serve.yaml" >"$work/serve.log" 2>&1) &
pids+=($!)
started=""
for _ in $(seq 1 100); do
  started="$(grep '"flink-guard started"' "$work/serve.log" || true)"
  [ -n "$started" ] && break
  sleep 0.1
done
[ -n "$started" ] || fail "the installed serve did not start: $(cat "$work/serve.log")"
grep -q "\"version\":\"$version\"" <<<"$started" || fail "the start-up line carries no version: $started"
proxy="$(node -p 'JSON.parse(process.argv[1]).proxy' "$started")"
admin="$(node -p 'JSON.parse(process.argv[1]).admin' "$started")"
overview="$(node -e 'fetch(process.argv[1]).then(async (r) => { if (!r.ok) process.exit(1); console.log(await r.text()) })' "$proxy/overview")" ||
  fail "GET $proxy/overview through the installed proxy failed"
grep -q '"flink-version"' <<<"$overview" || fail "the proxied /overview is not Flink's: $overview"
node -e 'fetch(process.argv[1]).then(async (r) => { const t = await r.text(); if (!t.includes(process.argv[2])) process.exit(1) })' \
  "$admin/metrics" "flink_guard_build_info{version=\"$version\"" || fail "/metrics has no build_info for $version"
echo "   GET /overview through the installed proxy: 200, Flink's body; build_info{version=\"$version\"} served"
echo "check-package: OK"
