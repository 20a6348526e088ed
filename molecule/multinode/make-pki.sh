#!/bin/bash
# The multinode lab's private PKI, made by molecule's dependency step (see
# molecule.yml) before any container exists, in the scenario's ephemeral
# directory, which `molecule destroy` prunes: nothing of it is committed.
#
#   make-pki.sh DIR NAME=IP...
#
# DIR/ca.pem, ca.key        the lab CA (every certificate below is signed by it)
# DIR/NAME.crt, NAME.key    a server certificate per NAME, SAN DNS:NAME and IP:IP
#                           (no 127.0.0.1: clients must use the name)
# DIR/other-ca.pem          an unrelated CA, for bad-input tests: it verifies
#                           none of the certificates above
#
# Idempotent: an existing DIR/ca.pem is kept with everything it signed (the
# containers may already hold them); a missing NAME is added.
set -o errexit -o nounset -o pipefail
umask 077

dir=$1
shift
mkdir -p "$dir"
cd "$dir"
# openssl's chatter goes to a log, shown when a step fails.
: >openssl.log
trap 'echo "make-pki.sh failed; openssl said:" >&2; cat openssl.log >&2' ERR

# A configuration of our own, independent of the host's openssl.cnf. Python
# 3.13 (trixie) verifies with VERIFY_X509_STRICT: the CA needs critical
# basicConstraints and keyUsage, every certificate key identifiers.
cat >openssl.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName = ${ENV::SAN}
EOF

make_ca() { # basename common-name
  [ -s "$1.pem" ] && return 0
  SAN=none openssl req -x509 -config openssl.cnf -extensions ca -newkey rsa:2048 -nodes \
    -keyout "$1.key" -out "$1.pem" -days 60 -subj "/O=heat-lab/CN=$2" 2>>openssl.log
  echo "made $dir/$1.pem"
}

make_ca ca "Heat multinode lab CA"
make_ca other-ca "Unrelated CA (verifies nothing of the lab)"

for pair in "$@"; do
  name=${pair%%=*}
  ip=${pair#*=}
  [ -s "$name.crt" ] && continue
  SAN="DNS:$name" openssl req -new -config openssl.cnf -newkey rsa:2048 -nodes \
    -keyout "$name.key" -out "$name.csr" -subj "/O=heat-lab/CN=$name" 2>>openssl.log
  SAN="DNS:$name,IP:$ip" openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key \
    -CAcreateserial -days 30 -extfile openssl.cnf -extensions server -out "$name.crt" 2>>openssl.log
  rm -f "$name.csr"
  echo "made $dir/$name.crt ($name, $ip)"
done
# Readable by the user running molecule only; the certificates are public.
chmod 0644 ./*.pem ./*.crt
