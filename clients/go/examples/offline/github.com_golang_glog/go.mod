// An empty stand-in for github.com/golang/glog: see ../../go.mod.
module github.com/golang/glog
