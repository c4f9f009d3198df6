#!/bin/sh
# start-dns.sh [start|stop|status|restart] - the test DNS: unbound, authoritative only, on
# 127.0.0.53:5300 (udp+tcp). Zone data: test/dns/zones.conf. It never recurses: the root is a
# static local zone, so names outside the zones are NXDOMAIN and no query leaves the machine.
# `start` is idempotent; when the zone data changed since the running instance started, it
# restarts it. Exit 3: another server (without these zones) holds the address.
# Env: DNS_ADDR (127.0.0.53), DNS_PORT (5300), OUTPOST_PEERS_RUN (/tmp/outpost-peers).
# Needs: unbound, dnsutils (dig). The packaged unbound service is not used.
set -eu
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
ADDR=${DNS_ADDR:-127.0.0.53}; PORT=${DNS_PORT:-5300}
RUN=${OUTPOST_PEERS_RUN:-/tmp/outpost-peers}/dns
[ "$ADDR:$PORT" = 127.0.0.53:5300 ] || RUN=$RUN-$ADDR-$PORT
PID=$RUN/unbound.pid; CONF=$RUN/unbound.conf
ZONES=$root/test/dns/zones.conf
case "$ADDR" in 127.*) ;; *) echo "refusing non-loopback address $ADDR" >&2; exit 2;; esac
alive() { [ -f "$PID" ] && kill -0 "$(cat "$PID" 2>/dev/null)" 2>/dev/null; }
answers() { dig @"$ADDR" -p "$PORT" +time=1 +tries=1 +short "$1" MX 2>/dev/null | grep -qE "^[0-9]+ [a-z0-9.-]+\.\$"; }

stop() {
  if alive; then
    kill "$(cat "$PID")"
    for _ in $(seq 1 50); do alive || break; sleep 0.1; done
    echo "dns stopped"
  else echo "dns not running"; fi
  rm -f "$PID"
}

case "${1:-start}" in
stop)    stop; exit 0 ;;
status)  if alive; then echo "dns running pid $(cat "$PID") on $ADDR:$PORT"
         elif answers example.test; then echo "dns: another server answers on $ADDR:$PORT"
         else echo "dns not running"; exit 1; fi; exit 0 ;;
restart) stop ;;
start)   ;;
*)       echo "usage: $0 [start|stop|status|restart]" >&2; exit 2 ;;
esac

mkdir -p "$RUN"
cat > "$CONF.new" <<CONF
server:
  interface: $ADDR@$PORT
  access-control: 127.0.0.0/8 allow
  access-control: ::1 allow
  chroot: ""
  username: ""
  directory: "$RUN"
  pidfile: "$PID"
  logfile: "$RUN/unbound.log"
  use-syslog: no
  verbosity: 1
  do-daemonize: yes
  # no DNSSEC validator: it would want trust anchors from the internet
  module-config: "iterator"
  local-zone: "." static
  # any stray upstream query could only leave through loopback
  outgoing-interface: 127.0.0.1
  # small caches: test zones change between runs, answers must not outlive a restart anyway
  cache-max-ttl: 5
  cache-max-negative-ttl: 1
  num-threads: 1
CONF
cat "$ZONES" >> "$CONF.new"
cat >> "$CONF.new" <<CONF
remote-control:
  control-enable: no
CONF

if alive; then
  if cmp -s "$CONF" "$CONF.new"; then rm -f "$CONF.new"; echo "dns already running pid $(cat "$PID")"; exit 0; fi
  echo "zone data changed: restarting dns"; stop
fi
if answers example.test; then
  # Someone else's server holds the address (e.g. started from another checkout).
  if answers d20.example.test; then echo "dns: $ADDR:$PORT already answered by another unbound with these zones"; rm -f "$CONF.new"; exit 0; fi
  echo "dns: $ADDR:$PORT is served by another program without the zones of $ZONES:" >&2
  ss -Hlunp "sport = :$PORT" 2>/dev/null | grep -F "$ADDR:" | sed 's/^/dns:   /' >&2 || true
  echo "dns: stop it and run $0 again (exit 3)" >&2
  exit 3
fi
mv "$CONF.new" "$CONF"
unbound-checkconf "$CONF" >/dev/null 2>&1 || unbound-checkconf "$CONF"  # quiet unless broken
unbound -c "$CONF"
for _ in $(seq 1 50); do answers example.test && break; sleep 0.1; done
if alive && answers example.test; then echo "dns started pid $(cat "$PID") on $ADDR:$PORT"
else echo "dns failed to start; see $RUN/unbound.log" >&2; tail -5 "$RUN/unbound.log" >&2 || true; exit 1; fi
