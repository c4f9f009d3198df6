#!/bin/sh
# all.sh [start|stop|status] - the shared test daemons at once: test DNS (127.0.0.53:5300),
# clamd (127.0.0.1:3310), rspamd (127.0.0.1:11333). The benchmark peers (smtp-sink, Postfix
# relay) are started by the benchmark itself; `stop` stops them too.
set -u
here=$(cd "$(dirname "$0")" && pwd)
rc=0
case "${1:-status}" in
start)  for s in start-dns.sh start-clamd.sh start-rspamd.sh; do "$here/$s" start || rc=1; done ;;
stop)   for s in start-rspamd.sh start-clamd.sh start-dns.sh start-postfix-relay.sh; do "$here/$s" stop; done
        for p in "${OUTPOST_PEERS_RUN:-/tmp/outpost-peers}"/sink/*.pid; do
          [ -f "$p" ] || continue
          ep=$(basename "$p" .pid | sed 's/^sink-//')
          kill "$(cat "$p")" 2>/dev/null && echo "sink $ep stopped"; rm -f "$p"
        done ;;
status) for s in start-dns.sh start-clamd.sh start-rspamd.sh start-postfix-relay.sh; do "$here/$s" status || rc=1; done ;;
*)      echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
exit $rc
