// An empty stand-in for golang.org/x/oauth2: see ../../go.mod.
module golang.org/x/oauth2
