#!/usr/bin/env bash
# setup.sh - makes this machine ready for the tests: installs the missing Debian packages of the
# real peer programs (once; a few seconds when everything is there), then starts the shared
# test daemons and checks that each answers: the test DNS (unbound, 127.0.0.53:5300), clamd
# (127.0.0.1:3310), rspamd (127.0.0.1:11333), and PostgreSQL (127.0.0.1:5432) when installed.
# Idempotent. Used by scripts/test.sh (npm test) and so by CI.
# Env: OUTPOST_TEST_DNS (127.0.0.53:5300), OUTPOST_PEERS_RUN (/tmp/outpost-peers).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
peers=$here/peers

PACKAGES=(
  postfix                   # smtp-sink, smtp-source, the reference relay
  swaks libio-socket-inet6-perl libnet-ssleay-perl   # SMTP test client (+ IPv6, + TLS)
  clamav-daemon clamdscan   # virus scanner
  rspamd                    # spam scorer
  unbound dnsutils          # test DNS and dig
  python3-aiosmtpd          # recording receiver (Debian's /usr/bin/python3)
  netcat-openbsd curl iproute2 openssl
  chromium                  # webmail tests (playwright-core drives the system browser)
)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [[ $EUID -ne 0 ]]; then
    echo "setup: need root to install packages; run: sudo $0" >&2
    exit 1
  fi
  # Packaged daemons must not start on install: every peer runs with its own config from
  # scripts/peers/ (a running Debian unbound or postfix would only get in the way).
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
  fi
  echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
  echo "postfix postfix/mailname string outpost-test.example.test" | debconf-set-selections
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup: installed"
fi

# The test DNS address; the other daemons are on fixed loopback ports.
TEST_DNS=${OUTPOST_TEST_DNS:-127.0.0.53:5300}
export DNS_ADDR=${TEST_DNS%:*} DNS_PORT=${TEST_DNS##*:}

failed=0
check() { # name, command...
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then echo "setup: $name ok"; else echo "setup: $name NOT answering" >&2; failed=1; fi
}

dns_rc=0; "$peers/start-dns.sh" start || dns_rc=$?
if ((dns_rc == 3)); then
  # Someone's older test DNS holds the address; its answers differ from test/dns/zones.conf.
  echo "setup: WARNING: the test DNS on $TEST_DNS is not ours: tests using names it lacks will fail" >&2
else
  ((dns_rc == 0)) || failed=1
  check "dns $TEST_DNS" bash -c "dig @$DNS_ADDR -p $DNS_PORT +time=2 +tries=2 +short d20.example.test MX | grep -q '^10 mx.d20.example.test.$'"
fi
"$peers/start-clamd.sh" start || failed=1
check "clamd 127.0.0.1:3310" bash -c "printf 'zPING\\0' | timeout 5 nc -q1 127.0.0.1 3310 | tr -d '\\0' | grep -q PONG"
"$peers/start-rspamd.sh" start || failed=1
check "rspamd 127.0.0.1:11333" bash -c "curl -s --max-time 5 http://127.0.0.1:11333/ping | grep -q pong"

# PostgreSQL: started by the machine on these hosts; start the packaged cluster if it is down.
if compgen -G "/etc/postgresql/*/main" >/dev/null; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    ver=$(ls /etc/postgresql | sort -V | tail -1)
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
  fi
  check "postgresql 127.0.0.1:5432" pg_isready -q -h 127.0.0.1 -p 5432
else
  echo "setup: postgresql not installed (the PostgreSQL store tests need it)"
fi

if ((failed)); then
  echo "setup: some peers are not ready (logs under ${OUTPOST_PEERS_RUN:-/tmp/outpost-peers}/)" >&2
  exit 1
fi
