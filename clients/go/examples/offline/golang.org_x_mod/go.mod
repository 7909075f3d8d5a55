// An empty stand-in for golang.org/x/mod: see ../../go.mod.
module golang.org/x/mod
