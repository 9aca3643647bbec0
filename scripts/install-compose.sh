#!/bin/sh
# Installs Debian's docker-compose (it validates compose.yaml offline) for the deployment test,
# when missing and we may (root + apt). Never fails: that test skips with a reason without it.
command -v docker-compose >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's docker-compose for the deployment test..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null) \
    || echo "docker-compose could not be installed; the compose test will be skipped"
else
  echo "docker-compose is not installed and cannot be installed here; the compose test will be skipped"
fi
exit 0
