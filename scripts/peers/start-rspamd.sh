#!/bin/sh
# start-rspamd.sh [start|stop|status|test] - rspamd (Debian) on loopback, offline: scan API
# POST http://127.0.0.1:11333/checkv2 (normal worker), controller on :11334, proxy on :11332.
# Uses the packaged /etc/rspamd/rspamd.conf with LOCAL_CONFDIR/DBDIR/RUNDIR/LOGDIR pointed at a
# private run dir; all its DNS goes to the test DNS (start-dns.sh first), so remote maps, RBLs
# and fuzzy hosts never resolve and nothing leaves the machine. No redis: bayes, neural,
# ratelimit and greylisting are off (harmless warnings in the log). First start ~15 s (it
# compiles its regular expressions and caches them in DBDIR); later starts ~1 s.
# Env: RSPAMD_PORT (11333; controller +1, proxy -1), DNS_ADDR/DNS_PORT (127.0.0.53/5300),
#      OUTPOST_PEERS_RUN (/tmp/outpost-peers).
# Needs: rspamd, curl.
set -eu
ADDR=127.0.0.1; PORT=${RSPAMD_PORT:-11333}
DNS=${DNS_ADDR:-127.0.0.53}:${DNS_PORT:-5300}
RUN=${OUTPOST_PEERS_RUN:-/tmp/outpost-peers}/rspamd; PID=$RUN/rspamd.pid
alive() { [ -f "$PID" ] && kill -0 "$(cat "$PID" 2>/dev/null)" 2>/dev/null; }
pong() { curl -s --max-time 2 "http://$ADDR:$PORT/ping" 2>/dev/null | grep -q pong; }
# GTUBE from two halves, so that this file itself is not "spam"
gtube() {
  printf 'From: sender@example.test\r\nTo: rcpt@example.net\r\nSubject: gtube\r\nMessage-ID: <gtube@example.test>\r\n\r\n%s%s\r\n' \
    'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STAND' 'ARD-ANTI-UBE-TEST-EMAIL*C.34X'
}

case "${1:-start}" in
stop)   if alive; then kill "$(cat "$PID")"; for _ in $(seq 1 50); do alive || break; sleep 0.2; done; echo "rspamd stopped"
        else echo "rspamd not running"; fi; rm -f "$PID"; exit 0 ;;
status) if alive; then echo "rspamd running pid $(cat "$PID") on $ADDR:$PORT"
        elif pong; then echo "rspamd: another instance answers on $ADDR:$PORT"
        else echo "rspamd not running"; exit 1; fi; exit 0 ;;
test)   gtube | curl -s --max-time 20 -H 'IP: 127.0.0.1' -H 'Helo: client.example.test' \
          -H 'From: sender@example.test' -H 'Rcpt: rcpt@example.net' --data-binary @- "http://$ADDR:$PORT/checkv2"
        echo; exit 0 ;;
start)  ;;
*)      echo "usage: $0 [start|stop|status|test]" >&2; exit 2 ;;
esac
if alive; then
  if pong; then echo "rspamd already running pid $(cat "$PID")"; exit 0; fi
  # still starting (first start compiles regexps) or broken: wait a little, then give up
  for _ in $(seq 1 60); do pong && break; sleep 0.5; done
  if pong; then echo "rspamd already running pid $(cat "$PID")"; exit 0; fi
  echo "rspamd pid $(cat "$PID") does not answer on $ADDR:$PORT: restarting"; "$0" stop
fi
if pong; then echo "rspamd: $ADDR:$PORT already answered by another rspamd"; exit 0; fi
mkdir -p "$RUN/etc/local.d" "$RUN/etc/override.d" "$RUN/db"
cat > "$RUN/etc/local.d/options.inc" <<CONF
dns { nameserver = ["$DNS"]; timeout = 1s; retransmits = 1; }
# treat 127.0.0.1 (the IP: header of test scans) like any other sender
local_addrs = [];
CONF
echo 'level = "notice";' > "$RUN/etc/local.d/logging.inc"
printf 'bind_socket = "%s:%s";\n' $ADDR "$PORT" > "$RUN/etc/override.d/worker-normal.inc"
printf 'bind_socket = "%s:%s";\n' $ADDR "$((PORT + 1))" > "$RUN/etc/override.d/worker-controller.inc"
printf 'bind_socket = "%s:%s";\n' $ADDR "$((PORT - 1))" > "$RUN/etc/override.d/worker-proxy.inc"
echo 'enabled = false;' > "$RUN/etc/local.d/fuzzy_check.conf"   # would talk to rspamd.com
echo 'enabled = false;' > "$RUN/etc/local.d/rbl.conf"           # DNS blocklists mean nothing offline
chown -R _rspamd:_rspamd "$RUN"
rspamd -c /etc/rspamd/rspamd.conf -u _rspamd -g _rspamd -p "$PID" \
  --var="LOCAL_CONFDIR=$RUN/etc" --var="DBDIR=$RUN/db" --var="RUNDIR=$RUN" --var="LOGDIR=$RUN"
for _ in $(seq 1 240); do pong && break; sleep 0.5; done
if alive && pong; then echo "rspamd started pid $(cat "$PID") on $ADDR:$PORT"
else echo "rspamd failed to start; see $RUN/rspamd.log" >&2; tail -5 "$RUN/rspamd.log" >&2 || true; exit 1; fi
