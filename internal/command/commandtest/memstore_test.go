package commandtest_test

import (
	"testing"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/command/commandtest"
)

func TestMemStoreContract(t *testing.T) {
	commandtest.RunStoreContract(t, func(*testing.T) command.Store { return commandtest.NewMemStore() })
}
