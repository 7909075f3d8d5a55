// An empty stand-in for github.com/envoyproxy/go-control-plane: see ../../go.mod.
module github.com/envoyproxy/go-control-plane
