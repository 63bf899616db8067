#!/usr/bin/env bash
# Resolves Apache Kafka's broker jars (deploy/kafka/pom.xml) from Maven
# Central into a cache folder outside the clone, once per version, and prints
# that folder. Tests find it the same way (food_broker::apache::jars_dir).
#
#   deploy/kafka/fetch.sh            # -> ~/.cache/food-platform/kafka/<version>
#   FOOD_KAFKA_JARS=/some/dir deploy/kafka/fetch.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/food-platform/kafka/$version"
dest="${FOOD_KAFKA_JARS:-$cache}"
if [ -f "$dest/.complete" ]; then
    echo "$dest"
    exit 0
fi
tmp="$dest.tmp.$$"
rm -rf "$tmp"
mkdir -p "$(dirname "$dest")"
echo "fetching Apache Kafka $version from Maven Central into $dest" >&2
mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >&2
echo "$version" > "$tmp/.complete"
rm -rf "$dest"
mv "$tmp" "$dest"
echo "$dest"
