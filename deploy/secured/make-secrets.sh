#!/usr/bin/env bash
# Writes what deploy/docker-compose.secured.yml mounts, into DIR (default deploy/secured/secrets):
#   ca.crt / ca.key          a private CA (keep ca.key offline once the broker certificate is signed)
#   kafka.keystore.p12       the broker's TLS key pair for the names kafka and localhost, signed by the CA
#   passwords.env            random passwords: keystore, and one SASL user per service (compose --env-file)
#   admin.properties         client properties of the admin user (topic and ACL setup, health check)
#   producer.properties      client properties for host-side producers on localhost:29092 (records only)
# Needs openssl. Run it once; running it again replaces every secret (restart the whole deployment).
set -euo pipefail
dir=${1:-"$(dirname "$0")/secrets"}
mkdir -p "$dir"
chmod 711 "$dir"   # the containers open known names inside, nobody lists it
cd "$dir"
umask 077
pw() { openssl rand -hex 24; }
keystore=$(pw)

openssl req -x509 -newkey rsa:3072 -nodes -days 825 -subj "/CN=UltraLong Kafka CA" -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey rsa:3072 -nodes -subj "/CN=kafka" -keyout kafka.key -out kafka.csr 2>/dev/null
printf 'subjectAltName=DNS:kafka,DNS:localhost,IP:127.0.0.1\n' > san.ext
openssl x509 -req -in kafka.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -extfile san.ext -out kafka.crt 2>/dev/null
openssl pkcs12 -export -in kafka.crt -inkey kafka.key -certfile ca.crt -name kafka -passout "pass:$keystore" \
  -out kafka.keystore.p12
rm -f kafka.csr kafka.key san.ext
chmod 644 ca.crt kafka.keystore.p12   # read by the containers' users

admin=$(pw)
producer=$(pw)
cat > passwords.env <<ENV
UL_KAFKA_KEYSTORE_PASSWORD=$keystore
UL_KAFKA_ADMIN_PASSWORD=$admin
UL_KAFKA_INGEST_PASSWORD=$(pw)
UL_KAFKA_WORKER_PASSWORD=$(pw)
UL_KAFKA_GATEWAY_PASSWORD=$(pw)
UL_KAFKA_PRODUCER_PASSWORD=$producer
ENV

client() {   # client <user> <password>
  cat <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="$1" password="$2";
ssl.truststore.type=PEM
ssl.truststore.location=/etc/ultralong/kafka/ca.crt
PROPS
}
client admin "$admin" > admin.properties
client producer "$producer" | sed "s#/etc/ultralong/kafka/ca.crt#$(pwd)/ca.crt#" > producer.properties
chmod 644 admin.properties   # mounted read-only into the kafka, topics and acls containers
echo "Secrets written to $(pwd). Start with:"
echo "  docker compose -f deploy/docker-compose.yml -f deploy/docker-compose.secured.yml --env-file $(pwd)/passwords.env up -d"
