#!/usr/bin/env bash
# End-to-end test of the .deb under a real systemd: builds the package (make deb), bootstraps a
# Debian 12 root with haproxy, boots it with systemd-nspawn, installs the package with apt and walks
# through what a new user does: install, drop a service file, see traffic routed, edit, reload,
# break a file, stop, upgrade, remove, purge. One PASS/FAIL line per check, a summary, exit status 1
# on any failure. The container is powered off and its root deleted at the end, also on failure.
#
#   bash packaging/test-in-systemd.sh          (as root; .ci/run calls it after the unit tests)
#
# Environment (all optional):
#   PROXYM_TEST_DEB=path      test this .deb instead of building one (the test backend must exist too)
#   PROXYM_TEST_BASE_ROOT=dir copy this debootstrapped root instead of running debootstrap (faster
#                             when iterating; it must contain systemd, dbus, procps and haproxy)
#   PROXYM_TEST_MIRROR=url    Debian mirror for debootstrap (default http://deb.debian.org/debian)
#
# The container shares the host's network (no --private-network): its haproxy binds 127.0.0.1 on
# random free high ports chosen below, configured in /etc/proxym/proxym.conf inside the container.
# Before installing, a proxym.service drop-in (not part of the package) sets the same port, so
# the first start never binds port 80 on the host.
set -uo pipefail

top="$(cd "$(dirname "$0")/.." && pwd)"
started=$(date +%s)
name="proxym-test-$$"
work=""
root=""
nspawn_pid=""
leader=""
passed=0
failed=0
failures=()

log() { printf '[%4ss] %s\n' "$(($(date +%s) - started))" "$*"; }
pass() { passed=$((passed + 1)); printf 'PASS  %s\n' "$1"; }
fail() {
  failed=$((failed + 1)); failures+=("$1"); printf 'FAIL  %s\n' "$1"
  [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/      | /' | head -40
  return 0
}
# check "description" command...: PASS when the command succeeds.
check() {
  local what="$1"; shift
  local out
  if out="$("$@" 2>&1)"; then pass "$what"; else fail "$what" "$out"; fi
}
# A fatal step: without it the remaining checks mean nothing.
must() {
  local what="$1"; shift
  local out
  if out="$("$@" 2>&1)"; then pass "$what"; else fail "$what" "$out"; summary; exit 1; fi
}

# Runs a shell command line inside the container (through its init's namespaces), bounded.
inside() {
  local limit=60
  if [ "$1" = "-t" ]; then limit="$2"; shift 2; fi
  timeout --kill-after=5 "$limit" nsenter -t "$leader" -a \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    sh -c "$1" </dev/null
}

summary() {
  local elapsed=$(($(date +%s) - started))
  echo
  echo "SUMMARY: $passed passed, $failed failed, ${elapsed}s"
  for f in "${failures[@]}"; do echo "  failed: $f"; done
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    log "powering the container off"
    if [ -n "$leader" ]; then inside -t 20 'systemctl poweroff' >/dev/null 2>&1 || true; fi
    for _ in $(seq 1 60); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$nspawn_pid" 2>/dev/null; then
      log "container still running after 30 s: SIGTERM to systemd-nspawn ($nspawn_pid)"
      kill -TERM "$nspawn_pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$nspawn_pid" 2>/dev/null && kill -KILL "$nspawn_pid" 2>/dev/null || true
    fi
    wait "$nspawn_pid" 2>/dev/null || true
  fi
  if [ -n "$work" ] && [ -d "$work" ]; then
    log "removing $work"
    rm -rf --one-file-system "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'fail "interrupted"; summary; exit 130' INT TERM

[ "$(id -u)" = 0 ] || { echo "test-in-systemd: run as root (debootstrap, systemd-nspawn)" >&2; exit 2; }

# --- Host tools ------------------------------------------------------------------------------------
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v curl >/dev/null || need+=(curl)
command -v ss >/dev/null || need+=(iproute2)
if [ "${#need[@]}" -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get update -q >/dev/null && timeout 300 apt-get install -y -q "${need[@]}" >/dev/null ||
    { echo "test-in-systemd: cannot install ${need[*]}" >&2; exit 2; }
fi

# --- Build ----------------------------------------------------------------------------------------
version="$(sed -n 's/.*static let string = "\(.*\)".*/\1/p' "$top/Sources/ProxymCore/ProxymVersion.swift")"
deb="${PROXYM_TEST_DEB:-}"
if [ -z "$deb" ]; then
  log "building the package (make deb)"
  build_log="$(mktemp)"
  if timeout 1200 make -C "$top" deb >"$build_log" 2>&1; then
    pass "make deb builds dist/proxym_${version}_amd64.deb"
    sed -n '/^build-deb: lintian/,$p' "$build_log" | grep -v 'spelling-error-in-binary' | sed 's/^/      /'
    rm -f "$build_log"
  else
    fail "make deb builds dist/proxym_${version}_amd64.deb" "$(tail -40 "$build_log")"
    rm -f "$build_log"; summary; exit 1
  fi
  deb="$top/dist/proxym_${version}_amd64.deb"
fi
backend="$top/.build/release/proxym-test-backend"
must "package and test backend exist" test -f "$deb" -a -x "$backend"
must "test backend needs no Swift runtime library" \
  sh -c "! readelf -d '$backend' | grep -q 'NEEDED.*libswift'"

# --- Ports ----------------------------------------------------------------------------------------
# Below the kernel's ephemeral range, so no outgoing connection on the host takes them meanwhile.
port_in_use() { [ -n "$(ss -Htanu "( sport = :$1 )" 2>/dev/null)" ]; }
ephemeral_low="$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
[ "$ephemeral_low" -gt 12000 ] || ephemeral_low=32768
chosen=()
pick_port() {
  local p
  while :; do
    p=$((10000 + (RANDOM * 32768 + RANDOM) % (ephemeral_low - 10000)))
    port_in_use "$p" && continue
    [[ " ${chosen[*]} " == *" $p "* ]] && continue
    chosen+=("$p"); echo "$p"; return
  done
}
http_port=$(pick_port); chosen+=("$http_port")
blue_port=$(pick_port); chosen+=("$blue_port")
green_port=$(pick_port); chosen+=("$green_port")
log "ports: haproxy HTTP $http_port, backends blue $blue_port, green $green_port (127.0.0.1)"

# --- Root file system -----------------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/var/tmp}/proxym-systemd-test.XXXXXX")"
root="$work/root"
if [ -n "${PROXYM_TEST_BASE_ROOT:-}" ]; then
  log "copying $PROXYM_TEST_BASE_ROOT"
  must "root file system copied" cp -a "$PROXYM_TEST_BASE_ROOT" "$root"
else
  log "debootstrap bookworm (minbase + systemd, dbus, procps, haproxy)"
  must "debootstrap --variant=minbase bookworm" timeout 400 debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,procps,haproxy bookworm "$root" \
    "${PROXYM_TEST_MIRROR:-http://deb.debian.org/debian}"
fi
cp "$deb" "$root/root/proxym_${version}_amd64.deb"
install -m 0755 "$backend" "$root/usr/local/bin/proxym-test-backend"
# Upgrade candidate: the same package with a higher version (dpkg-deb re-pack).
mkdir -p "$work/repack"
dpkg-deb -R "$deb" "$work/repack/tree"
up_version="${version}+systemdtest1"
sed -i "s/^Version: .*/Version: $up_version/" "$work/repack/tree/DEBIAN/control"
dpkg-deb --root-owner-group -b "$work/repack/tree" "$root/root/proxym_${up_version}_amd64.deb" >/dev/null
rm -rf "$work/repack"
# Site settings before the install (see the header): the same port the test then puts into proxym.conf.
mkdir -p "$root/etc/systemd/system/proxym.service.d"
printf '[Service]\nEnvironmentFile=/etc/proxym-test.env\n' >"$root/etc/systemd/system/proxym.service.d/test-ports.conf"
printf 'PROXYM_HAPROXY_HTTP_PORT=%s\nPROXYM_HAPROXY_BIND_ADDRESS=127.0.0.1\n' "$http_port" >"$root/etc/proxym-test.env"
haproxy_cfg_md5="$(md5sum <"$root/etc/haproxy/haproxy.cfg")"

# --- Boot -----------------------------------------------------------------------------------------
log "booting the container ($name)"
setsid systemd-nspawn --register=no --keep-unit -M "$name" -D "$root" --boot --console=read-only \
  >"$work/boot.log" 2>&1 </dev/null &
nspawn_pid=$!
# The container's init is nspawn's child once it has exec'd systemd (its comm is then "systemd").
for _ in $(seq 1 200); do
  leader="$(ps -o pid=,comm= --ppid "$nspawn_pid" 2>/dev/null | awk '$2 == "systemd" {print $1; exit}')"
  [ -n "$leader" ] && break
  sleep 0.1
done
must "systemd-nspawn started the container's init" test -n "$leader"
t0=$(date +%s)
state=""
while [ $(($(date +%s) - t0)) -lt 90 ]; do
  state="$(inside -t 90 'systemctl is-system-running --wait' 2>&1)"
  case "$state" in running | degraded) break ;; esac
  sleep 0.2
done
must "container booted in $(($(date +%s) - t0)) s (is-system-running: $state)" \
  sh -c "[ '$state' = running ] || [ '$state' = degraded ]"
check "haproxy active before install" inside 'systemctl is-active haproxy'

# --- Install --------------------------------------------------------------------------------------
log "apt-get install ./proxym_${version}_amd64.deb"
out="$(inside -t 300 "apt-get install -y /root/proxym_${version}_amd64.deb" 2>&1)"
if [ $? -eq 0 ]; then pass "apt-get install ./proxym_${version}_amd64.deb exits 0"; else
  fail "apt-get install ./proxym_${version}_amd64.deb exits 0" "$out"; summary; exit 1; fi
if grep -q -i "configuration file" <<<"$out"; then fail "install asked nothing" "$out"; else pass "install asked nothing"; fi
check "proxym enabled" inside 'systemctl is-enabled proxym'
check "proxym active" inside 'systemctl is-active proxym'
check "haproxy active" inside 'systemctl is-active haproxy'
show="$(inside 'systemctl show proxym -p Type,StatusText,NRestarts,WatchdogUSec,ProtectSystem,NoNewPrivileges' 2>&1)"
echo "$show" | sed 's/^/      /'
check "Type=notify" grep -qx 'Type=notify' <<<"$show"
check "NRestarts=0" grep -qx 'NRestarts=0' <<<"$show"
check "StatusText set by proxym (0 services, applied)" grep -q '^StatusText=0 services .*applied' <<<"$show"
check "WatchdogSec=20s" grep -qx 'WatchdogUSec=20s' <<<"$show"
check "sandboxed (ProtectSystem=strict, NoNewPrivileges)" \
  bash -c 'grep -qx ProtectSystem=strict <<<"$1" && grep -qx NoNewPrivileges=yes <<<"$1"' _ "$show"
check "haproxy master runs on /var/lib/proxym/haproxy.cfg" \
  inside 'tr "\0" " " </proc/$(systemctl show -p MainPID --value haproxy)/cmdline | grep -q -- "-f /var/lib/proxym/haproxy.cfg "'
check "proxym rendered the HTTP frontend on 127.0.0.1:$http_port" \
  grep -q "bind 127.0.0.1:$http_port" "$root/var/lib/proxym/haproxy.cfg"
check "certificate directory /etc/proxym/certs made, mode 0700" \
  sh -c "[ \"\$(stat -c %a '$root/etc/proxym/certs')\" = 700 ]"
check "/etc/haproxy/haproxy.cfg untouched" sh -c "[ '$(md5sum <"$root/etc/haproxy/haproxy.cfg")' = '$haproxy_cfg_md5' ]"
check "example service shipped disabled" \
  sh -c "test -f '$root/etc/proxym/services/example.json.disabled' && ! ls '$root'/etc/proxym/services/*.json 2>/dev/null"

# The port moves into /etc/proxym/proxym.conf (an edited conffile, kept by the upgrade below); the
# pre-install drop-in goes away.
sed -i -e "s/^PROXYM_HAPROXY_HTTP_PORT=.*/PROXYM_HAPROXY_HTTP_PORT=$http_port/" \
  -e "s/^#PROXYM_HAPROXY_BIND_ADDRESS=.*/PROXYM_HAPROXY_BIND_ADDRESS=127.0.0.1/" "$root/etc/proxym/proxym.conf"
rm -f "$root/etc/systemd/system/proxym.service.d/test-ports.conf" "$root/etc/proxym-test.env"
check "restart on settings from /etc/proxym/proxym.conf" \
  inside 'systemctl daemon-reload && systemctl restart proxym && systemctl is-active proxym'
check "HTTP port now comes from proxym.conf (no drop-in left, same bind)" \
  bash -c '! nsenter -t "$1" -a systemctl show proxym -p DropInPaths | grep -q test-ports &&
           grep -q "bind 127.0.0.1:$2" "$3/var/lib/proxym/haproxy.cfg"' _ "$leader" "$http_port" "$root"

# --- Routing --------------------------------------------------------------------------------------
check "backends started in the container" inside "
  systemd-run --unit=test-backend-blue /usr/local/bin/proxym-test-backend --name blue --port $blue_port &&
  systemd-run --unit=test-backend-green /usr/local/bin/proxym-test-backend --name green --port $green_port &&
  for i in \$(seq 1 50); do systemctl is-active -q test-backend-blue test-backend-green && break; sleep 0.1; done"
for _ in $(seq 1 50); do curl -s -m 1 "http://127.0.0.1:$green_port/" >/dev/null && break; sleep 0.1; done

# drop FILE JSON: writes a service file the way editors and tools should (temp name, then rename).
drop() {
  printf '%s\n' "$2" >"$root/etc/proxym/services/.$1.tmp"
  mv -f "$root/etc/proxym/services/.$1.tmp" "$root/etc/proxym/services/$1"
}
# routed HOST WANT LIMIT_MS: polls haproxy until HOST answers WANT; prints the time it took.
routed() {
  local host="$1" want="$2" limit="$3" t0 now body
  t0=$(date +%s%N)
  while :; do
    body="$(curl -s -m 1 -H "Host: $host" "http://127.0.0.1:$http_port/" 2>/dev/null)"
    now=$(date +%s%N)
    if [ "$body" = "$want" ]; then echo "$(((now - t0) / 1000000)) ms"; return 0; fi
    if [ $(((now - t0) / 1000000)) -gt $((limit * 3)) ]; then echo "never (last answer: '${body:-none}')"; return 1; fi
    sleep 0.02
  done
}
route_check() {
  local what="$1" host="$2" want="$3" limit="$4" took ms
  took="$(routed "$host" "$want" "$limit")"
  ms="${took%% ms}"
  if [[ "$took" == *" ms" ]] && [ "$ms" -le "$limit" ]; then pass "$what ($took)"; else fail "$what (took $took, limit ${limit} ms)"; fi
}

drop web.json "{\"id\": \"/shop/web\", \"domain\": \"shop.test\", \"servicePort\": $http_port,
  \"hosts\": [{\"ip\": \"127.0.0.1\", \"port\": $blue_port}]}"
route_check "new service file routes shop.test -> blue within 1 s" shop.test blue 1000
drop web.json "{\"id\": \"/shop/web\", \"domain\": \"shop.test\", \"servicePort\": $http_port,
  \"hosts\": [{\"ip\": \"127.0.0.1\", \"port\": $green_port}]}"
route_check "edited service file routes shop.test -> green within 1 s" shop.test green 1000
check "StatusText: 1 service, applied" inside 'systemctl show proxym -p StatusText | grep -q "=1 service (file 1).*applied"'

# --- systemctl reload proxym ----------------------------------------------------------------------
# SIGHUP = full resync that re-applies: proxym has haproxy reload (a new worker, then haproxy's
# READY=1) before its own READY=1. So if `systemctl reload proxym` waits for RELOADING=1 ... READY=1,
# haproxy's newest worker is already a new process when it returns.
newest_worker='ps -o pid= --ppid "$(systemctl show -p MainPID --value haproxy)" | tr -d " " | sort -n | tail -1'
worker_before="$(inside "$newest_worker")"
t0=$(date +%s%N)
check "systemctl reload proxym exits 0" inside -t 40 'systemctl reload proxym'
reload_ms=$((($(date +%s%N) - t0) / 1000000))
# proxym's re-apply ran `systemctl reload haproxy` before its READY=1; on bookworm that returns once
# `kill -USR2` has been sent (haproxy 2.6 has no notify-reload), so haproxy's new worker follows on
# its own time: a loaded machine can take more than the reload itself (seen: 253 ms, same worker).
worker_after="$(inside "$newest_worker")"
deadline=$(($(date +%s%N) + 3000000000))
while [ "${worker_after:-0}" -le "${worker_before:-0}" ] && [ "$(date +%s%N)" -lt "$deadline" ]; do
  sleep 0.05
  worker_after="$(inside "$newest_worker")"
done
check "reload re-applied: haproxy reloaded, its new worker up within 3 s (reload ${reload_ms} ms; worker $worker_before -> $worker_after)" \
  test "${worker_after:-0}" -gt "${worker_before:-0}"
check "active, not reloading, after reload" \
  inside 'systemctl show proxym -p ActiveState,StatusText | tr "\n" " " | grep -q "ActiveState=active" &&
          ! systemctl show proxym -p StatusText | grep -q Reloading'
check "journal shows the SIGHUP resync" inside 'journalctl -u proxym -o cat | grep -q "SIGHUP: full resync"'

# --- Broken inputs --------------------------------------------------------------------------------
drop broken.json '{"id": "/broken", "servicePort": '
sleep 1
check "broken file: routing intact" sh -c "[ \"\$(curl -s -m 2 -H 'Host: shop.test' http://127.0.0.1:$http_port/)\" = green ]"
check "broken file: error in journalctl -u proxym -p err" \
  inside 'journalctl -u proxym -p err -o cat | grep -q "broken.json: invalid JSON"'
check "broken file: proxym still active" inside 'systemctl is-active proxym'
rm -f "$root/etc/proxym/services/broken.json"
# A config haproxy itself rejects (an invalid per-service option line) is never installed.
# The options directory is not watched: `systemctl reload proxym` applies it (as documented).
mkdir -p "$root/etc/proxym/haproxy/shop.test_$http_port"
printf 'no-such-haproxy-keyword 1\n' >"$root/etc/proxym/haproxy/shop.test_$http_port/config"
check "rejected config: systemctl reload proxym exits 0" inside -t 40 'systemctl reload proxym'
check "rejected config logged at err" inside -t 20 '
  for i in $(seq 1 50); do journalctl -u proxym -p err -o cat | grep -q "haproxy rejected the new config" && exit 0; sleep 0.1; done; exit 1'
check "rejected config: routing intact, candidate kept as .rejected" \
  sh -c "[ \"\$(curl -s -m 2 -H 'Host: shop.test' http://127.0.0.1:$http_port/)\" = green ] &&
         grep -q no-such-haproxy-keyword '$root/var/lib/proxym/haproxy.cfg.rejected' &&
         ! grep -q no-such-haproxy-keyword '$root/var/lib/proxym/haproxy.cfg'"
rm -rf "$root/etc/proxym/haproxy/shop.test_$http_port"
check "fixed input applied again" inside 'systemctl reload proxym && systemctl show proxym -p StatusText | grep -q applied'

# --- Watchdog -------------------------------------------------------------------------------------
# WatchdogSec=20s: proxym pings every 10 s and systemd records each ping in WatchdogTimestamp.
# Nothing else happens to the unit meanwhile, so a newer timestamp within 12 s is a ping.
wd1="$(inside 'systemctl show proxym -p WatchdogTimestampMonotonic --value')"
wd2="$wd1"
t0=$(date +%s)
while [ $(($(date +%s) - t0)) -lt 12 ]; do
  wd2="$(inside 'systemctl show proxym -p WatchdogTimestampMonotonic --value')"
  [ "${wd2:-0}" -gt "${wd1:-0}" ] && break
  sleep 0.5
done
check "watchdog: WATCHDOG=1 pings arrive (WatchdogTimestamp advanced within $(($(date +%s) - t0)) s)" \
  test "${wd2:-0}" -gt "${wd1:-0}"

# --- haproxy's own maintenance --------------------------------------------------------------------
check "haproxy's conffile never modified (dpkg --verify haproxy)" inside '[ -z "$(dpkg --verify haproxy)" ]'
hap_deb="$(cd "$root/var/cache/apt/archives" 2>/dev/null && ls haproxy_*.deb 2>/dev/null | head -1)"
if [ -n "$hap_deb" ]; then
  out="$(inside -t 120 "dpkg -i /var/cache/apt/archives/$hap_deb" 2>&1)"
  if [ $? -eq 0 ] && ! grep -qi "configuration file" <<<"$out"; then pass "haproxy reinstall: no prompt"; else fail "haproxy reinstall: no prompt" "$out"; fi
  check "after haproxy reinstall: still proxym's config, still routing" \
    sh -c "[ \"\$(curl -s -m 2 -H 'Host: shop.test' http://127.0.0.1:$http_port/)\" = green ]"
fi

# --- Stop -----------------------------------------------------------------------------------------
check "systemctl stop proxym exits 0" inside -t 100 'systemctl stop proxym'
check "stopped cleanly (inactive, Result=success, status 0)" \
  inside 'systemctl show proxym -p ActiveState,Result,ExecMainStatus | sort | tr "\n" " " |
          grep -qx "ActiveState=inactive ExecMainStatus=0 Result=success "'
check "journal: stopping ... proxym stopped" inside 'journalctl -u proxym -o cat | grep -q "proxym stopped"'
check "haproxy keeps serving while proxym is stopped" \
  sh -c "[ \"\$(curl -s -m 2 -H 'Host: shop.test' http://127.0.0.1:$http_port/)\" = green ]"
check "start again" inside -t 60 'systemctl start proxym && systemctl is-active proxym'

# --- Upgrade --------------------------------------------------------------------------------------
echo "# local edit kept across upgrades" >>"$root/etc/proxym/haproxy/global.cfg"
sums_before="$(cd "$root/etc/proxym" && md5sum proxym.conf haproxy/global.cfg)"
pid_before="$(inside 'systemctl show proxym -p MainPID --value')"
log "upgrade to $up_version"
out="$(inside -t 300 "apt-get install -y /root/proxym_${up_version}_amd64.deb" 2>&1)"
rc=$?
if [ $rc -eq 0 ] && ! grep -qi -e "configuration file" -e "conffile" <<<"$out"; then
  pass "upgrade to $up_version: exit 0, no prompt (stdin /dev/null, DEBIAN_FRONTEND=noninteractive)"
else
  fail "upgrade to $up_version: exit 0, no prompt" "$out"
fi
check "upgrade: version installed" inside "dpkg-query -W -f='\${Version}' proxym | grep -qx '$up_version'"
check "upgrade: edited proxym.conf and global.cfg kept" \
  sh -c "[ \"\$(cd '$root/etc/proxym' && md5sum proxym.conf haproxy/global.cfg)\" = '$sums_before' ]"
check "upgrade: no .dpkg-dist/.dpkg-new left in /etc/proxym" \
  sh -c "[ -z \"\$(find '$root/etc/proxym' -name '*.dpkg-*')\" ]"
pid_after="$(inside 'systemctl show proxym -p MainPID --value')"
check "upgrade: proxym restarted (MainPID $pid_before -> $pid_after) and active" \
  sh -c "[ '$pid_after' != '$pid_before' ] && [ '$pid_after' != 0 ]"
check "upgrade: NRestarts=0" inside 'systemctl show proxym -p NRestarts | grep -qx NRestarts=0'
route_check "upgrade: still routing" shop.test green 1000

# --- Remove ---------------------------------------------------------------------------------------
out="$(inside -t 120 'apt-get remove -y proxym' 2>&1)"
check "apt-get remove exits 0" test $? -eq 0
check "remove: proxym stopped" inside '! systemctl is-active -q proxym'
check "remove: haproxy active" inside 'systemctl is-active haproxy'
check "remove: haproxy back on /etc/haproxy/haproxy.cfg" \
  inside 'tr "\0" " " </proc/$(systemctl show -p MainPID --value haproxy)/cmdline | grep -q -- "-f /etc/haproxy/haproxy.cfg "'
check "remove: drop-in gone, proxym's HTTP frontend gone" \
  sh -c "! test -e '$root/lib/systemd/system/haproxy.service.d/proxym.conf' &&
         ! curl -s -m 2 -H 'Host: shop.test' http://127.0.0.1:$http_port/ >/dev/null"
check "remove: configuration kept" test -f "$root/etc/proxym/proxym.conf" -a -f "$root/etc/proxym/services/web.json"

# --- Purge ----------------------------------------------------------------------------------------
out="$(inside -t 120 'apt-get purge -y proxym' 2>&1)"
check "apt-get purge exits 0" test $? -eq 0
check "purge: /etc/proxym and /var/lib/proxym removed" sh -c "! test -e '$root/etc/proxym' && ! test -e '$root/var/lib/proxym'"
check "purge: package gone" inside '! dpkg-query -W proxym 2>/dev/null'
check "purge: haproxy still active on its own config" \
  inside 'systemctl is-active haproxy && tr "\0" " " </proc/$(systemctl show -p MainPID --value haproxy)/cmdline | grep -q -- "-f /etc/haproxy/haproxy.cfg "'
check "purge: haproxy's config valid and untouched" \
  sh -c "[ '$(md5sum <"$root/etc/haproxy/haproxy.cfg")' = '$haproxy_cfg_md5' ]"

summary
[ "$failed" -eq 0 ]
