#!/bin/sh
# start-postfix-relay.sh [start|stop|status|test|flush] - a private Postfix instance, the
# reference MTA for benchmarks: own config dir and queue under the run dir (/etc/postfix is not
# touched), listens on 127.0.0.1:2525, relays mail from 127.0.0.0/8 only and sends everything
# to RELAYHOST (default [127.0.0.1]:2526, e.g. start-smtp-sink.sh), never does DNS, never
# delivers locally. Its log is $RUN/postfix/maillog (there is no syslog daemon).
# Env: RELAY_PORT (2525), RELAYHOST ([127.0.0.1]:2526), OUTPOST_PEERS_RUN (/tmp/outpost-peers).
# Pitfall: without /dev/log, `postfix` prints fatal errors nowhere when stdin is not a terminal;
# to see them: script -qec "postfix -c $RUN/postfix/etc check" /dev/null
# Needs: postfix (debconf main_mailer_type "Local only", see scripts/setup.sh).
set -eu
PORT=${RELAY_PORT:-2525}; RELAYHOST=${RELAYHOST:-[127.0.0.1]:2526}
RUN=${OUTPOST_PEERS_RUN:-/tmp/outpost-peers}/postfix; CONF=$RUN/etc
case "$RELAYHOST" in \[127.*\]:*|\[::1\]:*) ;; *) echo "RELAYHOST must be a bracketed loopback [127.x.x.x]:port" >&2; exit 2;; esac
alive() { [ -f "$CONF/main.cf" ] && postfix -c "$CONF" status >/dev/null 2>&1; }

case "${1:-start}" in
stop)   if alive; then postfix -c "$CONF" stop >/dev/null 2>&1; echo "postfix relay stopped"; else echo "postfix relay not running"; fi; exit 0 ;;
status) if alive; then echo "postfix relay running (master pid $(tr -d ' ' < "$RUN/queue/pid/master.pid")) on 127.0.0.1:$PORT -> $RELAYHOST"
        else echo "postfix relay not running"; exit 1; fi; exit 0 ;;
test)   swaks --server "127.0.0.1:$PORT" --from a@example.test --to b@example.net --h-Subject "relay test" --silent 2 && echo "accepted"
        postqueue -c "$CONF" -p | tail -1; tail -3 "$RUN/maillog"; exit 0 ;;
flush)  postqueue -c "$CONF" -f; exit 0 ;;
start)  ;;
*)      echo "usage: $0 [start|stop|status|test|flush]" >&2; exit 2 ;;
esac
if alive; then echo "postfix relay already running"; exit 0; fi
mkdir -p "$CONF" "$RUN/queue" "$RUN/data"
cat > "$CONF/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $RUN/queue
data_directory = $RUN/data
maillog_file = $RUN/maillog
maillog_file_prefixes = $RUN
myhostname = relay.example.test
mydomain = example.test
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
# no local delivery at all
mydestination =
local_recipient_maps =
local_transport = error:5.1.1 local delivery disabled
alias_maps =
alias_database =
# relay for loopback clients only
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
# one next hop for everything; a bracketed address means no MX lookup
relayhost = $RELAYHOST
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtp_tls_security_level = none
smtpd_tls_security_level = none
notify_classes =
biff = no
CONF
# the packaged master.cf, smtpd only on 127.0.0.1:PORT, nothing chrooted (the queue is not in /var/spool)
awk -v port="$PORT" '
  /^smtp[ \t]+inet/ { print "127.0.0.1:" port " inet n - n - - smtpd"; next }
  /^[a-z]/ && NF >= 8 { $5 = "n" } { print }' /etc/postfix/master.cf > "$CONF/master.cf"
postfix -c "$CONF" set-permissions >/dev/null 2>&1 || true
postfix -c "$CONF" check
postfix -c "$CONF" start >/dev/null 2>&1 || { script -qec "postfix -c $CONF start" /dev/null >&2; exit 1; }
for _ in $(seq 1 30); do alive && break; sleep 0.1; done
alive && echo "postfix relay started on 127.0.0.1:$PORT -> $RELAYHOST (log $RUN/maillog)"
