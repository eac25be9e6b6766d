#!/usr/bin/env bash
# The graft demo: a browser-engine component (origin_guard 26.3.1) ships with
# a cross-origin bug; the fix, signed as the security response 26.3.1 (a),
# reaches the running HTTP host while it serves traffic. Then the same update
# the old way (stop, replace the file, start) under the same load, side by
# side.
#
#   scripts/demo.sh [--short] [--verbose] [--keep] [BUILD_DIR]
#
# Without BUILD_DIR (or GRAFT_BUILD_DIR) it installs missing Debian packages
# and builds what it needs in ./build first. With one, it uses that built
# tree as it is. --short runs a shorter load (ctest does); --keep keeps the
# work folder. Exits non-zero when a claim of the demo does not hold: the
# exploit allowed before and denied after, no failed request across the live
# patch, the same host pid.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERBOSE=0
KEEP=0
LOAD_SECONDS=8
BUILD_DIR="${GRAFT_BUILD_DIR:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --verbose | -v) VERBOSE=1 ;;
    --short) LOAD_SECONDS=4 ;;
    --keep) KEEP=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "demo.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) BUILD_DIR="$1" ;;
  esac
  shift
done

if [[ -z "$BUILD_DIR" ]]; then
  BUILD_DIR="$ROOT/build"
  "$ROOT/scripts/install-deps.sh"
  echo "demo.sh: building origin_host, loadgen, graftctl and origin_guard in $BUILD_DIR" \
    "(the first build takes a few minutes)"
  build_log="$(mktemp "${TMPDIR:-/tmp}/graft-demo-build.XXXXXX")"
  if ! { cmake -S "$ROOT" -B "$BUILD_DIR" &&
    cmake --build "$BUILD_DIR" -j2 \
      --target origin_host loadgen graftctl origin_guard_components; } >"$build_log" 2>&1; then
    tail -40 "$build_log" >&2
    echo "demo.sh: the build failed (full log: $build_log)" >&2
    exit 1
  fi
  [[ $VERBOSE == 1 ]] && cat "$build_log"
  rm -f "$build_log"
fi
BUILD_DIR="$(cd "$BUILD_DIR" 2>/dev/null && pwd)" || {
  echo "demo.sh: build dir $BUILD_DIR not found" >&2
  exit 2
}

HOST_BIN="$BUILD_DIR/examples/origin_host/origin_host"
LOADGEN_BIN="$BUILD_DIR/tools/loadgen/loadgen"
GRAFTCTL_BIN="$BUILD_DIR/tools/graftctl/graftctl"
SO_BASE="$BUILD_DIR/component-files/origin_guard-26.3.1.so"
SO_FIXED="$BUILD_DIR/component-files/origin_guard-26.3.1-a.so"
for f in "$HOST_BIN" "$LOADGEN_BIN" "$GRAFTCTL_BIN" "$SO_BASE" "$SO_FIXED"; do
  [[ -x "$f" || -f "$f" ]] || { echo "demo.sh: missing $f (build the tree first)" >&2; exit 2; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/graft-demo.XXXXXX")"
STARTED_PIDS=()
cleanup() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ $KEEP == 1 ]]; then echo "kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

FAILURES=0
# The exploit request of ADVISORY.md: a page on bank.example.attacker.test
# reads https://bank.example/account.
EXPLOIT_FROM="https://bank.example.attacker.test/"
EXPLOIT_TO="https://bank.example/account"
EXPLOIT_TARGET="/check?from=https%3A%2F%2Fbank.example.attacker.test%2F&to=https%3A%2F%2Fbank.example%2Faccount"

# --- output helpers -------------------------------------------------------

if [[ -t 1 ]]; then BOLD=$'\e[1m'; GREEN=$'\e[32m'; RED=$'\e[31m'; OFF=$'\e[0m'; else
  BOLD=""; GREEN=""; RED=""; OFF=""; fi
heading() { printf '\n%s== %s ==%s\n' "$BOLD" "$1" "$OFF"; }
step() { printf '  %-60s' "$1"; }
ok() { printf '%s%s%s\n' "$GREEN" "${1:-ok}" "$OFF"; }
claim() {  # claim DESCRIPTION CONDITION-RESULT(0/1) DETAIL
  if [[ $2 == 0 ]]; then
    printf '  %s%-4s%s %s\n' "$GREEN" "yes" "$OFF" "$1${3:+ ($3)}"
  else
    printf '  %s%-4s%s %s\n' "$RED" "NO" "$OFF" "$1${3:+ ($3)}"
    FAILURES=$((FAILURES + 1))
  fi
}
# run_step LABEL COMMAND...: runs quietly (output shown with --verbose), and
# stops the demo with the command's output when it fails.
run_step() {
  local label="$1" log="$WORK/last-command.log" rc=0
  shift
  step "$label"
  "$@" >"$log" 2>&1 || rc=$?
  if [[ $rc == 0 ]]; then
    ok
    [[ $VERBOSE == 1 ]] && sed 's/^/      | /' "$log"
    return 0
  fi
  printf '%sfailed (exit %d)%s\n      $ %s\n' "$RED" "$rc" "$OFF" "$*"
  sed 's/^/      | /' "$log"
  exit 1
}
now_ms() { date +%s%3N; }
mark() { echo "$1 $(now_ms)" >>"$2"; }
var() { sed -n "s/^$1=//p" "$2" | tr -d "'"; }

# --- the host -------------------------------------------------------------

# GET over bash's /dev/tcp, so that the demo needs no HTTP client.
http_get() {  # http_get PORT TARGET -> body on stdout
  local port="$1" target="$2" response
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$target" >&3
  response="$(cat <&3)"
  exec 3<&-
  printf '%s\n' "${response#*$'\r\n\r\n'}"
}
json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }

HOST_PID=""
HOST_PORT=""
start_host() {  # start_host NAME PORT COMPONENT STATE_DIR [extra flags...]
  local name="$1" port="$2" component="$3" state="$4"
  shift 4
  local out="$WORK/$name.out" err="$WORK/$name.host.log"
  : >"$out"
  local verbose_flag=()
  [[ $VERBOSE == 1 ]] && verbose_flag=(--verbose)
  "$HOST_BIN" --port "$port" --threads 2 --state-dir "$state" --component "$component" \
    "${verbose_flag[@]}" "$@" >"$out" 2>>"$err" &
  HOST_PID=$!
  STARTED_PIDS+=("$HOST_PID")

  for _ in $(seq 1 400); do
    if grep -q '^origin_host ready' "$out"; then
      HOST_PORT="$(sed -n 's/^origin_host ready port=\([0-9]*\).*/\1/p' "$out")"
      return 0
    fi
    kill -0 "$HOST_PID" 2>/dev/null || break
    sleep 0.025
  done
  printf '%shost did not start%s\n' "$RED" "$OFF"
  sed 's/^/      | /' "$err"
  exit 1
}
stop_host() {  # stop_host PID
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

LOADGEN_PID=""
start_load() {  # start_load NAME PORT
  local name="$1" port="$2"
  "$LOADGEN_BIN" --port "$port" --threads 2 --connections 2 --duration "$LOAD_SECONDS" \
    --marks "$WORK/$name.marks" --summary "$WORK/$name.summary" \
    --json "$WORK/$name.jsonl" >"$WORK/$name.table" 2>"$WORK/$name.loadgen.log" &
  LOADGEN_PID=$!
  STARTED_PIDS+=("$LOADGEN_PID")
}
wait_load() { wait "$LOADGEN_PID"; }

show_exploit() {  # show_exploit PORT EXPECTED(allow|deny) -> claim
  local body decision version reason
  body="$(http_get "$1" "$EXPLOIT_TARGET")"
  decision="$(json_field decision <<<"$body")"
  version="$(json_field version <<<"$body")"
  reason="$(json_field reason <<<"$body")"
  printf '  GET /check?from=%s&to=%s\n' "$EXPLOIT_FROM" "$EXPLOIT_TO"
  printf '    -> %s%s%s by origin_guard %s: %s\n' "$BOLD" "${decision:-no answer}" "$OFF" \
    "$version" "$reason"
  [[ $VERBOSE == 1 ]] && printf '      | %s\n' "$body"
  [[ "$decision" == "$2" ]] && return 0 || return 1
}

# --- 1. keys and bundles --------------------------------------------------

DEMO_START="$(now_ms)"
printf '%sgraft demo%s: a security response installed live in a running HTTP host\n\n' \
  "$BOLD" "$OFF"
printf '  origin_guard 26.3.1 lets a page on bank.example.attacker.test read\n'
printf '  https://bank.example/account: its host check compares only a prefix\n'
printf '  (GRAFT-2026-0001, components/origin_guard/ADVISORY.md). 26.3.1 (a) fixes it.\n\n'
printf '  load: %d s per run, 2 threads x 2 keep-alive connections; work folder %s\n' \
  "$LOAD_SECONDS" "$WORK"

heading "1. Sign the fix"
run_step "graftctl keygen" "$GRAFTCTL_BIN" keygen --out "$WORK/keys"
SECRET_KEY="$(find "$WORK/keys" -maxdepth 1 -type f -name '*.key' | head -1)"
PUBLIC_KEY="$(find "$WORK/keys" -maxdepth 1 -type f -name '*.pub' | head -1)"
run_step "graftctl bundle 26.3.1" \
  "$GRAFTCTL_BIN" bundle --key "$SECRET_KEY" --so "$SO_BASE" --version "26.3.1" \
  --applies-to "26.3.1" --out "$WORK/bundles/origin_guard-26.3.1"
run_step "graftctl bundle 26.3.1 (a), the fix, applies to 26.3.1" \
  "$GRAFTCTL_BIN" bundle --key "$SECRET_KEY" --so "$SO_FIXED" --version "26.3.1 (a)" \
  --applies-to "26.3.1" --out "$WORK/bundles/origin_guard-26.3.1-a"
run_step "graftctl verify 26.3.1 (a)" \
  "$GRAFTCTL_BIN" verify "$WORK/bundles/origin_guard-26.3.1-a" --trust "$PUBLIC_KEY"

# --- 2. the live patch ----------------------------------------------------

heading "2. Live: install 26.3.1 (a) into the running host, under load"
mkdir -p "$WORK/live/inbox" "$WORK/live/run"
start_host live 0 "$WORK/bundles/origin_guard-26.3.1" "$WORK/live/state" \
  --trusted-key "$PUBLIC_KEY" \
  --inbox "$WORK/live/inbox" --run-dir "$WORK/live/run" --no-auto-install
LIVE_PID_BEFORE="$HOST_PID"
LIVE_PORT="$HOST_PORT"
printf '  origin_host serving on 127.0.0.1:%s, pid %s, on the signed 26.3.1 bundle\n\n' \
  "$LIVE_PORT" "$LIVE_PID_BEFORE"
show_exploit "$LIVE_PORT" allow && EXPLOIT_BEFORE=0 || EXPLOIT_BEFORE=1

printf '\n  load: %d s; the install comes at %d s\n' "$LOAD_SECONDS" "$((LOAD_SECONDS / 2))"
start_load live "$LIVE_PORT"
sleep "$(awk "BEGIN{print $LOAD_SECONDS/2}")"
mark install_start "$WORK/live.marks"
run_step "graftctl install 26.3.1 (a) --host $LIVE_PID_BEFORE" \
  "$GRAFTCTL_BIN" install "$WORK/bundles/origin_guard-26.3.1-a" --host "$LIVE_PID_BEFORE" \
  --run-dir "$WORK/live/run"
mark install_end "$WORK/live.marks"
step "waiting for the load to finish"
wait_load && ok "done"
printf '\n'
show_exploit "$LIVE_PORT" deny && EXPLOIT_AFTER=0 || EXPLOIT_AFTER=1
LIVE_PID_AFTER="$(http_get "$LIVE_PORT" /status | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')"
printf '\n  $ graftctl status --host %s\n' "$LIVE_PID_BEFORE"
"$GRAFTCTL_BIN" status --host "$LIVE_PID_BEFORE" --run-dir "$WORK/live/run" 2>&1 | sed 's/^/    /'

heading "Per second, around the install"
cat "$WORK/live.table"

L="$WORK/live.summary"
heading "Live patch: what the clients saw"
printf '  %-34s %s\n' "requests" "$(var REQUESTS "$L")"
printf '  %-34s %s\n' "failed requests" "$(var FAILED "$L")"
printf '  %-34s %s ms / %s ms / %s ms\n' "p99 before / during / after" \
  "$(var P99_BEFORE_MS "$L")" "$(var P99_DURING_MS "$L")" "$(var P99_AFTER_MS "$L")"
printf '  %-34s %s ms\n' "longest time without an answer" "$(var LONGEST_GAP_MS "$L")"
printf '  %-34s %s -> %s\n' "host pid before -> after" "$LIVE_PID_BEFORE" "${LIVE_PID_AFTER:-?}"
printf '\n'
claim "exploit allowed by 26.3.1 before the patch" "$EXPLOIT_BEFORE"
claim "exploit denied by 26.3.1 (a) after the patch" "$EXPLOIT_AFTER"
[[ "$(var FAILED "$L")" == 0 && "$(var REQUESTS "$L")" -gt 0 ]] && r=0 || r=1
claim "no failed request across the live patch" "$r" "$(var FAILED "$L") of $(var REQUESTS "$L")"
[[ "$LIVE_PID_BEFORE" == "$LIVE_PID_AFTER" ]] && kill -0 "$LIVE_PID_BEFORE" 2>/dev/null && r=0 || r=1
claim "same host process throughout" "$r" "pid $LIVE_PID_BEFORE"
stop_host "$LIVE_PID_BEFORE"

# --- 3. the old way -------------------------------------------------------

heading "3. The old way: stop the host, replace the file, start it again, under load"
# The host as deployed without graft: it loads whatever file sits at its
# deployment path, and keeps no installed state across restarts.
mkdir -p "$WORK/restart/deploy"
cp "$SO_BASE" "$WORK/restart/deploy/origin_guard.so"
start_host restart 0 "$WORK/restart/deploy/origin_guard.so" "$WORK/restart/state" \
  --run-dir "$WORK/restart/run"
RESTART_PID_BEFORE="$HOST_PID"
RESTART_PORT="$HOST_PORT"
printf '  origin_host serving on 127.0.0.1:%s, pid %s, origin_guard 26.3.1\n' \
  "$RESTART_PORT" "$RESTART_PID_BEFORE"
printf '  load: %d s; the restart comes at %d s\n' "$LOAD_SECONDS" "$((LOAD_SECONDS / 2))"
start_load restart "$RESTART_PORT"
sleep "$(awk "BEGIN{print $LOAD_SECONDS/2}")"
mark stop "$WORK/restart.marks"
stop_host "$RESTART_PID_BEFORE"
cp "$SO_FIXED" "$WORK/restart/deploy/origin_guard.so.new"
mv "$WORK/restart/deploy/origin_guard.so.new" "$WORK/restart/deploy/origin_guard.so"
rm -rf "$WORK/restart/state"
start_host restart "$RESTART_PORT" "$WORK/restart/deploy/origin_guard.so" "$WORK/restart/state" \
  --run-dir "$WORK/restart/run"
mark ready "$WORK/restart.marks"
RESTART_PID_AFTER="$HOST_PID"
step "stopped, replaced with 26.3.1 (a), started again"
ok "pid $RESTART_PID_AFTER"
step "waiting for the load to finish"
wait_load && ok "done"
printf '\n'
show_exploit "$RESTART_PORT" deny || true

heading "Per second, around the restart"
cat "$WORK/restart.table"
stop_host "$RESTART_PID_AFTER"

# --- 4. side by side ------------------------------------------------------

R="$WORK/restart.summary"
heading "Side by side: the same update, two ways"
printf '  %-34s %18s %18s\n' "" "live (graftctl)" "restart"
printf '  %-34s %18s %18s\n' "requests" "$(var REQUESTS "$L")" "$(var REQUESTS "$R")"
printf '  %-34s %18s %18s\n' "failed or refused requests" "$(var FAILED "$L")" "$(var FAILED "$R")"
printf '  %-34s %18s %18s\n' "time without service (ms)" "$(var LONGEST_GAP_MS "$L")" \
  "$(var LONGEST_GAP_MS "$R")"
printf '  %-34s %18s %18s\n' "p99 before (ms)" "$(var P99_BEFORE_MS "$L")" "$(var P99_BEFORE_MS "$R")"
printf '  %-34s %18s %18s\n' "p99 during (ms)" "$(var P99_DURING_MS "$L")" "$(var P99_DURING_MS "$R")"
printf '  %-34s %18s %18s\n' "p99 after (ms)" "$(var P99_AFTER_MS "$L")" "$(var P99_AFTER_MS "$R")"
printf '  %-34s %18s %18s\n' "host pid" "$LIVE_PID_BEFORE -> $LIVE_PID_AFTER" \
  "$RESTART_PID_BEFORE -> $RESTART_PID_AFTER"

if [[ $VERBOSE == 1 ]]; then
  heading "Host logs"
  for f in "$WORK"/*.host.log; do
    printf '  --- %s\n' "$(basename "$f")"
    sed 's/^/  | /' "$f"
  done
fi

printf '\n  demo took %.1f s\n\n' "$(awk "BEGIN{print ($(now_ms) - $DEMO_START) / 1000}")"
if [[ $FAILURES -gt 0 ]]; then
  printf '%s%d claim(s) did not hold.%s\n' "$RED" "$FAILURES" "$OFF"
  exit 1
fi
printf '%sAll claims held.%s\n' "$GREEN" "$OFF"
