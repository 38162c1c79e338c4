#!/usr/bin/env bash
# One-shot setup for the kmsdet sandbox, run by the `setup` service of docker-compose.yml inside
# the Elasticsearch image (which ships elasticsearch-certutil, curl and unzip).
#
# 1. First run only: a CA and PEM certificates for es01 and kibana (SANs: the service name,
#    localhost, 127.0.0.1, so that kmsdet on the host can verify them) in the `certs` volume.
# 2. Every run: wait until es01 answers over TLS, then set the kibana_system password, so that a
#    changed KIBANA_PASSWORD in .env takes effect on the next `up`.
# Passwords are read from the environment and never echoed.
set -euo pipefail

cd /usr/share/elasticsearch
CERTS=config/certs

if [ -z "${ELASTIC_PASSWORD:-}" ] || [ -z "${KIBANA_PASSWORD:-}" ]; then
  echo "setup: ELASTIC_PASSWORD and KIBANA_PASSWORD must be set (see .env.example)" >&2
  exit 1
fi

if [ ! -f "$CERTS/ca/ca.crt" ]; then
  echo "setup: creating the certificate authority"
  bin/elasticsearch-certutil ca --silent --pem -out "$CERTS/ca.zip"
  unzip -q -o "$CERTS/ca.zip" -d "$CERTS"
  rm -f "$CERTS/ca.zip"
fi

if [ ! -f "$CERTS/es01/es01.crt" ] || [ ! -f "$CERTS/kibana/kibana.crt" ]; then
  echo "setup: creating certificates for es01 and kibana"
  cat > "$CERTS/instances.yml" <<'YAML'
instances:
  - name: es01
    dns: [es01, localhost]
    ip: [127.0.0.1]
  - name: kibana
    dns: [kibana, localhost]
    ip: [127.0.0.1]
YAML
  bin/elasticsearch-certutil cert --silent --pem -out "$CERTS/certs.zip" \
    --in "$CERTS/instances.yml" --ca-cert "$CERTS/ca/ca.crt" --ca-key "$CERTS/ca/ca.key"
  unzip -q -o "$CERTS/certs.zip" -d "$CERTS"
  rm -f "$CERTS/certs.zip"
fi

# Elasticsearch and Kibana run as uid 1000 in group 0: group-readable, nothing for others.
chown -R root:root "$CERTS"
find "$CERTS" -type d -exec chmod 750 {} \;
find "$CERTS" -type f -exec chmod 640 {} \;

echo "setup: waiting for Elasticsearch"
until curl -s --cacert "$CERTS/ca/ca.crt" https://es01:9200 | grep -q "missing authentication credentials"; do
  sleep 5
done

echo "setup: setting the kibana_system password"
# Both credentials go to curl as a config on stdin, not on its command line, so they never show
# in the container's process list. (.env passwords must not hold quotes or backslashes; kmsdet
# checks that when it reads .env.)
kibana_system_password() {
  printf 'user = "elastic:%s"\n' "$ELASTIC_PASSWORD"
  printf 'data = "{\\"password\\":\\"%s\\"}"\n' "$KIBANA_PASSWORD"
}
until kibana_system_password | curl -s -K - --cacert "$CERTS/ca/ca.crt" -X POST \
    -H "Content-Type: application/json" \
    https://es01:9200/_security/user/kibana_system/_password | grep -q "^{}"; do
  sleep 5
done

echo "setup: done"
