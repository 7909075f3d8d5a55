// An empty stand-in for github.com/cncf/udpa/go: see ../../go.mod.
module github.com/cncf/udpa/go
