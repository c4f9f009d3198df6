#!/bin/sh
# start-smtp-sink.sh [start|stop|status] [ADDR:PORT] - Postfix's smtp-sink (accepts and throws
# away every message, very fast) on a loopback endpoint (default 127.0.0.1:2526), e.g. as the
# next hop of the benchmark relay. Counters (-c: "sess= quit= mesg=") go to its .out file.
# Env: SINK_OPTS (extra flags: "-r RCPT" 4xx every RCPT, "-f DATA" 5xx DATA, "-w 2" delay before
#      the DATA reply, "-d DIR/%H%M%S." dump each message), OUTPOST_PEERS_RUN (/tmp/outpost-peers).
# Pitfall: do not count with -M N: smtp-sink exits right after the N-th message, before the
# client read the reply, and a real MTA then retries that message.
# Needs: postfix (smtp-sink is in /usr/sbin).
set -eu
CMD=${1:-start}; EP=${2:-127.0.0.1:2526}
case "$EP" in 127.*:*|\[::1\]:*) ;; *) echo "refusing non-loopback endpoint $EP" >&2; exit 2;; esac
RUN=${OUTPOST_PEERS_RUN:-/tmp/outpost-peers}/sink; NAME=sink-$(echo "$EP" | tr -c '0-9a-zA-Z\n' '_')
PID=$RUN/$NAME.pid; OUT=$RUN/$NAME.out
alive() { [ -f "$PID" ] && kill -0 "$(cat "$PID" 2>/dev/null)" 2>/dev/null; }
case "$CMD" in
stop)   if alive; then kill "$(cat "$PID")"; echo "sink $EP stopped"; else echo "sink $EP not running"; fi; rm -f "$PID"; exit 0 ;;
status) if alive; then echo "sink $EP running pid $(cat "$PID"), $(tr '\r' '\n' < "$OUT" | grep mesg= | tail -1)"
        else echo "sink $EP not running"; exit 1; fi; exit 0 ;;
count)  tr '\r' '\n' < "$OUT" | grep -o 'mesg=[0-9]*' | tail -1 | cut -d= -f2; exit 0 ;;
start)  ;;
*)      echo "usage: $0 [start|stop|status|count] [ADDR:PORT]" >&2; exit 2 ;;
esac
if alive; then echo "sink $EP already running pid $(cat "$PID")"; exit 0; fi
mkdir -p "$RUN"
# -c counters; -u nobody drops root after bind (required as root); 1024 = listen backlog
# shellcheck disable=SC2086
nohup smtp-sink -c -u nobody ${SINK_OPTS:-} "$EP" 1024 > "$OUT" 2>&1 &
echo $! > "$PID"
sleep 0.3
if alive; then echo "sink $EP started pid $(cat "$PID")"
else echo "sink $EP failed to start: $(cat "$OUT")" >&2; rm -f "$PID"; exit 1; fi
