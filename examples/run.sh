#!/usr/bin/env bash
# Runs proxym on the bundled example: two HTTP backends (blue on 127.0.0.1:18081, green on
# 127.0.0.1:18082), haproxy started and reloaded by proxym the original way (-f/-p/-sf) on unprivileged
# 127.0.0.1 ports, services read from examples/services/*.json. Edit a JSON file and watch routing follow.
# HTTPS on 127.0.0.1:8443 with certificates from .run/certs (made here by openssl, signed by a test CA
# in .run/pki); with ACME=1, certificates are ordered from a local pebble (Debian's ACME test server)
# instead. Usage: [ACME=1] examples/run.sh [path/to/proxym]   (make run builds it first)
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

# HTTPS: a test CA and a certificate for the shop in the certificate directory (0700).
mkdir -p "$run/pki" && install -d -m 0700 "$run/certs"
pki="$run/pki"
if [ ! -s "$pki/ca.crt" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=proxym example CA" \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
fi
issue() {  # issue NAME CN SUBJECT-ALT-NAMES -> $pki/NAME.crt, .key, .pem (certificate + key)
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
    -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
  printf 'subjectAltName=%s\n' "$3" >"$pki/$1.ext"
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 30 \
    -extfile "$pki/$1.ext" -out "$pki/$1.crt" 2>/dev/null
  cat "$pki/$1.crt" "$pki/$1.key" >"$pki/$1.pem"
}
acme_env=()
if [ "${ACME:-0}" = 1 ]; then
  # pebble (ACME server) and its mock DNS, which answers 127.0.0.1 for every name; pebble validates
  # HTTP-01 by connecting to haproxy's HTTP frontend on 8080, which sends the challenge to lego.
  issue pebble localhost DNS:localhost,IP:127.0.0.1
  cat >"$run/pebble.json" <<JSON
{ "pebble": { "listenAddress": "127.0.0.1:14000", "managementListenAddress": "127.0.0.1:15000",
  "certificate": "$pki/pebble.crt", "privateKey": "$pki/pebble.key", "httpPort": 8080, "tlsPort": 5001 } }
JSON
  pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 127.0.0.1:18053 -http01 "" -https01 "" \
    -tlsalpn01 "" -management 127.0.0.1:18055 >"$run/challtestsrv.log" 2>&1 & pids+=($!)
  PEBBLE_VA_NOSLEEP=1 pebble -config "$run/pebble.json" -dnsserver 127.0.0.1:18053 >"$run/pebble.log" 2>&1 & pids+=($!)
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/14000) 2>/dev/null && break; sleep 0.1; done
  acme_env=(PROXYM_ACME_ENABLED=1 PROXYM_ACME_DIRECTORY=https://127.0.0.1:14000/dir PROXYM_ACME_EMAIL=ops@example.test
    PROXYM_ACME_CA_FILE="$pki/ca.crt" PROXYM_ACME_HTTP_PORT=18402)
  rm -f "$run/certs/shop.pem"
else
  [ -s "$run/certs/shop.pem" ] || { issue shop shop.example.com DNS:shop.example.com && cp "$pki/shop.pem" "$run/certs/shop.pem"; }
fi

cat <<TXT
proxym example: haproxy will listen on 127.0.0.1:8080 (HTTP virtual hosts), 127.0.0.1:8443 (the same
over HTTPS) and 127.0.0.1:16379 (TCP).
Try, in another terminal:
  curl -H 'Host: shop.example.com' http://127.0.0.1:8080/     # -> blue
  curl -H 'Host: api.example.com'  http://127.0.0.1:8080/     # -> green
  curl http://127.0.0.1:16379/                                # TCP listener, both backends
  curl --cacert $pki/ca.crt --resolve shop.example.com:8443:127.0.0.1 https://shop.example.com:8443/   # -> blue
Then edit $here/services/shop.json (change 18081 to 18082) and curl again: -> green.
What proxym is doing (its status listener on 127.0.0.1:9911):
  curl 127.0.0.1:9911/healthz                                 # ok, or 503 and why
  curl 127.0.0.1:9911/api/v1/status                           # sources, refreshes, haproxy (JSON)
  curl 127.0.0.1:9911/api/v1/services                         # what is routed, what was skipped and why
  curl 127.0.0.1:9911/metrics                                 # Prometheus metrics
  open http://127.0.0.1:9911/ in a browser                    # the status page
  $bin status                                      # the same as a short summary
A certificate for api.example.com dropped into $run/certs is served within a second, without a reload:
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=api.example.com \\
    -addext subjectAltName=DNS:api.example.com -keyout /tmp/api.key -out /tmp/api.crt 2>/dev/null
  cat /tmp/api.crt /tmp/api.key > $run/certs/.api.tmp && mv $run/certs/.api.tmp $run/certs/api.pem
  curl -vk --resolve api.example.com:8443:127.0.0.1 https://api.example.com:8443/ 2>&1 | grep subject:
With ACME=1 the shop's certificate comes from the local pebble (about 10 s after the start; the
issuer's root: curl --cacert $pki/ca.crt https://127.0.0.1:15000/roots/0).
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
export PROXYM_STATUS_ADDRESS=127.0.0.1:9911
export PROXYM_HAPROXY_HTTPS_PORT=8443
export PROXYM_HAPROXY_TLS_CERTS_PATH="$run/certs"
export PROXYM_HAPROXY_TLS_STATE_PATH="$run/proxym-tls"
env "${acme_env[@]}" "$bin" run
