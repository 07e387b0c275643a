#!/usr/bin/env bash
# The lab part of scripts/bench: real TCP (client namespace → VIP 10.0.2.100:80 → two
# nginx real servers) through these directors on one topology, one after the other:
# rvsd NAT and DR on each of DPDK's two PMDs that can drive a veth (net_af_packet and
# net_af_xdp, one worker, alternated so that drift in the shared machine's load hits
# both alike), the director namespace's own kernel with an nftables DNAT round robin,
# and HAProxy in TCP mode. Per director two wrk runs:
#   - connections/s: `/` ("Web Server N") with "Connection: close", so every request
#     is a new TCP connection through the director;
#   - throughput: `/big.bin` (20 MiB) over keep-alive connections.
# Usage: benches/lab.sh OUT.json (needs RVSD=path/to/rvsd, WRK_SECS).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$1
RVSD=${RVSD:?}
SECS=${WRK_SECS:-8}
VIP=10.0.2.100
TMP=$(mktemp -d /tmp/rvs-bench-lab.XXXXXX)
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Lab tests hold this lock while they use the lab; wait our turn.
exec 9>/run/rvs-lab.lock
flock 9

cleanup() {
  [ -n "${RVSD_PID:-}" ] && kill "$RVSD_PID" 2>/dev/null || true
  [ -f "$TMP/haproxy.pid" ] && kill "$(cat "$TMP/haproxy.pid")" 2>/dev/null || true
  scripts/lab down >/dev/null 2>&1 || true
  rm -rf "$TMP" /var/run/dpdk/rvs-bench-lab
}
trap cleanup EXIT
scripts/lab up

wait_vip() {
  for _ in $(seq 1 100); do
    nsx rvs-client curl -s -m 1 "http://$VIP/" 2>/dev/null | grep -q "Web Server" && return 0
    sleep 0.2
  done
  echo "lab bench: $1 does not answer on $VIP:80" >&2
  return 1
}

ROWS=()
# wrk_row NAME MODE [PMD]: two wrk runs, one JSON row
wrk_row() {
  local name=$1 mode=$2 pmd=${3:-} c t rps conns xfer gbit
  c=$(nsx rvs-client wrk -t2 -c50 -d"${SECS}s" -H "Connection: close" "http://$VIP/" 2>&1)
  t=$(nsx rvs-client wrk -t2 -c50 -d"${SECS}s" --timeout 30s "http://$VIP/big.bin" 2>&1)
  conns=$(awk '/Requests\/sec/{print $2}' <<<"$c")
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$t")
  xfer=$(awk '/Transfer\/sec/{print $2}' <<<"$t")
  gbit=$(python3 -c "
import re,sys
m=re.match(r'([0-9.]+)([KMG]?)B',sys.argv[1] or '0B')
v=float(m.group(1))*{'':1,'K':1024,'M':1024**2,'G':1024**3}[m.group(2)] if m else 0
print(round(v*8/1e9,3))" "$xfer")
  local errs pj=null
  [ -z "$pmd" ] || pj="\"$pmd\""
  errs=$( (grep -E "Socket errors|Non-2xx" <<<"$c$t" || true) | tr '\n' ';')
  echo "  $name: ${conns:-0} connections/s, ${gbit} Gbit/s ${errs}"
  ROWS+=("{\"case\": \"lab $name\", \"mode\": \"$mode\", \"pmd\": $pj, \"flows\": 50, \"mpps\": null, \"ns_per_packet\": null, \"connections_per_second\": ${conns:-0}, \"requests_per_second\": ${conns:-0}, \"gbit_per_second\": $gbit, \"errors\": \"$errs\"}")
}

# vdev PMD IF N: rvsd's --vdev for port N on veth IF. af_xdp: the veth's one queue (DPDK
# 22.11 sees no combined channels on a veth, so one queue is all it allows), and no busy
# polling: with it (22.11's default) every empty poll is a recvfrom() syscall, CPU that a
# 2-core lab's kernel stacks need (measured: fewer connections/s and Gbit/s with it).
vdev() {
  case $1 in
    af_packet) echo "net_af_packet$3,iface=$2,qpairs=1" ;;
    af_xdp) echo "net_af_xdp$3,iface=$2,start_queue=0,queue_count=1,busy_budget=0" ;;
  esac
}

rvsd_run() { # rvsd_run METHOD PMD NAME
  local cfg=$TMP/rvsd-$1-$2
  sed -e "s/method = \"masq\"/method = \"$1\"/" \
      -e "s|\"--vdev=net_af_[a-z]*0,[^\"]*\"|\"--vdev=$(vdev "$2" dwan 0)\"|" \
      -e "s|\"--vdev=net_af_[a-z]*1,[^\"]*\"|\"--vdev=$(vdev "$2" dlan 1)\"|" \
      -e "s/^device = \"net_af_[a-z]*\([01]\)\"/device = \"net_$2\1\"/" \
      -e 's/--file-prefix=rvsd-demo/--file-prefix=rvs-bench-lab/' \
      -e 's|^socket = .*|socket = "/run/rvs/rvsd-bench.sock"|' \
      -e 's/^conn_capacity = .*/conn_capacity = 1048576/' \
      dpdk-config/demo.toml >"$cfg.toml"
  # Both ports on the PMD asked for (a reworded demo.toml would silently measure the other).
  [ "$(grep -c -e "^device = \"net_$2[01]\"" -e "\"--vdev=net_$2[01]," "$cfg.toml")" = 4 ] || { echo "lab bench: no $2 ports in $cfg.toml" >&2; return 1; }
  # `ip netns exec` execs rvsd: $! is rvsd itself.
  ip netns exec rvs-director "$RVSD" --config "$cfg.toml" >"$cfg.log" 2>&1 &
  RVSD_PID=$!
  wait_vip "rvsd ($1, $2)" || { cat "$cfg.log" >&2; return 1; }
  wrk_row "$3" "$1" "$2"
  if ! kill -TERM "$RVSD_PID" 2>/dev/null; then
    echo "lab bench: rvsd ($1, $2) had exited before SIGTERM:" >&2; tail -5 "$cfg.log" >&2
  fi
  wait "$RVSD_PID" || true; RVSD_PID=
}

rvsd_run masq af_packet "rvsd NAT, af_packet"
rvsd_run masq af_xdp "rvsd NAT, af_xdp"
rvsd_run route af_packet "rvsd DR, af_packet"
rvsd_run route af_xdp "rvsd DR, af_xdp"

# The director's kernel takes rvsd's addresses while rvsd is not running, on dwan/dlan
# themselves: the lab keeps its stack off them for rvsd (lab/bpf/stack_off.c), so that
# filter goes for these rows.
nsx rvs-director tc qdisc del dev dwan clsact
nsx rvs-director tc qdisc del dev dlan clsact
nsx rvs-director ip addr add 10.0.2.2/24 dev dwan
nsx rvs-director ip addr add "$VIP/32" dev dwan
nsx rvs-director ip addr add 10.0.3.1/24 dev dlan
nsx rvs-director ip route add default via 10.0.2.1
nsx rvs-director ip route add 10.0.4.0/24 via 10.0.3.254
nsx rvs-director sysctl -qw net.ipv4.ip_forward=1
nsx rvs-client ip neigh flush all 2>/dev/null || true
nsx rvs-router ip neigh flush dev rtr-wan 2>/dev/null || true

nsx rvs-director nft -f - <<NFT
table ip rvsbench {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr $VIP tcp dport 80 dnat to numgen inc mod 2 map { 0 : 10.0.3.11, 1 : 10.0.3.12 }
  }
}
NFT
wait_vip "kernel nftables"
wrk_row "kernel nftables DNAT" "kernel-nat"
nsx rvs-director nft delete table ip rvsbench
nsx rvs-director sysctl -qw net.ipv4.ip_forward=0

cat >"$TMP/haproxy.cfg" <<HAP
global
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend vip
  bind $VIP:80
  default_backend web
backend web
  balance roundrobin
  server rs1 10.0.3.11:80
  server rs2 10.0.3.12:80
HAP
nsx rvs-director haproxy -f "$TMP/haproxy.cfg" -D -p "$TMP/haproxy.pid"
wait_vip "haproxy"
wrk_row "HAProxy (TCP mode)" "haproxy"
kill "$(cat "$TMP/haproxy.pid")"; rm -f "$TMP/haproxy.pid"

nsx rvs-director ip addr flush dev dwan
nsx rvs-director ip addr flush dev dlan

{ echo "["; (IFS=$'\n'; echo "${ROWS[*]}" | sed '$!s/$/,/'); echo "]"; } >"$OUT"
