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

# One model for the whole deployment: the ingest service tokenizes with its tokenizer.json and the
# workers load its weights, so both must read the same files. UL_MODEL_DIR is a model directory or a
# HF hub cache folder (models--org--name); UL_MODEL is a hub id org/name[@revision], downloaded into
# the HF cache ($HF_HOME) on first start. Both services resolve it the same way (ModelResolver).
model_ref="${UL_MODEL_DIR:-${UL_MODEL:-}}"
if [[ -n "${model_ref}" ]]; then
  case "${UL_SERVICE:-}" in
    ingest) export UL_INGEST_TOKENIZER="${UL_INGEST_TOKENIZER:-${model_ref}}" ;;
    worker) export UL_WORKER_MODEL_DIR="${UL_WORKER_MODEL_DIR:-${model_ref}}" ;;
  esac
fi

# The API names a hub model by its hub id unless the operator chose a name.
if [[ -n "${UL_MODEL:-}" && -z "${UL_MODEL_DIR:-}" && "${UL_MODEL}" != /* ]]; then
  case "${UL_SERVICE:-}" in
    gateway) export UL_MODEL_ID="${UL_MODEL_ID:-${UL_MODEL%@*}}" ;;
    worker) export UL_WORKER_MODEL_ID="${UL_WORKER_MODEL_ID:-${UL_MODEL%@*}}" ;;
  esac
fi

# Without a model the workers serve the built-in demo model: the gateway says so in /v1/models.
if [[ "${UL_SERVICE:-}" == "gateway" && -z "${model_ref}" ]]; then
  export UL_DEMO_MODEL=true UL_MODEL_ID=ultralong-demo-random-weights
fi

if [[ "${UL_SERVICE:-}" == "worker" ]]; then
  # A worker joins its consumer group with static membership (group.instance.id = UL_WORKER_ID):
  # a worker that comes back under the same id within the session timeout gets its partitions back
  # without a rebalance. Replicas of one compose service share the image, the environment and the
  # data volume, and a container's hostname changes whenever Compose recreates it, so each worker
  # claims the lowest free slot on the shared volume instead: worker-0, worker-1, ... The claim is
  # an flock held by this process and inherited by java through exec, so it lasts exactly as long as
  # the worker and is free again the moment it dies. A recreated container (new image, new
  # settings) thereby gets back both the id and the RocksDB store of the one it replaces.
  data_root="${UL_WORKER_DATA_ROOT:-/var/lib/ultralong/workers}"
  slot=""
  mkdir -p "${data_root}"
  if [[ -z "${UL_WORKER_ID:-}" ]]; then
    for ((slot = 0; ; slot++)); do
      exec {slot_lock}> "${data_root}/worker-${slot}.lock"
      if flock --nonblock "${slot_lock}"; then
        break
      fi
      exec {slot_lock}>&-
    done
    export UL_WORKER_ID="worker-${slot}"
  fi
  # One worker per GPU on a multi-GPU host (docker-compose.gpus.yml): every replica sees all GPUs,
  # and worker-N computes on GPU N. Docker itself would give every replica GPU 0.
  if [[ "${UL_WORKER_DEVICE:-}" == "per-slot" ]]; then
    if [[ -z "${slot:-}" ]]; then
      echo "UL_WORKER_DEVICE=per-slot needs a claimed slot, but UL_WORKER_ID is set to ${UL_WORKER_ID}" >&2
      exit 1
    fi
    gpus="$(nvidia-smi --list-gpus 2> /dev/null | grep -c '^GPU' || true)"
    if [[ "${gpus}" -gt 0 && "${slot}" -ge "${gpus}" ]]; then
      echo "${UL_WORKER_ID} has no GPU of its own: this host shows ${gpus} GPU(s); run at most ${gpus} workers" >&2
      exit 1
    fi
    export UL_WORKER_DEVICE="cuda:${slot}"
  fi
  # RocksDB locks its directory against a second process: one directory per worker id.
  export UL_WORKER_DATA_DIR="${UL_WORKER_DATA_DIR:-${data_root}/${UL_WORKER_ID}}"
  mkdir -p "${UL_WORKER_DATA_DIR}"
  echo "worker id ${UL_WORKER_ID}, data in ${UL_WORKER_DATA_DIR}, device ${UL_WORKER_DEVICE:-default}"
fi

# shellcheck disable=SC2086 # JAVA_OPTS is a list of flags and must split on spaces.
exec java ${JAVA_OPTS:-} -jar /app/quarkus-run.jar "$@"
