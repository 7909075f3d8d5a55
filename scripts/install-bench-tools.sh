#!/usr/bin/env bash
# The load generators the benchmarks compare against, from Debian: h2load
# (nghttp2-client) drives unary gRPC calls, etcd-server is the fan-out baseline,
# util-linux's taskset pins server and load to separate cores. Run as root.
set -euo pipefail
need=()
command -v h2load >/dev/null || need+=(nghttp2-client)
command -v etcd >/dev/null || need+=(etcd-server)
command -v taskset >/dev/null || need+=(util-linux)
if [ ${#need[@]} -eq 0 ]; then
  echo "bench tools: already installed"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}"
