package projection

import (
	"sort"
	"time"
)

// CustomerRow is a customer as read from the write model.
type CustomerRow struct {
	ID        string
	Name      string
	Email     *string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NewCustomerDoc builds the access document of c with its linked users and
// its live API keys, both sorted by id so equal states give equal
// documents.
func NewCustomerDoc(c CustomerRow, users []CustomerUser, keys []CustomerAPIKey) CustomerDoc {
	us := append(make([]CustomerUser, 0, len(users)), users...)
	sort.Slice(us, func(i, j int) bool { return us[i].ID < us[j].ID })
	ks := append(make([]CustomerAPIKey, 0, len(keys)), keys...)
	sort.Slice(ks, func(i, j int) bool { return ks[i].ID < ks[j].ID })
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	return CustomerDoc{
		ID:        c.ID,
		Name:      c.Name,
		Email:     c.Email,
		CreatedAt: c.CreatedAt.UTC(),
		UpdatedAt: c.UpdatedAt.UTC(),
		UserIDs:   ids,
		Users:     us,
		APIKeys:   ks,
	}
}
