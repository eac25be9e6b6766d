#!/usr/bin/env bash
# The fleet demo: a 3-member etcd, nginx as the object store, 5 simulated
# machines x 2 hosts. Publishes greeter 1.1.0 and rolls it out through
# canary/early/broad rings; then a faulty 1.2.0 halts at the canary by
# itself; then 1.1.0 is revoked and every host returns to 1.0.0. The fleet
# view is printed at each step.
#
#   scripts/fleet-demo.sh            (after building: see README)
#   BUILD=/path/to/build scripts/fleet-demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/fleet-world.sh
for f in "$GRAFTCTL" "$AGENT" "$TEST_HOST" "$FAULTY"; do
  [[ -x $f || -f $f ]] || { echo "missing $f: build graftctl graft-agent graft_control_test_host graft_fixtures" >&2; exit 1; }
done
DEMO=$(mktemp -d /tmp/graft-fleet-demo.XXXXXX)
trap 'stop_world; rm -rf "$DEMO"' EXIT

step() { printf '\n=== %s\n' "$*"; }

step "starting etcd (3 members), nginx and 5 machines x 2 hosts in $DEMO"
start_world "$DEMO" 3
start_machine machine-0 2 canary
start_machine machine-1 2 early
for i in 2 3 4; do start_machine "machine-$i" 2; done

step "publish greeter 1.1.0 and roll it out: canary, early, broad (bake 2s)"
"$GRAFTCTL" bundle --key "$SECKEY" --so "$GREETER_DIR/greeter-1.1.0.so" --version 1.1.0 \
  --applies-to 1.0.0 --out "$DEMO/b-1.1.0" >/dev/null
fleetctl publish "$DEMO/b-1.1.0" --objects "$DEMO/objects"
fleetctl rollout start greeter 1.1.0 --rings canary:1%,early:10%,broad:100% --bake 2s
wait_for 30 rollout_is rolling
sleep 1; fleetctl status greeter
wait_for 120 rollout_is complete || { echo "rollout did not complete" >&2; fleetctl status greeter; exit 1; }
fleetctl status greeter

step "a bad response: greeter 1.2.0 fails every call; it halts at the canary by itself"
"$GRAFTCTL" bundle --key "$SECKEY" --so "$FAULTY" --version 1.2.0 --applies-to 1.1.0 \
  --out "$DEMO/b-1.2.0" >/dev/null
fleetctl publish "$DEMO/b-1.2.0" --objects "$DEMO/objects"
fleetctl rollout start greeter 1.2.0 --rings canary:1%,early:10%,broad:100% --bake 2s
wait_for 120 rollout_is halted || { echo "the rollout did not halt" >&2; exit 1; }
fleetctl status greeter

step "revoke 1.1.0: every host returns to its previous version"
fleetctl revoke greeter 1.1.0 --key "$SECKEY" --reason "breaks web sites"
revoked_everywhere() {
  local n=0 f
  for f in "$DEMO"/machine-*/host-*.log; do
    grep -q "greeter 1.1.0\] revoked" "$f" && n=$((n + 1))
  done
  [[ $n -eq 10 ]]
}
wait_for 60 revoked_everywhere || echo "not every host has taken the revocation yet" >&2
for m in "$DEMO"/machine-*; do
  echo "--- $(basename "$m")"
  GRAFT_RUN_DIR="$m/run" "$GRAFTCTL" status
done
echo
echo "done: the demo's folder is removed on exit"
