#!/usr/bin/env bash
# Makes the TLS fixtures in test/fixtures/tls/ with keytool, using the commands of Flink's SSL docs
# (docs/deployment/security/security-ssl: "Example SSL Setup Standalone and Kubernetes"), and openssl only
# where the docs do (PEM for curl). Run once; the outputs are committed, so tests never need keytool.
# Passwords are the docs' own; see test/fixtures/tls/README.md.
set -euo pipefail
OUT="$(cd "$(dirname "$0")/.." && pwd)/test/fixtures/tls"
rm -rf "$OUT.tmp" && mkdir -p "$OUT.tmp" && cd "$OUT.tmp"

KS=rest_keystore_password
KP=rest_key_password
TS=rest_truststore_password
CAS=ca_keystore_password
CAK=ca_key_password
SAN="SAN=dns:localhost,dns:flink-jobmanager,ip:127.0.0.1"
DAYS=36500
kt() { keytool "$@" 2>/dev/null; }

# 1. Self-signed REST keystore (PKCS12) and its truststore, as the docs show.
kt -genkeypair -alias flink.rest -keystore rest.keystore -dname "CN=localhost" -ext "$SAN" \
  -storepass $KS -keypass $KS -keyalg RSA -keysize 2048 -storetype PKCS12 -validity $DAYS
kt -exportcert -keystore rest.keystore -alias flink.rest -storepass $KS -file flink.cer
kt -importcert -keystore rest.truststore -alias flink.rest -storepass $TS -file flink.cer -noprompt -storetype PKCS12
openssl pkcs12 -in rest.keystore -out rest.pem -nodes -passin pass:$KS 2>/dev/null

# 1b. The docs' own example names (myhost.company.org, ip:10.0.0.1): what a user following them ends up with
# behind a loopback upstream URL, where the host name check fails (upstream.tls.servername).
kt -genkeypair -alias flink.rest -keystore rest.myhost.keystore -dname "CN=myhost.company.org" \
  -ext "SAN=dns:myhost.company.org,ip:10.0.0.1" -storepass $KS -keypass $KS -keyalg RSA -keysize 2048 \
  -storetype PKCS12 -validity $DAYS
kt -exportcert -keystore rest.myhost.keystore -alias flink.rest -storepass $KS -file myhost.cer
kt -importcert -keystore rest.myhost.truststore -alias flink.rest -storepass $TS -file myhost.cer -noprompt \
  -storetype PKCS12
rm myhost.cer

# 2. A private CA, and a REST certificate it signed (PKCS12 and JKS).
kt -genkeypair -alias ca -keystore ca.keystore -dname "CN=Sample CA" -storepass $CAS -keypass $CAS \
  -keyalg RSA -keysize 2048 -ext "bc=ca:true" -storetype PKCS12 -validity $DAYS
kt -exportcert -keystore ca.keystore -alias ca -storepass $CAS -file ca.cer
kt -exportcert -rfc -keystore ca.keystore -alias ca -storepass $CAS -file ca.pem
kt -importcert -keystore ca.truststore -alias ca -storepass $TS -file ca.cer -noprompt -storetype PKCS12
kt -importcert -keystore ca.truststore.jks -alias ca -storepass $TS -file ca.cer -noprompt -storetype JKS
# The Flink Kubernetes Operator opens its truststore with OPERATOR_KEYSTORE_PASSWORD: one password for both.
kt -importcert -keystore ca.operator.truststore -alias ca -storepass $KS -file ca.cer -noprompt -storetype PKCS12

signed() { # signed <keystore> <storetype> <storepass> <keypass> <dname> <san> <keyalg args...>
  local store=$1 type=$2 sp=$3 kp=$4 dname=$5 san=$6; shift 6
  kt -genkeypair -alias flink.rest -keystore "$store" -dname "$dname" -ext "$san" -storepass "$sp" \
    -keypass "$kp" "$@" -storetype "$type" -validity $DAYS
  kt -certreq -alias flink.rest -keystore "$store" -storepass "$sp" -keypass "$kp" -file req.csr
  kt -gencert -alias ca -keystore ca.keystore -storepass $CAS -keypass $CAS -ext "$san" -validity $DAYS \
    -infile req.csr -outfile signed.cer
  kt -importcert -keystore "$store" -storepass "$sp" -file ca.cer -alias ca -noprompt
  kt -importcert -keystore "$store" -storepass "$sp" -keypass "$kp" -file signed.cer -alias flink.rest -noprompt
  rm -f req.csr signed.cer
}
signed rest.signed.keystore PKCS12 $KS $KS "CN=localhost" "$SAN" -keyalg RSA -keysize 2048
# JKS keeps a key password apart from the store password (PKCS12 in keytool cannot).
signed rest.signed.jks JKS $KS $KP "CN=localhost" "$SAN" -keyalg RSA -keysize 2048
signed rest.ec.keystore PKCS12 $KS $KS "CN=localhost" "$SAN" -keyalg EC -groupname secp256r1
signed rest.wildcard.keystore PKCS12 $KS $KS "CN=*.flink.test" "SAN=dns:*.flink.test" -keyalg RSA -keysize 2048
openssl pkcs12 -in rest.signed.keystore -out rest.signed.pem -nodes -passin pass:$KS 2>/dev/null

# 3. Client certificates: two signed by the CA (one of them expired), one by another CA.
client() { # client <keystore> <ca keystore> <dname> <gencert extra args...>
  local store=$1 castore=$2 dname=$3; shift 3
  kt -genkeypair -alias client -keystore "$store" -dname "$dname" -storepass $KS -keypass $KS \
    -keyalg RSA -keysize 2048 -storetype PKCS12 -validity $DAYS
  kt -certreq -alias client -keystore "$store" -storepass $KS -file req.csr
  kt -gencert -alias ca -keystore "$castore" -storepass $CAS -keypass $CAS -infile req.csr -outfile signed.cer "$@"
  kt -exportcert -keystore "$castore" -alias ca -storepass $CAS -file issuer.cer
  kt -importcert -keystore "$store" -storepass $KS -file issuer.cer -alias ca -noprompt
  kt -importcert -keystore "$store" -storepass $KS -file signed.cer -alias client -noprompt
  openssl pkcs12 -in "$store" -out "${store%.keystore}.pem" -nodes -passin pass:$KS 2>/dev/null
  rm -f req.csr signed.cer issuer.cer
}
client client.keystore ca.keystore "CN=flink-cli, OU=deployers, O=Example" -validity $DAYS -ext "SAN=email:cli@example.com"
client client.other.keystore ca.keystore "CN=flink-other, OU=viewers, O=Example" -validity $DAYS
client client.expired.keystore ca.keystore "CN=flink-expired, O=Example" -startdate -10d -validity 1
kt -genkeypair -alias ca -keystore other-ca.keystore -dname "CN=Other CA" -storepass $CAS -keypass $CAS \
  -keyalg RSA -keysize 2048 -ext "bc=ca:true" -storetype PKCS12 -validity $DAYS
client client.foreign.keystore other-ca.keystore "CN=flink-cli, OU=deployers, O=Elsewhere" -validity $DAYS

# Fingerprints as keytool prints them, for pinning tests.
for store in client.keystore client.other.keystore; do
  kt -list -v -keystore "$store" -storepass $KS -alias client | grep -E '^\s+SHA(1|256):' | sed 's/^\s*//' | head -2 > "${store%.keystore}.fingerprints"
done
kt -list -v -keystore rest.signed.keystore -storepass $KS -alias flink.rest | grep -E '^\s+SHA(1|256):' | sed 's/^\s*//' | head -2 > rest.signed.fingerprints

# Broken inputs.
head -c 700 rest.signed.keystore > corrupt.keystore
: > empty.pem

rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
echo "fixtures written to $OUT"
