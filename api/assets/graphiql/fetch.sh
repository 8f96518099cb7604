#!/usr/bin/env bash
# Re-fetches the explorer's vendored assets (GraphiQL and React, browser builds) from the npm
# registry, checks each package against the integrity npm publishes for it (`dist.integrity`,
# pinned in VERSIONS), and writes them here gzipped (the server embeds the .gz files and sends
# them as they are to clients that accept gzip).
#
#   api/assets/graphiql/fetch.sh          fetch and write the files
#   api/assets/graphiql/fetch.sh --check  fetch and compare with the files here (exit 1 if they differ)
#
# To move to another release: change the versions and integrities in VERSIONS (from
# `npm view <package>@<version> dist.integrity`), run this script, run the explorer test.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
check=false
[ "${1:-}" = "--check" ] && check=true
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# VERSIONS: `package version integrity file-in-package served-name`, one file a line.
status=0
while read -r package version integrity file served; do
  case "$package" in ''|'#'*) continue ;; esac
  tarball="$work/$package-$version.tgz"
  if [ ! -f "$tarball" ]; then
    (cd "$work" && npm pack --silent "$package@$version" >/dev/null)
    mv "$work/$package-$version.tgz" "$tarball" 2>/dev/null || true
    published="$(npm view "$package@$version" dist.integrity)"
    actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
    if [ "$published" != "$integrity" ] || [ "$actual" != "$integrity" ]; then
      echo "$package@$version: integrity mismatch (pinned $integrity, published $published, downloaded $actual)" >&2
      exit 1
    fi
    mkdir -p "$work/$package"
    tar xzf "$tarball" -C "$work/$package"
    license="$work/$package/package/LICENSE"
    if $check; then
      cmp -s "$license" "$here/LICENSE-$package" || { echo "LICENSE-$package differs" >&2; status=1; }
    else
      cp "$license" "$here/LICENSE-$package"
    fi
  fi
  source="$work/$package/package/$file"
  if $check; then
    if ! gzip -dc "$here/$served.gz" | cmp -s - "$source"; then
      echo "$served.gz is not $package@$version's $file" >&2
      status=1
    fi
  else
    gzip -9 -n -c "$source" > "$here/$served.gz"
    echo "wrote $served.gz ($(wc -c < "$here/$served.gz") bytes) from $package@$version/$file"
  fi
done < "$here/VERSIONS"
$check && [ "$status" -eq 0 ] && echo "the vendored assets match the npm registry's packages"
exit "$status"
