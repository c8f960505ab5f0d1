package importer_test

import (
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/importer"
	"github.com/zestequity/zest-api/internal/testkit"
)

// A CSV file with good and bad rows: the bad ones fail locally with the
// server's codes and are never sent, the good ones are imported in batches,
// and the results file answers every line, in order, with the server's ids.
func TestImportCSV(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		file := e.write(t, "investors.csv", csvHeader+
			csvRow("inv-01", "AE")+ // line 2
			csvRow("inv-02", "")+ // an empty country is absent
			"inv-03,inv-03@example.com,A,B,1985-02-30,AE\n"+
			"inv-04,not-an-email,A,B,1985-04-12,AE\n"+
			csvRow("inv-01", "JM")+ // line 6: a repeated id
			"inv-05,,A,B,1985-04-12,AE\n"+
			"inv-06,inv-06@example.com,A,B,1985-04-12,XX\n"+
			"inv-07,inv-07@example.com,"+strings.Repeat("n", 201)+",B,1985-04-12,AE\n"+
			"inv-08,inv-08@example.com,A,B,1899-12-31,AE\n"+
			"\" inv-09\",inv-09@example.com,A,B,1985-04-12,AE\n"+
			"inv-10,inv-10@example.com,Ann,\"Smith,\nJones\",1985-04-12,JM\n"+ // lines 12-13: a name may not hold a line break
			csvRow("inv-11", "AQ")+ // line 14
			"inv-12,INV-11@example.com,A,B,1985-04-12,\n"+ // another id's email
			csvRow("inv-13", "GB"))
		tr := newTransport(e)
		opts := e.options(file, tr)
		opts.BatchSize = 2
		progress := &testkit.SyncBuffer{}
		opts.Progress = progress
		sum, err := importer.Run(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if out := progress.String(); !strings.HasPrefix(out, "import: 14 rows in "+file+", 9 failed locally; batches: 3 to send, 0 answered in an earlier run\n") ||
			!regexp.MustCompile(`\nimport: 14/14 rows done \(100%\): 4 created, 0 already_exists, 10 failed; \d+s elapsed, [\d.]+ rows/s\n$`).MatchString(out) {
			t.Errorf("progress:\n%s", out)
		}
		if sum.Rows != 14 || sum.Created != 4 || sum.AlreadyExists != 0 || sum.Failed != 10 || sum.Pending != 0 || sum.Succeeded() {
			t.Errorf("summary %+v", sum)
		}
		if sum.Results != file+".results.csv" {
			t.Errorf("results at %s", sum.Results)
		}

		rs := readResults(t, sum.Results)
		want := []struct {
			line         int
			pid, status  string
			code, prefix string
		}{
			{2, "inv-01", "created", "", ""},
			{3, "inv-02", "created", "", ""},
			{4, "inv-03", "failed", "format", "dateOfBirth is written as YYYY-MM-DD but that day does not exist"},
			{5, "inv-04", "failed", "format", "email must be a valid email address"},
			{6, "inv-01", "failed", "duplicate", "partnerInvestorId already appears earlier in this file (line 2)"},
			{7, "inv-05", "failed", "required", "email is required"},
			{8, "inv-06", "failed", "format", "countryOfResidence must be an ISO 3166-1 alpha-2 code"},
			{9, "inv-07", "failed", "too_long", "firstName must be at most 200 characters"},
			{10, "inv-08", "failed", "out_of_range", "dateOfBirth must be between 1900-01-01 and today"},
			{11, " inv-09", "failed", "format", "partnerInvestorId must not have surrounding whitespace"},
			{12, "inv-10", "failed", "format", "lastName must not contain control characters"},
			{14, "inv-11", "created", "", ""},
			{15, "inv-12", "failed", "conflict", "email is already used by partnerInvestorId inv-11, earlier in this batch"},
			{16, "inv-13", "created", "", ""},
		}
		if len(rs) != len(want) {
			t.Fatalf("%d results for %d rows: %v", len(rs), len(want), rs)
		}
		for i, w := range want {
			r := rs[i]
			if r.line != w.line || r.pid != w.pid || r.status != w.status || r.code != w.code || !strings.HasPrefix(r.message, w.prefix) {
				t.Errorf("result %d: got %+v, want %+v", i, r, w)
			}
			if (r.status == "created") != strings.HasPrefix(r.zestPersonID, "psn_") {
				t.Errorf("line %d: status %s with id %q", r.line, r.status, r.zestPersonID)
			}
		}
		e.checkIDs(t, rs)

		// Only the rows that could succeed were sent, once each.
		valid := []string{"inv-01", "inv-02", "inv-11", "inv-12", "inv-13"}
		if got := tr.sentPIDs(); !slices.Equal(got, valid) {
			t.Errorf("sent %v, want %v", got, valid)
		}
		if n := e.api.DB.Count(t, "people"); n != 4 {
			t.Errorf("%d people, want 4", n)
		}
	})
}

// A JSON Lines file: blank lines are skipped, every other line is a row, and
// each bad row fails locally exactly as the server fails it.
func TestImportJSONLines(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		bad := []string{
			`[1,2]`,
			`{"partnerInvestorId":"j-03","email":"j-03@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12","nickname":"x"}`,
			`{"partnerInvestorId":"j-04","email":42,"firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`,
			`{"partnerInvestorId":"j-05","email":"j-05@example.com","firstName":null,"lastName":"B","dateOfBirth":"1985-04-12"}`,
			`{"partnerInvestorId":"j-06","email":"j-06@example.com","firstName":"A","lastName":"B","dateOfBirth":"12/04/1985"}`,
			`{"email":"j-07@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`,
			`{"partnerInvestorId":"j-08","email":"j-08@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12","countryOfResidence":"ae"}`,
		}
		good := []string{
			`{"partnerInvestorId":"j-01","email":"j-01@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12","countryOfResidence":"AE"}`,
			`{"partnerInvestorId":"j-02","email":" j-02@example.com ","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12","countryOfResidence":null}`,
		}
		lines := []string{good[0], "", bad[0], bad[1], "   ", bad[2], bad[3], bad[4], bad[5], bad[6], good[1]}
		file := e.write(t, "investors.jsonl", strings.Join(lines, "\r\n")+"\n\n")
		tr := newTransport(e)
		sum, err := importer.Run(ctx, e.options(file, tr))
		if err != nil {
			t.Fatal(err)
		}
		if sum.Rows != 9 || sum.Created != 2 || sum.Failed != 7 {
			t.Errorf("summary %+v", sum)
		}
		if got := tr.sentPIDs(); !slices.Equal(got, []string{"j-01", "j-02"}) {
			t.Errorf("sent %v", got)
		}

		// The server, given the bad rows, answers the same codes and messages.
		server := e.importRawRows(t, bad...)
		rs := readResults(t, sum.Results)
		wantLines := []int{1, 3, 4, 6, 7, 8, 9, 10, 11}
		for i, r := range rs {
			if r.line != wantLines[i] {
				t.Errorf("result %d is line %d, want %d", i, r.line, wantLines[i])
			}
		}
		for i, r := range []result{rs[1], rs[2], rs[3], rs[4], rs[5], rs[6], rs[7]} {
			s := server.Results[i]
			if r.status != "failed" || s.Error == nil || r.code != string(s.Error.Code) || r.message != s.Error.Message {
				t.Errorf("line %d: local %s %q, server %s %+v", r.line, r.code, r.message, s.Status, s.Error)
			}
		}
		if rs[0].status != "created" || rs[8].status != "created" {
			t.Errorf("good rows: %+v %+v", rs[0], rs[8])
		}
		e.checkIDs(t, rs)
	})
}

// importRawRows posts raw JSON rows, as a partner without the importer would.
func (e *env) importRawRows(t *testing.T, rows ...string) client.ImportInvestorsResult {
	t.Helper()
	resp, err := e.client.ImportInvestorsWithBodyWithResponse(ctx, nil, "application/json",
		strings.NewReader(`{"investors":[`+strings.Join(rows, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON200 == nil || len(resp.JSON200.Results) != len(rows) {
		t.Fatalf("import: %d %s", resp.StatusCode(), resp.Body)
	}
	return *resp.JSON200
}

// A file that cannot be read is reported with its line, and nothing is sent
// or written.
func TestUnreadableInput(t *testing.T) {
	t.Parallel()
	e := &env{dir: t.TempDir()}
	for _, c := range []struct{ name, content, want string }{
		{"quote.csv", csvHeader + csvRow("a", "AE") + "b,b@example.com,A \"B\" C,D,1985-04-12,AE\n", `quote.csv:3: not valid CSV: bare " in non-quoted-field`},
		{"fields.csv", csvHeader + csvRow("a", "AE") + csvRow("b", "AE") + "c,c@example.com,A,B\n", "fields.csv:4: not valid CSV: wrong number of fields"},
		{"column.csv", "partnerInvestorId,email,firstName,lastName,dateOfBirth,phone\n", `column.csv:1: unknown column "phone"`},
		{"missing.csv", "partnerInvestorId,email,firstName,lastName\n", "missing.csv:1: missing column dateOfBirth"},
		{"twice.csv", "email,partnerInvestorId,email\n", "twice.csv:1: column email appears twice"},
		{"empty.csv", "", "empty.csv: the file is empty"},
		{"rows.jsonl", `{"partnerInvestorId":"a"}` + "\n\n" + `{"partnerInvestorId":` + "\n", "rows.jsonl:3: not a JSON value"},
	} {
		path := e.write(t, c.name, c.content)
		_, err := importer.Run(ctx, importer.Options{URL: "http://127.0.0.1:1", Token: "t", File: path})
		if err == nil || !strings.HasPrefix(err.Error(), e.dir+"/"+c.want) {
			t.Errorf("%s: got %v, want %s", c.name, err, c.want)
		}
		if _, err := os.Stat(path + ".results.csv"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: a results file was written", c.name)
		}
	}
}

// Options that cannot describe an import are refused before anything is
// read.
func TestInvalidOptions(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		opts importer.Options
		want string
	}{
		{importer.Options{Token: "t", File: "a.csv"}, "--url is required"},
		{importer.Options{URL: "ftp://x", Token: "t", File: "a.csv"}, "--url must be an http or https URL"},
		{importer.Options{URL: "http://x", File: "a.csv"}, "--token is required"},
		{importer.Options{URL: "http://x", Token: "t", File: "a.csv", BatchSize: 1001}, "--batch-size must be between 1 and 1000"},
		{importer.Options{URL: "http://x", Token: "t", File: "a.csv", BatchSize: -1}, "--batch-size must be between 1 and 1000"},
		{importer.Options{URL: "http://x", Token: "t", File: "a.txt"}, "cannot tell the format of a.txt"},
		{importer.Options{URL: "http://x", Token: "t", File: "a.csv", Format: "xml"}, `--format must be csv or jsonl, not "xml"`},
		{importer.Options{URL: "http://x", Token: "t"}, "the file to import is required"},
		{importer.Options{URL: "http://x", Token: "t", File: "a.csv", ResultsPath: "a.csv"}, "--results must not be the file to import"},
	} {
		_, err := importer.Run(ctx, c.opts)
		if !errors.Is(err, importer.ErrInvalidOptions) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %s", c.opts, err, c.want)
		}
	}
}
