#!/usr/bin/env bash
# Regenerates every generated file from proto/ (never edit them by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
buf generate
# The descriptor set served by server reflection: our schema (with
# google/protobuf/timestamp.proto) plus grpc.health.v1, imports and comments
# intact, which is what strict clients such as grpcurl need. Serialized
# FileDescriptorSets concatenated are one set holding the files of all (a file
# two of them share, such as google/protobuf/any.proto, is served once).
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
buf build proto --as-file-descriptor-set -o "$tmp/sr.binpb"
buf build node_modules/grpc-health-check/proto --as-file-descriptor-set -o "$tmp/health.binpb"
# The reflection service describes itself too, as grpc-go's does (grpcurl `list` shows it).
buf build node_modules/@grpc/reflection/build/proto --path node_modules/@grpc/reflection/build/proto/grpc --as-file-descriptor-set -o "$tmp/reflection.binpb"
# google.rpc.Status and its error details, so grpcurl prints an error's details.
buf build node_modules/google-proto-files --path node_modules/google-proto-files/google/rpc/status.proto --path node_modules/google-proto-files/google/rpc/error_details.proto --as-file-descriptor-set -o "$tmp/rpc.binpb"
cat "$tmp/sr.binpb" "$tmp/health.binpb" "$tmp/reflection.binpb" "$tmp/rpc.binpb" > gen/descriptors.binpb
