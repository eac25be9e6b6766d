#!/usr/bin/env bash
# Fleet figures (BENCHMARKS.md): publish -> every host serving (one ring,
# no bake), etcd requests per agent while idle, agent RSS, object bytes
# fetched per machine. Real etcd (3 members), nginx, MACHINES x HOSTS test
# hosts under call load.
#
#   bench/fleet.sh [MACHINES] [HOSTS] [IDLE_SECONDS]    (defaults 20 5 30)
# Prints a BENCHMARKS.md section (bench/run.sh appends it).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/fleet-world.sh
MACHINES=${1:-20} HOSTS=${2:-5} IDLE=${3:-30}
W=$(mktemp -d /tmp/graft-fleet-bench.XXXXXX)
trap 'stop_world; rm -rf "$W"' EXIT
PROBATION_MS=0
start_world "$W" 3
for ((m = 0; m < MACHINES; m++)); do start_machine "machine-$m" "$HOSTS"; done
total=$((MACHINES * HOSTS))
all_started() { [[ $(ls "$W"/machine-*/run/*.sock 2>/dev/null | wc -l) -eq $total ]]; }
wait_for 120 all_started || { echo "hosts did not start" >&2; exit 1; }
"$GRAFTCTL" bundle --key "$SECKEY" --so "$GREETER_DIR/greeter-1.1.0.so" --version 1.1.0 \
  --applies-to 1.0.0 --out "$W/b" >/dev/null

serving() {
  local n=0 m
  for m in "$W"/machine-*; do
    n=$((n + $(GRAFT_RUN_DIR="$m/run" "$GRAFTCTL" status --json |
      python3 -c 'import json,sys; print(sum(1 for h in json.load(sys.stdin) for c in h.get("components",[]) if c["version"]=="1.1.0" and c["state"]=="serving"))')))
  done
  [[ $n -eq $total ]]
}
start=$(date +%s.%N)
fleetctl publish "$W/b" --objects "$W/objects" --deploy >/dev/null
wait_for 300 serving || { echo "not every host converged" >&2; exit 1; }
end=$(date +%s.%N)

metric() {  # metric MACHINE NAME
  local port; port=$(awk '/^metrics/ {print $2}' "$W/$1/agent.out")
  curl -s "http://127.0.0.1:$port/metrics" | awk -v n="$2" '$1 == n {print $2}'
}
sum_metric() {
  local s=0 m
  for ((m = 0; m < MACHINES; m++)); do s=$((s + $(metric "machine-$m" "$1"))); done
  echo "$s"
}
sleep 3  # let the last reports go out before counting idle requests
before=$(sum_metric graft_agent_etcd_requests_total)
sleep "$IDLE"
after=$(sum_metric graft_agent_etcd_requests_total)
rss=0
for ((m = 0; m < MACHINES; m++)); do
  rss=$((rss + $(awk '/VmRSS/ {print $2}' "/proc/$(cat "$W/machine-$m/agent.pid")/status")))
done
fetched=$(sum_metric graft_agent_fetch_bytes_total)
size=$(stat -c %s "$W/b/greeter-1.1.0.so")
idle=$(echo "($after - $before) * 60 / $MACHINES / $IDLE" | bc -l)
cat <<MD

## fleet (bench/fleet.sh)

Run on $(date -u +%Y-%m-%dT%H:%MZ): a 3-member etcd, nginx, $MACHINES machines (one graft-agent
each, \`lease_ttl = 5\`) x $HOSTS test hosts under call load = $total host processes.

| figure | value | target |
| --- | ---: | ---: |
| \`fleet publish --deploy\` -> 100% of $total hosts serving it committed (one ring, no bake, no probation) | $(printf '%.2f' "$(echo "$end - $start" | bc)") s | <= 5 s |
| etcd requests per agent while idle ($IDLE s) | $(printf '%.1f' "$idle") / min | lease keep-alives only (one per \`lease_ttl\`/3 = 36 / min) |
| agent RSS (mean of $MACHINES) | $((rss / MACHINES)) KiB | |
| object bytes fetched per machine | $((fetched / MACHINES)) (object: $size bytes) | one fetch per machine |
MD
