package domain

// IsUUID reports whether s is a UUID in canonical textual form
// (8-4-4-4-12 hexadecimal digits, either case).
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// ValidateUUID records a field error unless s is a canonical UUID.
func ValidateUUID(v *Validation, field, s string) {
	if !IsUUID(s) {
		v.Add(field, "must be a UUID such as 123e4567-e89b-12d3-a456-426614174000")
	}
}
