#!/usr/bin/env bash
# Installs the VS Code runtime the extension tests and `npm start` use: code-server (VS Code's
# own server build, from npm) in .cache/code-server/, driven by Debian's Chromium.
# Idempotent and fast when everything is already there. Desktop VS Code cannot be downloaded
# on machines that reach only npm and Debian, so this is the runtime we can rely on.
set -euo pipefail

CODE_SERVER_VERSION="4.100.3"   # VS Code 1.100; newer lines need Node 22+
RIPGREP_CACHE_NAME="vscode-ripgrep-cache-1.15.11"
RIPGREP_ARCHIVE="ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/code-server"
entry="$cache/node_modules/code-server/out/node/entry.js"

installed_version() {
  node -e 'try{console.log(require(process.argv[1]).version)}catch{}' "$cache/node_modules/code-server/package.json" 2>/dev/null || true
}

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
[ -e /usr/include/krb5.h ] || [ -e /usr/include/krb5/krb5.h ] || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" build-essential python3
fi

if [ -f "$entry" ] && [ "$(installed_version)" = "$CODE_SERVER_VERSION" ]; then
  echo "setup: code-server $CODE_SERVER_VERSION ready in .cache/code-server"
  exit 0
fi

# @vscode/ripgrep's postinstall downloads from GitHub unless it finds this archive first.
tmp="$(node -p 'require("os").tmpdir()')"
rgcache="$tmp/$RIPGREP_CACHE_NAME"
if [ ! -s "$rgcache/$RIPGREP_ARCHIVE" ]; then
  mkdir -p "$rgcache"
  stage="$(mktemp -d)"
  cp "$(command -v rg)" "$stage/rg"
  tar -C "$stage" -czf "$rgcache/$RIPGREP_ARCHIVE" rg
  rm -rf "$stage"
fi

echo "setup: installing code-server $CODE_SERVER_VERSION into .cache/code-server (a few minutes)"
mkdir -p "$cache"
[ -f "$cache/package.json" ] || echo '{"name":"ledgerlock-vscode-runtime","private":true}' > "$cache/package.json"
# unsafe_perm: its postinstall refuses to run as root otherwise; yes: node-pty's postinstall
# would stop at an npx prompt.
(cd "$cache" && npm_config_unsafe_perm=true npm_config_yes=true npm_config_fund=false npm_config_audit=false \
  npm install --no-save --loglevel=error "code-server@$CODE_SERVER_VERSION")

[ -f "$entry" ] || { echo "setup: code-server install failed: $entry missing" >&2; exit 1; }
echo "setup: code-server $(installed_version) ready"
