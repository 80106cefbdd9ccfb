#!/usr/bin/env bash
# Makes a new API key for a tenant and prints it with the hash entry the gateway takes
# (ul.auth.api-key-hashes / UL_AUTH_API_KEY_HASHES): the gateway never needs the key in clear.
# Usage: scripts/api-key.sh TENANT
set -euo pipefail
tenant=${1:?usage: scripts/api-key.sh TENANT}
case "$tenant" in *[!A-Za-z0-9._-]*) echo "tenant: letters, digits, '.', '_' and '-' only" >&2; exit 2;; esac
key="ul_$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
hash=$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)
echo "API key (give it to the client, it is not stored anywhere): $key"
echo "gateway entry (UL_AUTH_API_KEY_HASHES, comma-separated for several): $tenant:$hash"
