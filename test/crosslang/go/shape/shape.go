// Package shape is the JSON every language's test programs print (see
// test/crosslang/shapes.ts), for the Go ones: srtest and behaviour.
package shape

import (
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/status"

	"github.com/status-report/sr/clients/go/srclient"
	"github.com/status-report/sr/clients/go/srv1"
)

// StatusJSON is an IdentifierStatus as every language prints it.
type StatusJSON struct {
	Group      string  `json:"group"`
	Identifier string  `json:"identifier"`
	Status     int32   `json:"status"`
	Details    *string `json:"details"`
}

// Status is s in that shape.
func Status(s *srv1.IdentifierStatus) StatusJSON {
	return StatusJSON{s.GetGroup(), s.GetIdentifier(), s.GetStatus(), s.Details}
}

// Event is a watch message in the shape every language prints (see
// test/crosslang/shapes.ts).
func Event(m *srv1.WatchStatusResponse) map[string]interface{} {
	e := map[string]interface{}{"revision": m.GetRevision()}
	switch ev := m.Event.(type) {
	case *srv1.WatchStatusResponse_Snapshot:
		ids := []StatusJSON{}
		for _, s := range ev.Snapshot.GetIdentifiers() {
			ids = append(ids, Status(s))
		}
		e["type"], e["last"], e["resync"], e["identifiers"] = "snapshot", ev.Snapshot.GetLast(), ev.Snapshot.GetResync(), ids
	case *srv1.WatchStatusResponse_StatusChanged:
		c := ev.StatusChanged
		e["type"], e["group"], e["identifier"] = "status_changed", c.GetGroup(), c.GetIdentifier()
		e["status"], e["old_status"], e["details"], e["ready"] = c.GetStatus(), c.GetOldStatus(), c.Details, c.GetReady()
	case *srv1.WatchStatusResponse_ReportAdded:
		r := ev.ReportAdded
		e["type"], e["group"], e["identifier"] = "report_added", r.GetGroup(), r.GetIdentifier()
		e["sequence"], e["text"] = r.GetReport().GetSequence(), r.GetReport().GetText()
	case *srv1.WatchStatusResponse_Registered:
		s := Status(ev.Registered)
		e["type"], e["group"], e["identifier"], e["status"], e["details"] = "registered", s.Group, s.Identifier, s.Status, s.Details
	case *srv1.WatchStatusResponse_Unregistered:
		e["type"], e["group"], e["identifier"] = "unregistered", ev.Unregistered.GetGroup(), ev.Unregistered.GetIdentifier()
	case *srv1.WatchStatusResponse_Progress:
		e["type"] = "progress"
	}
	return e
}

// Code names an error's code as google.rpc.Code (and Python) do:
// NOT_FOUND, CANCELLED, ...; "ENDED" for a stream the server ended.
func Code(err error) string {
	if err == srclient.ErrStreamEnded {
		return "ENDED"
	}
	return code.Code(status.Code(err)).String()
}
