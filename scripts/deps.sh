#!/bin/sh
# Installs the Debian packages dns01 needs, and only those that are missing.
#   scripts/deps.sh          build + run dependencies
#   scripts/deps.sh test     also what the test suite starts or drives
# Never prompts (DEBIAN_FRONTEND=noninteractive); safe to run repeatedly.
set -eu

build="build-essential cmake pkg-config libevent-dev libssl-dev libjansson-dev \
libldns-dev libcurl4-openssl-dev libexpat1-dev libyaml-dev libcrypt-dev openssl \
ca-certificates curl libpq-dev libsqlite3-dev"
test="clang libclang-rt-14-dev python3 bind9 bind9-utils bind9-dnsutils \
knot-dnsutils clang-format python3-botocore python3-dnspython python3-cryptography \
python3-jwt hyperfine valgrind \
pebble systemd groff-base postgresql lego certbot \
python3-certbot-dns-rfc2136 python3-bcrypt"
# The Helm chart tests render charts/ with tests/chart/render.go (Debian 12
# has no helm package): Go's text/template + sprig, built offline.
test="$test golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev"

want=$build
[ "${1:-}" = test ] && want="$build $test"
[ "${1:-}" = bench ] && want="$build $test wrk hyperfine gnuplot-nox \
lego certbot python3-certbot-dns-rfc2136 dnsperf knot nsd"

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing (run as root, or install them)" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when an install fails for want of them.
apt-get install -y -q --no-install-recommends $missing ||
	{ apt-get update -q && apt-get install -y -q --no-install-recommends $missing; }
