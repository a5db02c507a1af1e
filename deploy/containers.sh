#!/usr/bin/env bash
# The container drill: the CPU silo image as a cluster on a podman network, with the environment the Helm chart
# gives each silo, and the demo's load through a worker container kill.
#
#   deploy/containers.sh up     # builds the images if missing (deploy/images/build.sh), starts Redis, frontends, workers
#   deploy/containers.sh test   # up, demo load through `podman kill` + `podman start` of one worker, JSON summary, down;
#                               # exits non-zero when a query is lost or the drill fails
#   deploy/containers.sh down   # removes every container and the network it created
#   deploy/containers.sh env DIR  # only writes the silos' env files into DIR (what the deployment tests check)
#
# Environment: the chart's, rendered by `helm template` (deploy/tools/helm.sh) with silo.clustering=redis (podman has no
# pod API for kubernetes clustering) and CPU workers (worker.gpu.enabled=false, worker.executionProvider=cpu); every
# ConfigMap key and every `env` entry of the frontend and worker Deployments becomes the container's environment, with
# the fieldRefs filled as Kubernetes would (labels, container name as POD_NAME, its IP as POD_IP). The chart's security
# context is kept too: uid 1654, read-only root filesystem with /tmp writable, no capabilities, no privilege escalation.
# Redis is reached by the chart's connection string, asymcdc-redis:6379 (a network alias of the Redis container).
#
# Knobs: ASYMCDC_FRONTENDS (2), ASYMCDC_WORKERS (3), ASYMCDC_RATE (queries/s, 60), ASYMCDC_QUERIES (3000),
# ASYMCDC_KILL_AFTER_S (seconds into the measured load, 10), ASYMCDC_DOWN_FOR_S (seconds the worker stays dead, 5),
# ASYMCDC_IMAGE (asymcdc-silo:dev), ASYMCDC_REBUILD=1 (rebuild the image even if it exists).
# Needs root (rootful podman: the host reaches the containers' IPs on the bridge). Podman flags: deploy/images/podman-flags.sh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=deploy/images/podman-flags.sh
. "$root/deploy/images/podman-flags.sh"

image="${ASYMCDC_IMAGE:-asymcdc-silo:dev}"
frontends="${ASYMCDC_FRONTENDS:-2}"
workers="${ASYMCDC_WORKERS:-3}"
rate="${ASYMCDC_RATE:-60}"
queries="${ASYMCDC_QUERIES:-3000}"
kill_after="${ASYMCDC_KILL_AFTER_S:-10}"
down_for="${ASYMCDC_DOWN_FOR_S:-5}"
network=asymcdc-drill
subnet_prefix=10.89.24
label=asymcdc.drill=containers
redis_image=localhost/asymcdc-standin/redis:7
run_dir="$root/artifacts/containers"
http_port=8080

log() { echo "containers.sh: $(date +%T) $*" >&2; }
podman_() { "${PODMAN[@]}" "$@"; }

redis_ip="$subnet_prefix.2"
frontend_ip() { echo "$subnet_prefix.$((10 + $1))"; }
worker_ip() { echo "$subnet_prefix.$((20 + $1))"; }

down() {
  local ids
  ids="$(podman_ ps -a -q --filter "label=$label")"
  if [ -n "$ids" ]; then
    log "removing containers: $(podman_ ps -a --filter "label=$label" --format '{{.Names}}' | tr '\n' ' ')"
    # shellcheck disable=SC2086
    podman_ rm -f -t 0 $ids >/dev/null
  fi
  if podman_ network exists "$network"; then
    podman_ network rm -f "$network" >/dev/null
    log "removed network $network"
  fi
}

images() {
  if [ -n "${ASYMCDC_REBUILD:-}" ] || ! podman_ image exists "$image"; then
    "$root/deploy/images/build.sh" cpu
  fi
  if ! podman_ image exists "$redis_image"; then
    "$root/deploy/images/stand-ins.sh" >/dev/null
    log "building $redis_image (Debian's redis-server on the Debian stand-in)"
    podman_ build "${PODMAN_BUILD_FLAGS[@]}" -q -t "$redis_image" -f - "$run_dir" >/dev/null <<'EOF'
FROM localhost/asymcdc-standin/debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends redis-server && rm -rf /var/lib/apt/lists/*
USER redis
# No persistence, as the chart's in-release Redis: after a restart the silos re-register.
ENTRYPOINT ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
EOF
  fi
}

# chart_env DIR: renders the chart and writes one env file per silo container, DIR/<name>.env.
chart_env() {
  local helm rendered out="$1"
  mkdir -p "$out"
  helm="$("$root/deploy/tools/helm.sh")"
  rendered="$out/chart.yaml"
  "$helm" template asymcdc "$root/helm/asymcdc" --namespace asymcdc \
    --set silo.clustering=redis --set worker.gpu.enabled=false --set worker.executionProvider=cpu >"$rendered"
  local specs=()
  for i in $(seq 1 "$frontends"); do specs+=("frontend asymcdc-frontend-$i $(frontend_ip "$i")"); done
  for i in $(seq 1 "$workers"); do specs+=("gpu-worker asymcdc-worker-$i $(worker_ip "$i")"); done
  python3 - "$rendered" "$out" "${specs[@]}" <<'PY'
import sys, yaml
rendered, out, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
deployments = {d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]: d for d in docs if d["kind"] == "Deployment"
               and "app.kubernetes.io/component" in d["spec"]["template"]["metadata"]["labels"]}
for spec in specs:
    component, name, ip = spec.split()
    pod = deployments[component]["spec"]["template"]
    container = next(c for c in pod["spec"]["containers"] if c["name"] == "silo")
    env = {}
    for source in container.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]])
    fields = {"metadata.name": name, "metadata.namespace": "asymcdc", "status.podIP": ip}
    for label, value in pod["metadata"]["labels"].items():
        fields[f"metadata.labels['{label}']"] = value
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = str(entry["value"])
        else:
            env[entry["name"]] = fields[entry["valueFrom"]["fieldRef"]["fieldPath"]]
    with open(f"{out}/{name}.env", "w") as f:
        for key, value in env.items():
            if "\n" in str(value):
                sys.exit(f"containers.sh: {key} of {name} spans lines; podman env files cannot carry it")
            f.write(f"{key}={value}\n")
PY
}

now() { date +%s.%N; }

# wait_ready NAME IP STARTED -> prints seconds from STARTED to the first 200 of /health/ready
wait_ready() {
  local deadline=$((SECONDS + 240))
  until curl -fs -o /dev/null --max-time 1 "http://$2:$http_port/health/ready"; do
    if [ "$(podman_ inspect -f '{{.State.Running}}' "$1")" != true ] || [ $SECONDS -ge $deadline ]; then
      log "$1 did not become ready; its last log lines:"
      podman_ logs --tail 30 "$1" >&2 || true
      return 1
    fi
    sleep 0.1
  done
  echo "$(now) - $3" | bc
}

run_silo() { # run_silo NAME IP
  podman_ run -d --name "$1" --hostname "$1" --label "$label" --network "$network" --ip "$2" \
    "${PODMAN_ULIMITS[@]}" --env-file "$run_dir/$1.env" \
    --user 1654:1654 --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
    "$image" >/dev/null
}

up() {
  mkdir -p "$run_dir"
  images
  down
  podman_ network create --subnet "$subnet_prefix.0/24" --label "$label" "$network" >/dev/null
  chart_env "$run_dir"
  podman_ run -d --name asymcdc-redis --label "$label" --network "$network" --ip "$redis_ip" --network-alias asymcdc-redis \
    "${PODMAN_ULIMITS[@]}" "$redis_image" >/dev/null
  local names=() ips=() starts=()
  # All silos at once, as a Deployment's pods start.
  for i in $(seq 1 "$frontends"); do names+=("asymcdc-frontend-$i"); ips+=("$(frontend_ip "$i")"); done
  for i in $(seq 1 "$workers"); do names+=("asymcdc-worker-$i"); ips+=("$(worker_ip "$i")"); done
  for j in "${!names[@]}"; do
    starts+=("$(now)")
    run_silo "${names[$j]}" "${ips[$j]}"
  done
  log "started ${names[*]} from $image; waiting for /health/ready"
  : >"$run_dir/ready.tsv"
  for j in "${!names[@]}"; do
    local ready
    ready="$(wait_ready "${names[$j]}" "${ips[$j]}" "${starts[$j]}")"
    printf '%s\t%.2f\n' "${names[$j]}" "$ready" >>"$run_dir/ready.tsv"
    log "${names[$j]} ready $(printf '%.2f' "$ready") s after its podman run"
  done
  log "cluster up: Redis at $redis_ip:6379 (asymcdc/prod); demo: dotnet run -c Release --project src/AsymCdc.Cli -- demo --connect --redis $redis_ip:6379"
}

test_() {
  trap down EXIT
  local started=$SECONDS
  mkdir -p "$run_dir"
  log "building the demo client (src/AsymCdc.Cli)"
  dotnet build src/AsymCdc.Cli/AsymCdc.Cli.csproj -c Release -v q -nologo >"$run_dir/cli-build.log" 2>&1 \
    || { tail -n 20 "$run_dir/cli-build.log" >&2; exit 1; }
  up
  local demo_json="$run_dir/demo.json" demo_log="$run_dir/demo.log" victim="asymcdc-worker-$workers"
  rm -f "$demo_json"
  dotnet run --no-build -c Release --project src/AsymCdc.Cli -- demo --connect --redis "$redis_ip:6379" \
    --service-id asymcdc --cluster-id prod -m asymcdc-compact -k 2 -w "$workers" -n "$queries" -r "$rate" \
    --json "$demo_json" >"$demo_log" 2>&1 &
  local demo_pid=$!
  # The measured load starts after the (short) warm-up line.
  local deadline=$((SECONDS + 120))
  until grep -q "warming up" "$demo_log" 2>/dev/null; do
    kill -0 "$demo_pid" 2>/dev/null || { cat "$demo_log" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { log "the demo did not start"; cat "$demo_log" >&2; exit 1; }
    sleep 0.2
  done
  sleep "$kill_after"
  log "podman kill $victim (SIGKILL) under load"
  podman_ kill "$victim" >/dev/null
  sleep "$down_for"
  log "podman start $victim"
  local restart_at restart_ready
  restart_at="$(now)"
  podman_ start "$victim" >/dev/null
  restart_ready="$(wait_ready "$victim" "$(worker_ip "$workers")" "$restart_at")"
  log "$victim ready again $(printf '%.2f' "$restart_ready") s after podman start"
  local demo_rc=0
  wait "$demo_pid" || demo_rc=$?
  cat "$demo_log" >&2
  [ -f "$demo_json" ] || { log "the demo wrote no results (exit $demo_rc)"; exit 1; }
  local size_mb
  size_mb="$(podman_ image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f", $1 / 1e6}')"
  local summary
  summary="$(jq -c --arg image "$image" --argjson size "$size_mb" --arg victim "$victim" --argjson restart "$(printf '%.2f' "$restart_ready")" \
    --argjson kill_after "$kill_after" --argjson down_for "$down_for" --argjson elapsed $((SECONDS - started)) \
    --argjson ready "$(jq -Rn '[inputs | split("\t") | {(.[0]): (.[1] | tonumber)}] | add' <"$run_dir/ready.tsv")" \
    '.results[0] as $r | {mode: $r.mode, queries: $r.queries, answered: $r.answered, errors: $r.errors, lost: $r.lost,
      reconstructed: $r.reconstructed, p50_ms: $r.p50_ms, p99_ms: $r.p99_ms, accuracy: $r.accuracy, qps: $r.throughput_qps,
      killed: $victim, killed_after_s: $kill_after, down_for_s: $down_for, restart_ready_s: $restart,
      image: $image, image_size_mb: $size, ready_s: $ready, drill_s: $elapsed}' "$demo_json")"
  echo "$summary" | tee "$run_dir/summary.json"
  if [ "$(jq '.lost' <<<"$summary")" != 0 ] || [ "$demo_rc" != 0 ]; then
    log "FAILED: $(jq '.lost' <<<"$summary") lost (demo exit $demo_rc)"
    exit 1
  fi
}

case "${1:-}" in
  up) up ;;
  test) test_ ;;
  down) down ;;
  env) chart_env "${2:?usage: deploy/containers.sh env DIR}" && rm -f "$2/chart.yaml" ;;
  *) echo "usage: deploy/containers.sh up|test|down|env DIR" >&2; exit 2 ;;
esac
