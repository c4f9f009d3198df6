#!/bin/sh
# start-clamd.sh [start|stop|status|test] - clamd on 127.0.0.1:3310 and a unix socket, with
# only a tiny self-written signature database: freshclam cannot download the official ones
# here (no internet), and clamd starts with any non-empty database directory. The database
# detects the EICAR test string (body signature, also inside MIME attachments: clamd decodes
# MIME) and the exact 68-byte EICAR file (hash). Names get ".UNOFFICIAL" appended by clamd.
# Env: CLAMD_ADDR (127.0.0.1), CLAMD_PORT (3310), OUTPOST_PEERS_RUN (/tmp/outpost-peers).
# Needs: clamav-daemon, clamdscan, netcat-openbsd. Never run freshclam here.
set -eu
ADDR=${CLAMD_ADDR:-127.0.0.1}; PORT=${CLAMD_PORT:-3310}
RUN=${OUTPOST_PEERS_RUN:-/tmp/outpost-peers}/clamd; PID=$RUN/clamd.pid; SOCK=$RUN/clamd.sock
case "$ADDR" in 127.*) ;; *) echo "refusing non-loopback address $ADDR" >&2; exit 2;; esac
alive() { [ -f "$PID" ] && kill -0 "$(cat "$PID" 2>/dev/null)" 2>/dev/null; }
pong() { printf 'zPING\0' | timeout 3 nc -q1 "$ADDR" "$PORT" 2>/dev/null | tr -d '\0' | grep -q PONG; }
# The EICAR string from two halves, so that this file itself is not flagged by scanners.
eicar() { printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDA' 'RD-ANTIVIRUS-TEST-FILE!$H+H*'; }

case "${1:-start}" in
stop)   if alive; then kill "$(cat "$PID")"; for _ in $(seq 1 50); do alive || break; sleep 0.1; done; echo "clamd stopped"
        else echo "clamd not running"; fi; rm -f "$PID"; exit 0 ;;
status) if alive; then echo "clamd running pid $(cat "$PID") tcp $ADDR:$PORT unix $SOCK"
        elif pong; then echo "clamd: another instance answers on $ADDR:$PORT"
        else echo "clamd not running"; exit 1; fi; exit 0 ;;
test)   mkdir -p "$RUN"; eicar > "$RUN/eicar.txt"; echo "hello, a clean file" > "$RUN/clean.txt"
        # clamdscan exit codes: 0 clean, 1 virus found, 2 error
        clamdscan --config-file="$RUN/clamd.conf" --stream --no-summary "$RUN/eicar.txt" "$RUN/clean.txt" || true
        printf 'zPING\0' | timeout 5 nc -q1 "$ADDR" "$PORT" 2>/dev/null | tr '\0' '\n' || true
        exit 0 ;;
start)  ;;
*)      echo "usage: $0 [start|stop|status|test]" >&2; exit 2 ;;
esac
if alive; then
  if pong; then echo "clamd already running pid $(cat "$PID")"; exit 0; fi
  echo "clamd pid $(cat "$PID") does not answer on $ADDR:$PORT: restarting"; "$0" stop
fi
if pong; then echo "clamd: $ADDR:$PORT already answered by another clamd"; exit 0; fi
mkdir -p "$RUN/db"
HEX=$(eicar | od -An -tx1 | tr -d ' \n')
# Name:TargetType(0 = any file):Offset(* = anywhere):HexSignature
echo "Test.EICAR.Body:0:*:$HEX" > "$RUN/db/outpost-test.ndb"
# md5:size:Name
echo "$(eicar | md5sum | cut -d' ' -f1):68:Test.EICAR.Hash" > "$RUN/db/outpost-test.hdb"
cat > "$RUN/clamd.conf" <<CONF
DatabaseDirectory $RUN/db
LocalSocket $SOCK
LocalSocketMode 666
FixStaleSocket yes
TCPSocket $PORT
TCPAddr $ADDR
PidFile $PID
LogFile $RUN/clamd.log
LogTime yes
Foreground no
StreamMaxLength 50M
MaxThreads 4
SelfCheck 0
CONF
clamd --config-file="$RUN/clamd.conf"
# clamd loads the database before it forks; wait for it to answer
for _ in $(seq 1 60); do pong && break; sleep 0.5; done
if alive && pong; then echo "clamd started pid $(cat "$PID") tcp $ADDR:$PORT unix $SOCK"
else echo "clamd failed to start; see $RUN/clamd.log" >&2; tail -5 "$RUN/clamd.log" >&2 || true; exit 1; fi
