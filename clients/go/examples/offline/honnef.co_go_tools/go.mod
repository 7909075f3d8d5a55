// An empty stand-in for honnef.co/go/tools: see ../../go.mod.
module honnef.co/go/tools
