#!/usr/bin/env bash
# Starts one UltraLong Stream service (a Quarkus fast-jar in /app) in the foreground.
# JAVA_OPTS carries JVM flags; every service setting comes from the environment (UL_*, KAFKA_*).
set -euo pipefail

# docker-compose passes optional settings as "${VAR:-}", i.e. as empty strings when the operator
# left them out. An empty setting means "not set, use the service's default", so drop them
# rather than hand the services an empty number or path to parse.
while IFS= read -r name; do
  if [[ "${name}" == UL_* && -z "${!name}" ]]; then
    unset "${name}"
  fi
done < <(compgen -e)

# One model directory for the whole deployment: the ingest service tokenizes with its
# tokenizer.json and the workers load its weights, so both must read the same directory.
if [[ -n "${UL_MODEL_DIR:-}" ]]; then
  case "${UL_SERVICE:-}" in
    ingest) export UL_INGEST_MODEL_DIR="${UL_INGEST_MODEL_DIR:-${UL_MODEL_DIR}}" ;;
    worker) export UL_WORKER_MODEL_DIR="${UL_WORKER_MODEL_DIR:-${UL_MODEL_DIR}}" ;;
  esac
fi

if [[ "${UL_SERVICE:-}" == "worker" ]]; then
  # A worker joins its consumer group with static membership (group.instance.id), so that a
  # restarted worker gets its partitions back without a rebalance. The container hostname stays
  # the same across restarts of one container (restart policy, docker restart); a recreated
  # container gets a new one and its old identity expires after the group's session timeout.
  export UL_WORKER_ID="${UL_WORKER_ID:-${HOSTNAME}}"
  # Replicas of one compose service share one volume, and RocksDB locks its directory against a
  # second process: each worker keeps its store in a directory of its own.
  export UL_WORKER_DATA_DIR="${UL_WORKER_DATA_DIR:-/var/lib/ultralong/workers/${UL_WORKER_ID}}"
  mkdir -p "${UL_WORKER_DATA_DIR}"
fi

# shellcheck disable=SC2086 # JAVA_OPTS is a list of flags and must split on spaces.
exec java ${JAVA_OPTS:-} -jar /app/quarkus-run.jar "$@"
