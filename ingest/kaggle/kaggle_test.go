package kaggle

import (
	"bufio"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/storecast/storecast/topics"
)

func TestSplitFields(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, line string
		want       []string
		quoted     []bool
		bad        bool
	}{
		{"bare", `1,5,2015-06-19`, []string{"1", "5", "2015-06-19"}, []bool{false, false, false}, false},
		{"quoted", `1,"a","0"`, []string{"1", "a", "0"}, []bool{false, true, true}, false},
		{"comma inside quotes", `2,"Jan,Apr,Jul,Oct"`, []string{"2", "Jan,Apr,Jul,Oct"}, []bool{false, true}, false},
		{"doubled quote", `"say ""hi""",x`, []string{`say "hi"`, "x"}, []bool{true, false}, false},
		{"empty fields", `1,,,""`, []string{"1", "", "", ""}, []bool{false, false, false, true}, false},
		{"trailing empty", `1,`, []string{"1", ""}, []bool{false, false}, false},
		{"unterminated", `1,"abc`, nil, nil, true},
		{"junk after quote", `1,"a"b,2`, nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, q, err := splitFields([]byte(tc.line), nil, nil)
			if tc.bad {
				if err == nil {
					t.Fatalf("splitFields(%q) = %q, want an error", tc.line, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gs []string
			for _, f := range got {
				gs = append(gs, string(f))
			}
			if !reflect.DeepEqual(gs, tc.want) || !reflect.DeepEqual(q, tc.quoted) {
				t.Errorf("splitFields(%q) = %q %v, want %q %v", tc.line, gs, q, tc.want, tc.quoted)
			}
		})
	}
}

func TestAtoi(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"0": 0, "42": 42, "-7": -7, "+3": 3, "1115": 1115} {
		if got, ok := atoi([]byte(in)); !ok || got != want {
			t.Errorf("atoi(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-", "1.5", "x", "1e3", " 1", "12345678901234567890"} {
		if _, ok := atoi([]byte(in)); ok {
			t.Errorf("atoi(%q) accepted", in)
		}
	}
}

func knownTo(n int) topics.KnownStores { return func(s int) bool { return s >= 1 && s <= n } }

const trainHead = `"Store","DayOfWeek","Date","Sales","Customers","Open","Promo","StateHoliday","SchoolHoliday"`

func TestParseSales(t *testing.T) {
	t.Parallel()
	data := "\xef\xbb\xbf" + trainHead + "\r\n" +
		`2,5,2015-06-19,4926,544,1,1,"0","0"` + "\r\n" +
		`1,5,2015-06-19,4202,487,1,1,"0","0"` + "\r\n" +
		"\r\n" +
		`1,4,2015-06-04,0,0,0,1,"a","0"` + "\r\n" +
		`1,2,2013-01-01,0,0,0,0,"a",1` // last line without a line end; bare numbers for quoted ones
	res, err := ParseSales([]byte(data), "train.csv", SalesOptions{Known: knownTo(3)})
	if err != nil {
		t.Fatal(err)
	}
	want := []topics.Sale{
		{V: 1, Store: 2, DayOfWeek: 5, Date: topics.DateFromYMD(2015, 6, 19), Sales: 4926, Customers: 544, Open: 1, Promo: 1, StateHoliday: "0"},
		{V: 1, Store: 1, DayOfWeek: 5, Date: topics.DateFromYMD(2015, 6, 19), Sales: 4202, Customers: 487, Open: 1, Promo: 1, StateHoliday: "0"},
		{V: 1, Store: 1, DayOfWeek: 4, Date: topics.DateFromYMD(2015, 6, 4), Promo: 1, StateHoliday: "a"},
		{V: 1, Store: 1, DayOfWeek: 2, Date: topics.DateFromYMD(2013, 1, 1), StateHoliday: "a", SchoolHoliday: 1},
	}
	if !reflect.DeepEqual(res.Sales, want) {
		t.Errorf("sales:\n got %+v\nwant %+v", res.Sales, want)
	}
	if len(res.Rejects) != 0 || res.Rows != 4 {
		t.Errorf("rejects %v rows %d, want none and 4", res.Rejects, res.Rows)
	}
}

func TestParseSalesWindow(t *testing.T) {
	t.Parallel()
	data := trainHead + "\n" +
		`1,5,2015-06-19,4202,487,1,1,"0","0"` + "\n" +
		`1,4,2015-06-18,4202,487,1,1,"0","0"` + "\n" +
		`1,3,2015-06-17,-1,487,1,1,"0","0"` + "\n" + // outside and invalid: skipped
		`1,3,2015-06-17,1,487,1,1,"0"` + "\n" + // wrong column count: rejected
		`1,3,2015-06-16,1,487,1,1,"0","0"` + "\n"
	d := topics.DateFromYMD(2015, 6, 18)
	res, err := ParseSales([]byte(data), "train.csv", SalesOptions{From: d, To: d})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sales) != 1 || res.Sales[0].Date != d {
		t.Errorf("sales %+v, want the one of %s", res.Sales, d)
	}
	if res.Skipped != 3 || len(res.Rejects) != 1 || res.Rejects[0].Line != 5 {
		t.Errorf("skipped %d rejects %+v, want 3 skipped and line 5 rejected", res.Skipped, res.Rejects)
	}
}

func TestParseSalesHeader(t *testing.T) {
	t.Parallel()
	for name, data := range map[string]string{
		"empty":          "",
		"missing column": `"Store","DayOfWeek","Date","Sales","Customers","Open","Promo","StateHoliday"` + "\n",
		"store.csv":      strings.Join(StoreColumns, ",") + "\n",
	} {
		if _, err := ParseSales([]byte(data), "train.csv", SalesOptions{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Column order does not matter; names are case-insensitive.
	data := `"date","store","DayOfWeek","Sales","Customers","Open","Promo","StateHoliday","SchoolHoliday"` + "\n" +
		`2015-06-19,1,5,4202,487,1,1,"0","0"` + "\n"
	res, err := ParseSales([]byte(data), "train.csv", SalesOptions{})
	if err != nil || len(res.Sales) != 1 || res.Sales[0].Store != 1 || res.Sales[0].Sales != 4202 {
		t.Errorf("reordered columns: %+v, %v", res, err)
	}
}

// wantRejects reads ../testdata/bad_train.want: "line field" pairs.
func wantRejects(t *testing.T) map[int]string {
	t.Helper()
	f, err := os.Open("../testdata/bad_train.want")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[int]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		n, field, _ := strings.Cut(line, " ")
		num, err := strconv.Atoi(n)
		if err != nil {
			t.Fatal(err)
		}
		want[num] = field
	}
	return want
}

// TestMalformedRows reads a file with 20 malformed lines of different kinds
// mixed with 30 valid ones: each bad line is rejected with its line number,
// raw payload and the field it breaks; every valid line is kept.
func TestMalformedRows(t *testing.T) {
	t.Parallel()
	want := wantRejects(t)
	if len(want) != 20 {
		t.Fatalf("fixture lists %d bad lines, want 20", len(want))
	}
	res, err := ReadSalesFile("../testdata/bad_train.csv", SalesOptions{Known: knownTo(1115)})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile("../testdata/bad_train.csv")
	lines := strings.Split(string(data), "\n")
	if len(res.Rejects) != len(want) {
		t.Errorf("got %d rejects, want %d", len(res.Rejects), len(want))
	}
	for _, r := range res.Rejects {
		field, ok := want[r.Line]
		if !ok {
			t.Errorf("line %d rejected (%v) but is valid", r.Line, r.Err)
			continue
		}
		if got := r.Reason(); got != field {
			t.Errorf("line %d: reason %q (%v), want %q", r.Line, got, r.Err, field)
		}
		if string(r.Payload) != lines[r.Line-1] {
			t.Errorf("line %d: payload %q, want %q", r.Line, r.Payload, lines[r.Line-1])
		}
		if r.File != "bad_train.csv" {
			t.Errorf("line %d: file %q", r.Line, r.File)
		}
		if field == "parse" && !r.Parse() {
			t.Errorf("line %d: not marked as a parse error: %v", r.Line, r.Err)
		}
		if !strings.Contains(topics.Reason(r.Err), field) {
			t.Errorf("line %d: reason %q does not name %q", r.Line, topics.Reason(r.Err), field)
		}
	}
	if got := len(res.Sales); got != 30 {
		t.Errorf("got %d valid sales, want 30", got)
	}
	for _, s := range res.Sales {
		if s.Store < 1 || s.Store > 10 || s.Sales < 3000 {
			t.Errorf("unexpected sale kept: %+v", s)
		}
	}
}

func TestParseStores(t *testing.T) {
	t.Parallel()
	data := strings.Join([]string{
		`"Store","StoreType","Assortment","CompetitionDistance","CompetitionOpenSinceMonth","CompetitionOpenSinceYear","Promo2","Promo2SinceWeek","Promo2SinceYear","PromoInterval"`,
		`1,"c","a",1270,9,2008,0,,,""`,
		`2,"a","a",570,11,2007,1,13,2010,"Jan,Apr,Jul,Oct"`,
		`3,"a","c",,,,1,14,2011,"Mar,Jun,Sept,Dec"`,
		`4,"e","a",1,,,0,,,""`,          // bad store type
		`5,"a","a",x,,,0,,,""`,          // bad distance
		`2,"a","a",570,11,2007,0,,,""`,  // repeats store 2
		`6,"a","a",570,13,2007,0,,,""`,  // bad month
		`7,"a","a",570,11,2007,0,,,"x"`, // bad interval
		`8,"a","a",570,11,2007,0,,`,     // column count
	}, "\n")
	res, err := ParseStores([]byte(data), "store.csv")
	if err != nil {
		t.Fatal(err)
	}
	i := func(n int) *int { return &n }
	f := func(x float64) *float64 { return &x }
	want := []topics.StoreInfo{
		{V: 1, Store: 1, StoreType: "c", Assortment: "a", CompetitionDistance: f(1270), CompetitionOpenSinceMonth: i(9), CompetitionOpenSinceYear: i(2008)},
		{V: 1, Store: 2, StoreType: "a", Assortment: "a", CompetitionDistance: f(570), CompetitionOpenSinceMonth: i(11), CompetitionOpenSinceYear: i(2007), Promo2: 1, Promo2SinceWeek: i(13), Promo2SinceYear: i(2010), PromoInterval: "Jan,Apr,Jul,Oct"},
		{V: 1, Store: 3, StoreType: "a", Assortment: "c", Promo2: 1, Promo2SinceWeek: i(14), Promo2SinceYear: i(2011), PromoInterval: "Mar,Jun,Sept,Dec"},
	}
	if !reflect.DeepEqual(res.Stores, want) {
		t.Errorf("stores:\n got %+v\nwant %+v", res.Stores, want)
	}
	wantReasons := map[int]string{5: "store_type", 6: "competition_distance", 7: "store", 8: "competition_open_since_month", 9: "promo_interval", 10: "parse"}
	if len(res.Rejects) != len(wantReasons) {
		t.Errorf("got %d rejects, want %d", len(res.Rejects), len(wantReasons))
	}
	for _, r := range res.Rejects {
		if got := r.Reason(); got != wantReasons[r.Line] {
			t.Errorf("line %d: reason %q (%v), want %q", r.Line, got, r.Err, wantReasons[r.Line])
		}
	}
	known := res.Known()
	if !known(3) || known(4) || known(0) || known(100) || known(-1) {
		t.Error("Known does not match the valid stores")
	}
}

// TestRealFiles reads the shared Kaggle files when they are present.
func TestRealFiles(t *testing.T) {
	t.Parallel()
	dir := os.Getenv("STORECAST_DATA_DIR")
	if dir == "" {
		dir = "../../../shared/data/rossmann"
	}
	if _, err := os.Stat(dir + "/train.csv"); err != nil || testing.Short() {
		t.Skip("shared Rossmann data not found or -short")
	}
	st, err := ReadStoresFile(dir + "/store.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Stores) != 1115 || len(st.Rejects) != 0 {
		t.Fatalf("store.csv: %d stores, %d rejects; want 1115 and 0", len(st.Stores), len(st.Rejects))
	}
	noDistance := 0
	for _, s := range st.Stores {
		if s.CompetitionDistance == nil {
			noDistance++
		}
	}
	if noDistance != 3 {
		t.Errorf("%d stores without CompetitionDistance, want 3 (README)", noDistance)
	}
	res, err := ReadSalesFile(dir+"/train.csv", SalesOptions{Known: st.Known()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sales) != 970379 || len(res.Rejects) != 0 {
		t.Errorf("train.csv: %d sales, %d rejects; want 970379 and 0", len(res.Sales), len(res.Rejects))
	}
	zeroOpen := 0
	for _, s := range res.Sales {
		if s.Open == 1 && s.Sales == 0 {
			zeroOpen++
		}
	}
	if zeroOpen != 54 {
		t.Errorf("%d open days with zero sales, want 54 (README)", zeroOpen)
	}
}
