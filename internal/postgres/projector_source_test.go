package postgres

import "testing"

func TestSnapshotIncludes(t *testing.T) {
	const epoch1 = uint64(1) << 32
	tests := []struct {
		name string
		snap string
		xids []uint32
		want bool
	}{
		{"BelowXmin", "100:105:", []uint32{50, 99}, true},
		{"BetweenAndNotInProgress", "100:105:101,103", []uint32{100, 102, 104}, true},
		{"InProgress", "100:105:101,103", []uint32{102, 103}, false},
		{"AtXmax", "100:105:", []uint32{105}, false},
		{"AboveXmax", "100:105:", []uint32{200}, false},
		{"NoXids", "100:105:101", nil, true},
		{"AcrossEpochVisible", fmtSnap(epoch1+5, epoch1+10), []uint32{4294967290}, true},
		{"AcrossEpochInProgress", fmtSnap(epoch1-20, epoch1+10) + "4294967290", []uint32{0xFFFFFFFA}, false},
		{"EpochLowBits", fmtSnap(epoch1+5, epoch1+10), []uint32{7}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SnapshotIncludes(tc.snap, tc.xids)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("SnapshotIncludes(%q, %v) = %t, want %t", tc.snap, tc.xids, got, tc.want)
			}
		})
	}
	if _, err := SnapshotIncludes("garbage", nil); err == nil {
		t.Error("SnapshotIncludes(garbage) succeeded, want an error")
	}
}

// fmtSnap renders xmin:xmax: (with an empty xip list to be appended).
func fmtSnap(xmin, xmax uint64) string {
	return u(xmin) + ":" + u(xmax) + ":"
}

func u(v uint64) string {
	const digits = "0123456789"
	if v == 0 {
		return "0"
	}
	var b []byte
	for v > 0 {
		b = append([]byte{digits[v%10]}, b...)
		v /= 10
	}
	return string(b)
}
