#!/bin/sh
# Builds a stand-in for the Dockerfile's base image (node:20-bookworm-slim)
# where no registry can be pulled from: a minimal Debian bookworm root file
# system made by mmdebstrap from the configured apt mirror (the Essential
# packages, plus passwd for useradd and libstdc++6 for node), with this
# machine's Node.js and npm copied to where the official image keeps them
# (/usr/local/bin, /usr/local/lib/node_modules). The Dockerfile stays a
# normal one; only its FROM name is satisfied locally.
#
#   docker/local-base-image.sh [tag]     (needs root, mmdebstrap and podman)
set -eu
tag=${1:-docker.io/library/node:20-bookworm-slim}
node_bin=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
case "$("$node_bin" --version)" in
  v20.*) ;;
  *) echo "local-base-image: $node_bin is not Node.js 20" >&2; exit 1 ;;
esac
mmdebstrap --quiet --variant=essential --include=passwd,libstdc++6 \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='mkdir -p "$1/usr/local/bin" "$1/usr/local/lib/node_modules"' \
  --customize-hook="copy-in $node_bin /usr/local/bin" \
  --customize-hook="copy-in $npm_dir /usr/local/lib/node_modules" \
  --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"' \
  --customize-hook='ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
  bookworm - |
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' \
    --message "Local stand-in for node:20-bookworm-slim (mmdebstrap bookworm essential + $("$node_bin" --version))" \
    - "$tag" >/dev/null
echo "$tag"
