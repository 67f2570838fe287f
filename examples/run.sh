#!/usr/bin/env bash
# Runs proxym on the bundled example: two HTTP backends (blue on 127.0.0.1:18081, green on
# 127.0.0.1:18082), haproxy started and reloaded by proxym the original way (-f/-p/-sf) on unprivileged
# 127.0.0.1 ports, services read from examples/services/*.json. Edit a JSON file and watch routing follow.
# Usage: examples/run.sh [path/to/proxym]   (make run builds it first)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$(dirname "$here")"
bin="${1:-$top/.build/debug/proxym}"
backend="$(dirname "$bin")/proxym-test-backend"
run="$top/.run"
mkdir -p "$run"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # haproxy daemonized itself; stop exactly the processes named in its pid file.
  if [ -s "$run/haproxy.pid" ]; then
    for pid in $(cat "$run/haproxy.pid"); do kill "$pid" 2>/dev/null || true; done
  fi
}
trap cleanup EXIT

"$backend" --name blue --port 18081 >/dev/null & pids+=($!)
"$backend" --name green --port 18082 >/dev/null & pids+=($!)

cat <<TXT
proxym example: haproxy will listen on 127.0.0.1:8080 (HTTP virtual hosts) and 127.0.0.1:16379 (TCP).
Try, in another terminal:
  curl -H 'Host: shop.example.com' http://127.0.0.1:8080/     # -> blue
  curl -H 'Host: api.example.com'  http://127.0.0.1:8080/     # -> green
  curl http://127.0.0.1:16379/                                # TCP listener, both backends
Then edit $here/services/shop.json (change 18081 to 18082) and curl again: -> green.
Generated config: $run/haproxy.cfg.  Ctrl-C stops proxym (and this example's haproxy).

TXT

export PROXYM_FILE_ENABLED=1
export PROXYM_FILE_CONFIGS_PATH="$here/services"
export PROXYM_HAPROXY_ENABLED=1
export PROXYM_HAPROXY_BINARY_PATH="${HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}"
export PROXYM_HAPROXY_CONFIG_FILE_PATH="$run/haproxy.cfg"
export PROXYM_HAPROXY_PID_PATH="$run/haproxy.pid"
export PROXYM_HAPROXY_OPTIONS_PATH="$here/haproxy"
export PROXYM_HAPROXY_HTTP_PORT=8080
export PROXYM_HAPROXY_BIND_ADDRESS=127.0.0.1
export PROXYM_SIGNAL_ENABLED=1
"$bin" run
