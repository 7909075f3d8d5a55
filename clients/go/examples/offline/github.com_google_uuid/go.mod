// An empty stand-in for github.com/google/uuid: see ../../go.mod.
module github.com/google/uuid
