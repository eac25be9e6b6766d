# A fleet on one machine, for scripts/fleet-demo.sh and bench/fleet.sh
# (sourced, not run): an etcd cluster, nginx serving the object store, and
# simulated machines (a graft-agent and test hosts each), all on loopback
# ports in a temporary folder. Needs a build (BUILD, default ./build).

: "${BUILD:=build}"
GRAFTCTL="$BUILD/tools/graftctl/graftctl"
AGENT="$BUILD/tools/graft-agent/graft-agent"
TEST_HOST="$BUILD/tests/control/graft_control_test_host"
GREETER_DIR="$BUILD/component-files"
FAULTY="$BUILD/fixture-files/faulty/greeter-1.2.0.so"
WORLD_PIDS=()

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_world DIR ETCD_MEMBERS: etcd + nginx + keys in DIR.
start_world() {
  WORLD="$1"; local members="$2"
  mkdir -p "$WORLD"/objects "$WORLD"/nginx/logs "$WORLD"/nginx/tmp
  local cluster="" i
  local -a cports pports
  for ((i = 0; i < members; i++)); do
    cports[i]=$(free_port); pports[i]=$(free_port)
    cluster+="${cluster:+,}m$i=http://127.0.0.1:${pports[i]}"
  done
  ETCD=""
  for ((i = 0; i < members; i++)); do
    etcd --name "m$i" --data-dir "$WORLD/etcd-m$i" \
      --listen-client-urls "http://127.0.0.1:${cports[i]}" \
      --advertise-client-urls "http://127.0.0.1:${cports[i]}" \
      --listen-peer-urls "http://127.0.0.1:${pports[i]}" \
      --initial-advertise-peer-urls "http://127.0.0.1:${pports[i]}" \
      --initial-cluster "$cluster" --initial-cluster-state new \
      --logger zap --log-level warn >"$WORLD/etcd-m$i.log" 2>&1 &
    WORLD_PIDS+=($!)
    ETCD+="${ETCD:+,}http://127.0.0.1:${cports[i]}"
  done
  NGINX_PORT=$(free_port)
  cat >"$WORLD/nginx/nginx.conf" <<CONF
daemon off; master_process off; pid $WORLD/nginx/nginx.pid;
error_log $WORLD/nginx/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log $WORLD/nginx/logs/access.log;
  client_body_temp_path $WORLD/nginx/tmp; proxy_temp_path $WORLD/nginx/tmp;
  fastcgi_temp_path $WORLD/nginx/tmp; uwsgi_temp_path $WORLD/nginx/tmp; scgi_temp_path $WORLD/nginx/tmp;
  server { listen 127.0.0.1:$NGINX_PORT; root $WORLD/objects; }
}
CONF
  /usr/sbin/nginx -p "$WORLD/nginx" -c "$WORLD/nginx/nginx.conf" >"$WORLD/nginx/out.log" 2>&1 &
  WORLD_PIDS+=($!)
  local tries=0
  until curl -sf "${ETCD%%,*}/health" | grep -q true; do
    ((tries++ < 300)) || { echo "etcd did not start" >&2; return 1; }
    sleep 0.1
  done
  "$GRAFTCTL" keygen --out "$WORLD/keys" >/dev/null
  PUBKEY=$(ls "$WORLD"/keys/*.pub); SECKEY=$(ls "$WORLD"/keys/*.key)
}

# start_machine ID HOSTS [RING_LABEL]: hosts (auto-install on) and an agent.
start_machine() {
  local id="$1" hosts="$2" label="${3:-}" m="$WORLD/$1" h
  mkdir -p "$m/run" && chmod 700 "$m/run"
  {
    for e in ${ETCD//,/ }; do echo "etcd = $e"; done
    echo "fleet = demo"; echo "machine = $id"
    [[ -n $label ]] && echo "ring = $label"
    echo "trusted_key = $PUBKEY"; echo "objects = http://127.0.0.1:$NGINX_PORT"
    echo "run_dir = $m/run"; echo "cache_dir = $m/cache"; echo "lease_ttl = 5"
    echo "metrics = 127.0.0.1:0"
    for ((h = 0; h < hosts; h++)); do echo "inbox = $m/inbox-$h"; done
  } >"$m/agent.conf"
  for ((h = 0; h < hosts; h++)); do
    "$TEST_HOST" --name "$id-host-$h" --state-dir "$m/state-$h" --run-dir "$m/run" \
      --component "$GREETER_DIR/greeter-1.0.0.so" --report "$m/report-$h.json" \
      --inbox "$m/inbox-$h" --trusted-key "$PUBKEY" --auto-install --threads 1 \
      --probation-ms "${PROBATION_MS:-1000}" >"$m/host-$h.out" 2>"$m/host-$h.log" &
    WORLD_PIDS+=($!)
  done
  "$AGENT" --config "$m/agent.conf" >"$m/agent.out" 2>"$m/agent.log" &
  WORLD_PIDS+=($!)
  echo $! >"$m/agent.pid"
}

fleetctl() { "$GRAFTCTL" fleet "$@" --fleet demo --etcd "$ETCD"; }

# wait_for SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local until=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < until)) || return 1
    sleep 0.2
  done
}

rollout_state() { fleetctl status greeter --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["state"])'; }
rollout_is() { [[ $(rollout_state) == "$1" ]]; }

stop_world() {
  local p
  for p in "${WORLD_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${WORLD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  WORLD_PIDS=()
}
