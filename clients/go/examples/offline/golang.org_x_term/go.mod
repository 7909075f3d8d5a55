// An empty stand-in for golang.org/x/term: see ../../go.mod.
module golang.org/x/term
