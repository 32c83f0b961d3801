package pgoutput

import (
	"context"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/wildcat-payments/wildcat/internal/projection"
)

// The stream's side of a message, without a socket: the recorded session
// through receive counts waiting transactions and tracks the server's WAL
// end. (A keepalive asking for a reply would send a status update, which
// needs the connection; those are left out.)
func TestReceiveRecordedSession(t *testing.T) {
	rec := loadRecording(t)
	s := &Stream{dec: newDecoder(mustLSN(t, rec.Start), 10, rec.Fingerprint)}
	var txs, positions int
	var serverEnd uint64
	for i, m := range rec.Messages {
		end, reply := uint64(0), false
		if m.Data[0] == 'k' {
			end, reply = rawKeepalive(m.Data)
		} else {
			end = binary.BigEndian.Uint64(m.Data[9:17])
		}
		if reply {
			continue
		}
		serverEnd = max(serverEnd, end)
		tx, err := s.receive(context.Background(), received{msg: &pgproto3.CopyData{Data: m.Data}})
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		switch {
		case tx == nil:
		case tx.Keepalive:
			positions++
		default:
			txs++
		}
		if got := s.ServerWALEnd(); got != serverEnd {
			t.Fatalf("message %d: ServerWALEnd %d, want %d", i, got, serverEnd)
		}
	}
	if s.Waiting() != txs || txs == 0 || positions == 0 {
		t.Errorf("Waiting %d after %d transactions and chunks (and %d idle positions, not counted)", s.Waiting(), txs, positions)
	}
}

func TestReceiveErrors(t *testing.T) {
	s := &Stream{dec: newDecoder(0, 10, nil)}
	if _, err := s.receive(context.Background(), received{err: errors.New("reset")}); err == nil || !strings.Contains(err.Error(), "replication: receive: reset") {
		t.Errorf("a read error: %v", err)
	}
	if _, err := s.receive(context.Background(), received{msg: &pgproto3.CopyDone{}}); err == nil || !strings.Contains(err.Error(), "server ended the stream") {
		t.Errorf("CopyDone: %v", err)
	}
	if tx, err := s.receive(context.Background(), received{msg: &pgproto3.NoticeResponse{}}); tx != nil || err != nil {
		t.Errorf("a message the stream does not use: %v, %v", tx, err)
	}
}

// The pending transaction is offered only once its weight fits the
// budget; while it waits, the stream waits for the budget, not the socket.
func TestHandoutGate(t *testing.T) {
	out := make(chan projection.Tx)
	in := make(chan received)
	budget := projection.NewBudget(3)
	h := handout{budget: budget}
	if o, f, i := h.gate(out, in); o != nil || f != nil || i == nil {
		t.Fatal("nothing pending: read the next message")
	}
	h.pending = &projection.Tx{Changes: make([]projection.Change, 2)} // weight 3
	if o, f, i := h.gate(out, in); o == nil || f != nil || i != nil || budget.Used() != 3 {
		t.Fatalf("fits the budget: offer it (used %d)", budget.Used())
	}
	if o, _, _ := h.gate(out, in); o == nil || budget.Used() != 3 {
		t.Fatalf("reserved once: used %d", budget.Used())
	}
	h.taken()
	h.pending = &projection.Tx{}
	if o, f, i := h.gate(out, in); o != nil || f == nil || i != nil {
		t.Fatal("budget used up: wait for it to be freed, read nothing")
	}
	budget.Release(3)
	if o, _, _ := h.gate(out, in); o == nil || h.tx().Weight() != 1 {
		t.Fatal("freed: offer it")
	}
	h.taken()
	if h.pending != nil || !reflect.DeepEqual(h.tx(), projection.Tx{}) {
		t.Fatal("taken: nothing pending, and the zero Tx for the nil channel")
	}
}
