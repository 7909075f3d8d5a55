// An empty stand-in for golang.org/x/lint: see ../../go.mod.
module golang.org/x/lint
