// An empty stand-in for github.com/google/go-cmp: see ../../go.mod.
module github.com/google/go-cmp
