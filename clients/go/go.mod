// Module use of the Go client (see README.md). The repository's own tests
// build it in GOPATH mode against Debian's packages instead.
module github.com/status-report/sr/clients/go

go 1.19

require (
	// google.rpc error details (srclient's errors); the version grpc v1.33.3 requires.
	google.golang.org/genproto v0.0.0-20200526211855-cb27e3aa2013
	google.golang.org/grpc v1.33.3
	google.golang.org/protobuf v1.28.1
)
