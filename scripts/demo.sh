#!/usr/bin/env bash
# Streams a log file into an UltraLong Stream session and asks a question over the whole of it,
# printing the answer as it is generated.
#
#   scripts/demo.sh [LOG_FILE] [QUESTION]
#
#   LOG_FILE   default: scripts/sample-app.log (200 lines of a checkout service with a few ERRORs)
#   QUESTION   default: "Which errors occurred in this log, and what caused them?"
#
# Environment:
#   UL_URL      the gateway (default http://localhost:8080)
#   UL_API_KEY  sent as "Authorization: Bearer <key>" when set (for the compose deployment, a key
#               made by scripts/api-key.sh); leave it unset when the gateway runs with auth off
#   UL_SESSION  the session to append to (default: a new one, demo-<timestamp>)
#   UL_BATCH    records per append request (default 50)
#
# Needs bash and curl; uses jq to decode the streamed tokens when it is installed.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log_file="${1:-${script_dir}/sample-app.log}"
question="${2:-Which errors occurred in this log, and what caused them?}"
base_url="${UL_URL:-http://localhost:8080}"
base_url="${base_url%/}"
session="${UL_SESSION:-demo-$(date +%Y%m%d-%H%M%S)}"
batch_size="${UL_BATCH:-50}"

if [[ ! -r "${log_file}" ]]; then
  echo "Cannot read ${log_file}" >&2
  exit 2
fi
command -v curl > /dev/null || { echo "curl is required" >&2; exit 2; }
have_jq=false
command -v jq > /dev/null && have_jq=true

work_dir="$(mktemp -d)"
trap 'rm -rf "${work_dir}"' EXIT

auth=()
if [[ -n "${UL_API_KEY:-}" ]]; then
  auth=(-H "Authorization: Bearer ${UL_API_KEY}")
fi

# api METHOD PATH CONTENT_TYPE BODY_FILE: sets status and body; never fails on HTTP errors, so
# that the caller can print the gateway's JSON error.
api() {
  local data=()
  if [[ -n "$4" ]]; then data=(--data-binary "@$4"); fi
  # ${a[@]+"${a[@]}"}: an empty array expands to nothing, also under set -u in bash 3.2 (macOS).
  status="$(curl -sS -o "${work_dir}/response" -w '%{http_code}' -X "$1" ${auth[@]+"${auth[@]}"} \
    -H "Content-Type: $3" ${data[@]+"${data[@]}"} "${base_url}$2")"
  body="$(cat "${work_dir}/response")"
}

fail() {
  echo "$1 (HTTP ${status}): ${body}" >&2
  exit 1
}

# json_number FIELD: the first numeric value of "FIELD" in $body (no jq needed for numbers).
json_number() {
  grep -o "\"$1\" *: *-\?[0-9]*" <<< "${body}" | head -n 1 | grep -o -- '-\?[0-9]*$' || true
}

# One JSON string, quoted. Log lines may hold quotes, backslashes and tabs.
json_string() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\t'/\\t}"
  s="${s//$'\r'/}"
  printf '"%s"' "${s}"
}

# --- 1. the session -------------------------------------------------------------------------
printf '{"id":%s}' "$(json_string "${session}")" > "${work_dir}/session.json"
api POST /v1/sessions application/json "${work_dir}/session.json"
[[ "${status}" == 201 ]] || fail "Creating session ${session} failed"
echo "Session ${session} on ${base_url}"

# --- 2. the log, as NDJSON records in batches -----------------------------------------------
# Control characters other than tab would make invalid JSON; one record per non-empty line.
source_name="$(json_string "$(basename "${log_file}")")"
LC_ALL=C tr -d '\000-\010\013\014\016-\037' < "${log_file}" > "${work_dir}/clean.log"
records=0
last_seq=""
batch="${work_dir}/batch.ndjson"
: > "${batch}"
in_batch=0

send_batch() {
  api POST "/v1/sessions/${session}/records" application/x-ndjson "${batch}"
  [[ "${status}" == 202 ]] || fail "Appending records failed"
  last_seq="$(json_number lastSeq)"
  records=$((records + $(json_number count)))
  printf '  appended %4d records (seq %s..%s)\n' "$(json_number count)" "$(json_number firstSeq)" "${last_seq}"
  : > "${batch}"
  in_batch=0
}

while IFS= read -r line || [[ -n "${line}" ]]; do
  [[ -z "${line//[[:space:]]/}" ]] && continue
  printf '{"text":%s,"source":%s}\n' "$(json_string "${line}")" "${source_name}" >> "${batch}"
  in_batch=$((in_batch + 1))
  if (( in_batch == batch_size )); then
    send_batch
  fi
done < "${work_dir}/clean.log"
if (( in_batch > 0 )); then
  send_batch
fi
echo "Streamed ${records} records from ${log_file}"

# --- 3. the question, answered as Server-Sent Events -----------------------------------------
# minSeq makes the query wait until the worker has applied our last record, even when several
# gateways share the load (one gateway alone tracks it by itself).
printf '{"question":%s,"minSeq":%s}' "$(json_string "${question}")" "${last_seq:-0}" > "${work_dir}/query.json"
echo
echo "Q: ${question}"

# token data is {"text":"..."}: decode the JSON string (with jq when available).
decode_text() {
  if [[ "${have_jq}" == true ]]; then
    jq -j '.text' <<< "$1"
  else
    local s="$1"
    s="${s#*:}"             # {"text":
    s="${s#"${s%%[! ]*}"}"  # spaces after the colon
    s="${s#\"}"
    s="${s%\}}"
    s="${s%\"}"
    s="${s//\\\"/\"}"
    s="${s//\\\//\/}"
    printf '%b' "${s}"   # \n, \t, \\ and \uXXXX
  fi
}

event=""
outcome=""
answering=false
# Prefill progress is redrawn in place on a terminal, and left out of pipes and files.
show_progress=false
[[ -t 1 ]] && show_progress=true
start_answer() {
  if [[ "${answering}" == false ]]; then
    if [[ "${show_progress}" == true ]]; then
      printf '\r%70s\r' ''   # clears the progress line
    fi
    printf 'A: '
    answering=true
  fi
}
while IFS= read -r line; do
  line="${line%$'\r'}"
  case "${line}" in
    "event: "*) event="${line#event: }" ;;
    "data: "*)
      data="${line#data: }"
      case "${event}" in
        progress)
          if [[ "${show_progress}" == true ]]; then
            body="${data}"
            printf '\r   prefilling the new context: %s of %s tokens' "$(json_number prefilled)" "$(json_number total)"
          fi ;;
        token) start_answer; decode_text "${data}" ;;
        done) start_answer; outcome="done"; body="${data}" ;;
        error) outcome="error"; body="${data}" ;;
      esac ;;
  esac
done < <(curl -sS -N -X POST ${auth[@]+"${auth[@]}"} -H "Content-Type: application/json" -H "Accept: text/event-stream" \
           --data-binary "@${work_dir}/query.json" "${base_url}/v1/sessions/${session}/query")
echo

case "${outcome}" in
  done)
    finish="$(grep -o '"finishReason" *: *"[a-z_]*"' <<< "${body}" | grep -o '"[a-z_]*"$' | tr -d '"')"
    echo "(${finish}; context $(json_number contextTokens) tokens, cached $(json_number cachedTokens)," \
         "prefilled $(json_number prefilledTokens), generated $(json_number completionTokens))"
    if grep -q '"demoModel" *: *true' <<< "${body}"; then
      echo "(the workers run the built-in demo model: the answer's text is meaningless; mount a model, see README)"
    fi ;;
  error)
    echo "The query failed: ${body}" >&2
    exit 1 ;;
  *)
    echo "The stream ended without an answer (is ${base_url} an UltraLong gateway, and UL_API_KEY right?)" >&2
    exit 1 ;;
esac
