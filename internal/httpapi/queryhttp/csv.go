package queryhttp

import (
	"context"
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/httpapi"
	"github.com/wildcat-payments/wildcat/internal/query"
)

// CSVColumns is the default header row of GET /v1/payments/export.csv
// (every column; columns= chooses some of them).
var CSVColumns = query.ExportColumns

// CSVRecord returns the cells of one payment's CSV row with every column,
// instants in UTC, protected against formula injection.
func CSVRecord(p query.Payment) []string {
	return CSVRecordIn(p, time.UTC)
}

// CSVRecordIn is CSVRecord with the instants (date, processed_at) written
// in loc, as RFC 3339 with that zone's offset.
func CSVRecordIn(p query.Payment, loc *time.Location) []string {
	rec := []string{
		p.ID, p.PaymentRefID, p.Date.In(loc).Format(time.RFC3339Nano), p.CustomerID, p.CustomerName,
		p.UserID, p.UserName, p.UserEmail, p.ThirdParty, p.Description,
		strconv.FormatInt(p.Amount, 10), domain.FormatAmount(p.Amount, p.Currency), p.Currency, string(p.Status),
		"", strconv.Itoa(p.Attempts), "", strconv.FormatInt(p.AmountRefunded, 10),
		p.ExecutedBy.Type, p.ExecutedBy.ID, p.ExecutedBy.Name,
	}
	if p.FailureCode != nil {
		rec[14] = *p.FailureCode // a provider's code: text we do not control
	}
	if p.ProcessedAt != nil {
		rec[16] = p.ProcessedAt.In(loc).Format(time.RFC3339Nano)
	}
	for i, s := range rec {
		rec[i] = SafeCell(s)
	}
	return rec
}

// csvRows returns a function that writes a page of payments as rows of the
// request's columns, instants in its time zone.
func csvRows(cw *csv.Writer, req query.ExportRequest) func([]query.Payment) error {
	cols := make([]int, len(req.Columns)) // indexes into CSVColumns
	for i, c := range req.Columns {
		cols[i] = slices.Index(CSVColumns, c)
	}
	row := make([]string, len(cols))
	return func(page []query.Payment) error {
		for _, p := range page {
			rec := CSVRecordIn(p, req.Location)
			for i, j := range cols {
				row[i] = rec[j]
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		return nil
	}
}

// SafeCell defuses CSV formula injection (OWASP): a cell starting with
// = + - @ tab or carriage return would be evaluated by spreadsheet
// programs, so it is prefixed with a single quote, which they display as
// text. Ids, dates and amounts never start with those characters; only
// free text (names, third party, description, a provider's failure code)
// is ever changed.
func SafeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// export streams every matching payment as CSV: rows are written and
// flushed as each search_after page arrives, so memory stays constant. Any
// failure before the first row (validation, scope, the first page) is a
// normal problem response. A failure after rows were sent cannot change
// the status any more; the connection is then closed without the final
// chunk, so the client sees a broken download rather than a short file.
func (h *Handler) export(c *gin.Context) {
	v, err := query.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	req, err := query.ParseExport(v, c.GetHeader(ConsistencyHeader))
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	ctx, cancel := h.exportDeadline(c)
	defer cancel()

	w := c.Writer
	cw := csv.NewWriter(w)
	started := false
	start := func() error {
		started = true
		name := "payments-" + time.Now().UTC().Format("20060102T150405Z") + ".csv"
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.Header().Set("Cache-Control", "private, no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		return cw.Write(req.Columns)
	}
	write := csvRows(cw, req)
	err = h.svc.Export(ctx, caller(c), req, func(page []query.Payment) error {
		if !started {
			if err := start(); err != nil {
				return err
			}
		}
		if err := write(page); err != nil {
			return err
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		w.Flush()
		return nil
	})
	switch {
	case err != nil && !started:
		httpapi.WriteError(c, err)
	case err != nil:
		_ = c.Error(err)
		h.opts.Logger.Error("export aborted after rows were sent", "error", err.Error(), "caller", caller(c).ID())
		abort(c)
	case !started:
		if err := start(); err == nil {
			cw.Flush()
		}
	}
}

// exportDeadline bounds an export by EXPORT_TIMEOUT: the export is the one
// response allowed past the server's WRITE_TIMEOUT.
func (h *Handler) exportDeadline(c *gin.Context) (context.Context, context.CancelFunc) {
	if err := httpapi.ExtendWriteDeadline(c, h.opts.ExportTimeout); err != nil {
		h.opts.Logger.Warn("export: write deadline not extended", "error", err.Error())
	}
	return exportContext(c.Request.Context(), h.opts.ExportTimeout)
}

// abort closes the client connection without ending the chunked body. gin
// refuses to hijack once body bytes were written, so it asks net/http's own
// writer underneath, which flushes what was written and hands over the
// connection.
func abort(c *gin.Context) {
	var w http.ResponseWriter = c.Writer
	if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); ok {
		w = u.Unwrap()
	}
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
	}
	c.Abort()
}
