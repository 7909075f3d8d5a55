// An empty stand-in for golang.org/x/tools: see ../../go.mod.
module golang.org/x/tools
