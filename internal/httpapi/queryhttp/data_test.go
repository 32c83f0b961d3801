package queryhttp_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/query"
)

// uuidFrom returns a deterministic lower-case UUID.
func uuidFrom(r *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xfff, r.Uint64()&0xffffffffffff)
}

// vocabulary of plain words (letters and digits only), so that the
// engines' standard analyzer and querytest.Tokens split text alike.
var vocabulary = strings.Fields(`acme nordic widgets harbor blue kattegat fisk zeta labs invoice refund rent
salary coffee beans hardware office supplies travel hotel taxi lunch consulting license cloud hosting
marketing ads freight customs deposit fee interest q1 q2 2024 alpha beta gamma delta`)

// textWith joins n random words with separators the analyzer also splits on.
func textWith(r *rand.Rand, n int) string {
	seps := []string{" ", ", ", " - ", "\n", " (", ") "}
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(seps[r.IntN(len(seps))])
		}
		w := vocabulary[r.IntN(len(vocabulary))]
		if r.IntN(5) == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		b.WriteString(w)
	}
	return b.String()
}

// dataset is the oracle test's world: customers, users, who is linked to
// what, and payments.
type dataset struct {
	customers []projection.CustomerDoc
	users     []projection.CustomerUser
	payments  []projection.PaymentDoc
	start     time.Time // earliest payment date
	end       time.Time // after the latest payment date
}

// scope returns the ids of the customers userID is linked to.
func (d *dataset) scope(userID string) []string {
	var out []string
	for _, c := range d.customers {
		for _, u := range c.UserIDs {
			if u == userID {
				out = append(out, c.ID)
			}
		}
	}
	return out
}

// asPayments converts the documents to what the API returns.
func asPayments(docs []projection.PaymentDoc) []query.Payment {
	out := make([]query.Payment, len(docs))
	for i, d := range docs {
		out[i] = query.Payment{PaymentView: d.PaymentView}
	}
	return out
}

// Awkward descriptions: formula-like starts, quotes, commas and line
// breaks, all of which the CSV must survive.
var awkward = []string{"=SUM(A1) invoice", "-refund 2024", "+45 fee", "@home office", "\tindent rent", "say \"hello\", taxi", "line one\nline two"}

// currencies of the random payments; CHF also holds the "whale" payments
// whose sums exceed 2^53.
var currencies = []string{"DKK", "EUR", "USD", "JPY", "KWD", "CHF"}

var statuses = domain.Statuses

// failureCodes of the random failed payments: decline codes, a dead
// letter's, and one a spreadsheet would evaluate.
var failureCodes = []string{"do_not_honor", "insufficient_funds", "invalid_account", domain.FailureRetriesExhausted, "=1+1"}

// settle gives p, whose status is set, the processing fields its status
// implies: attempts, processed_at, a failure code and message when failed,
// and for some succeeded payments a refunded part.
func settle(r *rand.Rand, p *domain.Payment) {
	at := p.CreatedAt.Add(time.Duration(1+r.IntN(5000)) * time.Millisecond)
	switch p.Status {
	case domain.StatusProcessing:
		p.Attempts = 1 + r.IntN(3)
	case domain.StatusSucceeded:
		p.Attempts, p.ProcessedAt = 1+r.IntN(3), &at
		if r.IntN(3) == 0 {
			p.AmountRefunded = 1 + r.Int64N(p.Amount)
		}
	case domain.StatusFailed:
		code := failureCodes[r.IntN(len(failureCodes))]
		msg := "failed: " + code
		p.Attempts, p.ProcessedAt, p.FailureCode, p.FailureMessage = 1+r.IntN(5), &at, &code, &msg
	}
}

// newDataset makes n random payments over 6 customers and 5 users.
// Caller 0 is linked to customers 0-3, caller 1 to 2 and 4; nobody
// queries customer 5. Dates span 90 days around the 2024 European DST
// change, at microsecond precision, with repeated dates and amounts so
// that ties are broken by id.
func newDataset(r *rand.Rand, n int) *dataset {
	d := &dataset{start: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}
	d.end = d.start.Add(90 * 24 * time.Hour)
	names := []string{"Nordic Widgets", "Acme Trading", "Blue Harbor", "Acme Blue", "Kattegat Fisk", "Zeta Labs"}
	userNames := []string{"Alice Andersen", "=Bob Formula", "Carla Chen", "Dan Dahl", "Eve \"E\" Smith"}
	for i, name := range userNames {
		d.users = append(d.users, projection.CustomerUser{ID: uuidFrom(r), Name: name, Email: fmt.Sprintf("user%d@example.com", i)})
	}
	links := [][]int{{0}, {0}, {0, 1}, {0, 2}, {1, 3}, {4}}
	for i, name := range names {
		c := projection.CustomerDoc{ID: uuidFrom(r), Name: name, CreatedAt: d.start, UpdatedAt: d.start}
		if i%2 == 0 {
			email := fmt.Sprintf("shop%d@example.com", i)
			c.Email = &email
		}
		for _, u := range links[i] {
			c.UserIDs = append(c.UserIDs, d.users[u].ID)
			c.Users = append(c.Users, d.users[u])
		}
		d.customers = append(d.customers, c)
	}
	var dates []time.Time
	amounts := []int64{100, 2500, 99999}
	for i := range n {
		c := d.customers[r.IntN(len(d.customers))]
		u := d.users[r.IntN(len(d.users))]
		var date time.Time
		if len(dates) > 0 && r.IntN(10) == 0 {
			date = dates[r.IntN(len(dates))] // exact tie
		} else {
			date = d.start.Add(time.Duration(r.Int64N(int64(d.end.Sub(d.start)))) / time.Microsecond * time.Microsecond)
			dates = append(dates, date)
		}
		amount := r.Int64N(10_000_000) + 1
		if r.IntN(8) == 0 {
			amount = amounts[r.IntN(len(amounts))]
		}
		desc := textWith(r, r.IntN(6))
		if r.IntN(15) == 0 {
			desc = awkward[r.IntN(len(awkward))]
		}
		d.payments = append(d.payments, projection.PaymentDoc{PaymentView: domain.PaymentView{Payment: domain.Payment{
			ID: uuidFrom(r), PaymentRefID: uuidFrom(r), CustomerID: c.ID, UserID: u.ID,
			Amount: amount, Currency: currencies[r.IntN(len(currencies))],
			ThirdParty: textWith(r, 1+r.IntN(3)), Description: desc,
			Status: statuses[r.IntN(len(statuses))], Date: date,
			CreatedAt: date.Add(time.Second), UpdatedAt: date.Add(time.Duration(i) * time.Millisecond),
		}, CustomerName: c.Name, UserName: u.Name, UserEmail: u.Email, ExecutedBy: userExecutor(u.ID, u.Name, u.Email)}})
		settle(r, &d.payments[len(d.payments)-1].Payment)
	}
	// Whales: sums far above 2^53 in CHF on two days of customer 0, so the
	// engine's double sums are inexact and the exact path must be taken.
	for i := range 30 {
		date := time.Date(2024, 4, 10+i%2, 12, 0, i, 0, time.UTC)
		d.payments = append(d.payments, projection.PaymentDoc{PaymentView: domain.PaymentView{Payment: domain.Payment{
			ID: uuidFrom(r), PaymentRefID: uuidFrom(r), CustomerID: d.customers[0].ID, UserID: d.users[0].ID,
			Amount: domain.MaxAmount - int64(2*i+1), Currency: "CHF", ThirdParty: "Whale Capital", Description: "big",
			Status: domain.StatusSucceeded, Date: date, CreatedAt: date, UpdatedAt: date,
		}, CustomerName: d.customers[0].Name, UserName: d.users[0].Name, UserEmail: d.users[0].Email,
			ExecutedBy: userExecutor(d.users[0].ID, d.users[0].Name, d.users[0].Email)}})
	}
	return d
}
