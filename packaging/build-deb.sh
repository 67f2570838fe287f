#!/usr/bin/env bash
# Packages the release binary SwiftPM already built into dist/proxym_<version>_amd64.deb, then runs
# lintian. `make deb` builds the binary and calls this; see packaging/README.md.
#
#   packaging/build-deb.sh [path/to/proxym]     (default: .build/release/proxym)
#
# The version comes from Sources/ProxymCore/ProxymVersion.swift and must equal the one in
# packaging/debian/changelog. dpkg-buildpackage runs in a staging copy of packaging/ under
# .build-pkg/, never in the repository, and downloads nothing.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
cd "$top"
bin="${1:-.build/release/proxym}"

fail() { echo "build-deb: $*" >&2; exit 1; }

version="$(sed -n 's/.*static let string = "\(.*\)".*/\1/p' Sources/ProxymCore/ProxymVersion.swift)"
[ -n "$version" ] || fail "cannot read the version from Sources/ProxymCore/ProxymVersion.swift"
changelog_version="$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)"
[ "$version" = "$changelog_version" ] ||
  fail "ProxymVersion.string is $version but packaging/debian/changelog says $changelog_version"
[ -x "$bin" ] || fail "$bin is missing: build it first (make deb)"
[ "$("$bin" --version)" = "$version" ] || fail "$bin --version is not $version"

# The man page and the default configuration must name every variable `proxym --help` lists
# (the help text is generated from the setting declarations, so this is the parser's own list).
missing=0
for name in $("$bin" --help | grep -o 'PROXYM_[A-Z_]*[A-Z]' | sort -u); do
  grep -q -w -- "$name" packaging/man/proxym.8 || { echo "build-deb: $name is not in packaging/man/proxym.8" >&2; missing=1; }
  grep -q -w -- "$name" packaging/etc/proxym/proxym.conf ||
    { echo "build-deb: $name is not in packaging/etc/proxym/proxym.conf" >&2; missing=1; }
done
[ "$missing" = 0 ] || fail "documentation is missing variables (see above)"

arch="$(dpkg --print-architecture)"
[ "$arch" = amd64 ] || fail "the package is amd64 only (this machine: $arch)"

work="$top/.build-pkg"
stage="$work/proxym-$version"
rm -rf "$work"
mkdir -p "$stage/build"
cp -a packaging/debian packaging/etc packaging/man packaging/systemd "$stage/"
cp "$bin" "$stage/build/proxym"

echo "build-deb: dpkg-buildpackage in $stage"
(cd "$stage" && dpkg-buildpackage --build=binary --no-sign)

mkdir -p dist
deb="dist/proxym_${version}_${arch}.deb"
rm -f "$deb" "dist/proxym-dbgsym_${version}_${arch}.deb"
mv "$work/proxym_${version}_${arch}.deb" "$deb"
if [ -f "$work/proxym-dbgsym_${version}_${arch}.deb" ]; then
  mv "$work/proxym-dbgsym_${version}_${arch}.deb" dist/
fi

echo "build-deb: lintian $deb"
lintian --fail-on error --display-info --tag-display-limit 0 "$deb"

echo
dpkg-deb --info "$deb" | sed -n 's/^ \(Version\|Installed-Size\|Depends\|Recommends\):/\1:/p'
echo "Package size: $(stat -c %s "$deb") bytes"
echo "built $deb"
