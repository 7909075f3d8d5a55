#!/usr/bin/env bash
# Installs the Debian packages that the Python and Go clients need to be
# regenerated, built and tested (Debian bookworm packages): protoc with the gRPC
# Python plugin, Debian's grpcio/protobuf for /usr/bin/python3, Go 1.19 with
# protoc-gen-go, protoc-gen-go-grpc and the grpc-go / protobuf-go / genproto
# libraries (used in GOPATH mode, or in module mode through `replace`
# directives: there is no module proxy on these machines), and what builds,
# installs and type-checks the Python wheel offline (build, setuptools, venv,
# mypy). Also what `npm ci` needs to build better-sqlite3, the optional driver
# of --data-dir (g++, make, python3), and the sqlite3 command (backups).
#
# Debian bookworm only; needs root (or sudo). Safe to run again: it does
# nothing (and needs no network) when every package is already installed.
set -euo pipefail

packages=(
  protobuf-compiler              # /usr/bin/protoc (buf's protoc_builtin python/pyi)
  protobuf-compiler-grpc         # grpc_python_plugin
  python3-grpcio                 # grpc for /usr/bin/python3
  python3-protobuf               # google.protobuf for /usr/bin/python3
  golang-go                      # go 1.19
  protoc-gen-go                  # Go messages
  protoc-gen-go-grpc             # Go service stubs
  golang-google-grpc-dev         # google.golang.org/grpc (+ grpc_health_v1)
  golang-google-genproto-dev     # google.rpc error details (srclient's errors); grpc's dependency too
  golang-github-golang-protobuf-1-5-dev # protobuf APIv2-backed 1.5; 1.3 panics at run time
  python3-build                  # python3 -m build: the wheel, offline (--no-isolation)
  python3-setuptools             # the wheel's build backend
  python3-venv                   # the fresh virtual environment the wheel is tested in
  mypy                           # type-checks sr_client (py.typed)
  openssl                        # the TLS, mTLS and rotation tests make their certificates at run time
  g++                            # better-sqlite3 (--data-dir's optional driver) compiles SQLite during npm ci ...
  make                           # ... through node-gyp, which needs make ...
  python3                        # ... and python3
  sqlite3                        # the sqlite3 command: the README's online backup of a data dir (tested)
)

run() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "install-client-toolchains: must run as root (or have sudo)" >&2
    exit 1
  fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-client-toolchains: every package is already installed"
else
  run apt-get update
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

echo "toolchains: $(protoc --version), $(go version), grpc_python_plugin, protoc-gen-go, protoc-gen-go-grpc"
/usr/bin/python3 -c 'import grpc, google.protobuf; print("python3: grpcio", grpc.__version__, "protobuf", google.protobuf.__version__)'
