#!/bin/sh
# A stand-in exec credential plugin for tests (what `aws eks get-token` does, minus AWS).
# Driven by its environment, which the kubeconfig's exec.env sets:
#   PLUGIN_TOKEN        token to print, or PLUGIN_TOKEN_FILE: print that file's content
#   PLUGIN_EXPIRES_IN   seconds from now for status.expirationTimestamp (none when unset)
#   PLUGIN_API_VERSION  apiVersion to print (default client.authentication.k8s.io/v1)
#   PLUGIN_MODE         ok | fail (stderr + exit 3) | bad-json | no-token | sleep
#   PLUGIN_LOG          file that gets one line per run: KUBERNETES_EXEC_INFO, then argv
set -eu
if [ -n "${PLUGIN_LOG:-}" ]; then
  printf '%s\n' "${KUBERNETES_EXEC_INFO:-<unset>} $*" >> "$PLUGIN_LOG"
fi
case "${PLUGIN_MODE:-ok}" in
  fail)
    echo "first line of a long complaint" >&2
    echo "An error occurred (ExpiredToken): the SSO session has expired; run aws sso login" >&2
    exit 3 ;;
  bad-json) echo "Unable to locate credentials. You can configure credentials by running"; exit 0 ;;
  no-token)
    printf '{"apiVersion":"%s","kind":"ExecCredential","status":{}}\n' \
      "${PLUGIN_API_VERSION:-client.authentication.k8s.io/v1}"
    exit 0 ;;
  sleep) sleep 600 ;;
esac
token=${PLUGIN_TOKEN:-}
if [ -n "${PLUGIN_TOKEN_FILE:-}" ]; then token=$(cat "$PLUGIN_TOKEN_FILE"); fi
expiry=""
if [ -n "${PLUGIN_EXPIRES_IN:-}" ]; then
  expiry=$(date -u -d "@$(( $(date +%s) + PLUGIN_EXPIRES_IN ))" +%Y-%m-%dT%H:%M:%SZ)
  expiry=",\"expirationTimestamp\":\"$expiry\""
fi
printf '{"apiVersion":"%s","kind":"ExecCredential","spec":{},"status":{"token":"%s"%s}}\n' \
  "${PLUGIN_API_VERSION:-client.authentication.k8s.io/v1}" "$token" "$expiry"
