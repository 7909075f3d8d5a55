// The examples as a module of their own, built offline against Debian's
// packages: see "Build the examples as a module, offline" in ../README.md.
module github.com/status-report/sr/clients/go/examples

go 1.19

require (
	github.com/status-report/sr/clients/go v0.0.0
	google.golang.org/grpc v1.33.3
)

require (
	github.com/golang/protobuf v1.5.0 // indirect
	golang.org/x/net v0.0.0-20190311183353-d8887717615a // indirect
	golang.org/x/sys v0.5.0 // indirect
	golang.org/x/text v0.7.0 // indirect
	google.golang.org/genproto v0.0.0-20200526211855-cb27e3aa2013 // indirect
	google.golang.org/protobuf v1.28.1 // indirect
)

// This checkout's client module.
replace github.com/status-report/sr/clients/go => ../

// What the programs import, from Debian's packages (no module proxy).
replace (
	github.com/golang/protobuf => /usr/share/gocode/src/github.com/golang/protobuf
	golang.org/x/net => /usr/share/gocode/src/golang.org/x/net
	golang.org/x/sys => /usr/share/gocode/src/golang.org/x/sys
	golang.org/x/text => /usr/share/gocode/src/golang.org/x/text
	google.golang.org/genproto => /usr/share/gocode/src/google.golang.org/genproto
	google.golang.org/grpc => /usr/share/gocode/src/google.golang.org/grpc
	google.golang.org/protobuf => /usr/share/gocode/src/google.golang.org/protobuf
)

// Required by grpc-go's and genproto's go.mod files (which Go 1.19 reads,
// as they predate go 1.17's pruned graphs) but providing no package these
// programs import: empty modules, so that no lookup is needed. Should a
// program import one, the build fails naming the package.
replace (
	github.com/cncf/udpa/go => ./offline/github.com_cncf_udpa_go
	github.com/envoyproxy/go-control-plane => ./offline/github.com_envoyproxy_go-control-plane
	github.com/golang/glog => ./offline/github.com_golang_glog
	github.com/google/go-cmp => ./offline/github.com_google_go-cmp
	github.com/google/uuid => ./offline/github.com_google_uuid
	golang.org/x/lint => ./offline/golang.org_x_lint
	golang.org/x/mod => ./offline/golang.org_x_mod
	golang.org/x/oauth2 => ./offline/golang.org_x_oauth2
	golang.org/x/term => ./offline/golang.org_x_term
	golang.org/x/tools => ./offline/golang.org_x_tools
	honnef.co/go/tools => ./offline/honnef.co_go_tools
)
