#!/bin/sh
# Regenerates the OpenSSL golden files in this directory: two CAs, three
# leaf certificates and the OCSP requests "openssl ocsp" builds for them,
# each next to the text "openssl ocsp -req_text" printed for it. See
# README.md. Keys live in a temporary directory and are discarded.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
days=36500

# Two self-signed CAs: ECDSA P-256 and RSA 2048.
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/ca-ec.key" -subj "/O=certgate test/CN=certgate test EC CA" \
	-days $days -out ca-ec.pem 2>/dev/null
openssl req -x509 -new -newkey rsa:2048 -nodes \
	-keyout "$tmp/ca-rsa.key" -subj "/O=certgate test/CN=certgate test RSA CA" \
	-days $days -out ca-rsa.pem 2>/dev/null

printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n' >"$tmp/leaf.ext"

# leaf NAME CA SERIAL KEYSPEC...: a leaf certificate issued by CA.
leaf() {
	name=$1 ca=$2 serial=$3
	shift 3
	openssl req -new -newkey "$@" -nodes -keyout "$tmp/$name.key" \
		-subj "/CN=$name.example" -out "$tmp/$name.csr" 2>/dev/null
	openssl x509 -req -in "$tmp/$name.csr" -CA "$ca.pem" -CAkey "$tmp/$ca.key" \
		-set_serial "$serial" -days $days -extfile "$tmp/leaf.ext" -out "$name.pem" 2>/dev/null
}
leaf a ca-ec 0x1001 ec -pkeyopt ec_paramgen_curve:P-256
# 20 octets with the top bit set: DER needs a leading zero octet (21 in all).
leaf b ca-ec 0x8BADF00DDEADBEEF0123456789ABCDEF01234567 ec -pkeyopt ec_paramgen_curve:P-256
leaf c ca-rsa 0x2A rsa:2048

# req NAME ARGS...: openssl ocsp ARGS -reqout NAME.der -req_text >NAME.txt
req() {
	name=$1
	shift
	openssl ocsp "$@" -reqout "$name.der" -req_text >"$name.txt"
}
req req-nonce -issuer ca-ec.pem -cert a.pem -cert b.pem
req req-no-nonce -no_nonce -issuer ca-ec.pem -cert a.pem
req req-sha256 -sha256 -issuer ca-ec.pem -cert a.pem -cert b.pem
req req-sha384 -sha384 -no_nonce -issuer ca-ec.pem -cert b.pem
req req-sha512 -sha512 -issuer ca-rsa.pem -cert c.pem
req req-two-issuers -issuer ca-ec.pem -cert a.pem -issuer ca-rsa.pem -cert c.pem
req req-signed -issuer ca-rsa.pem -cert c.pem -signer c.pem -signkey "$tmp/c.key"
req req-signed-no-certs -no_nonce -issuer ca-ec.pem -cert a.pem -cert b.pem \
	-signer a.pem -signkey "$tmp/a.key" -no_certs
