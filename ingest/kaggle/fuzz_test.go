package kaggle

import (
	"testing"

	"github.com/storecast/storecast/topics"
)

// The Kaggle CSV reader takes files from users: no input may crash it, and
// everything it accepts must be a valid event.

const salesHeader = `"Store","DayOfWeek","Date","Sales","Customers","Open","Promo","StateHoliday","SchoolHoliday"` + "\n"

func FuzzParseSales(f *testing.F) {
	for _, s := range []string{
		salesHeader + "1,5,2015-07-31,5263,555,1,1,\"0\",\"1\"\n",
		salesHeader + "1,5,2015-07-31,5263,555,1,1,0,1\n2,4,2015-07-30,0,0,0,0,a,0\n",
		salesHeader + "1,5,2015-02-30,1,1,1,1,0,1\n",
		salesHeader + "99999999999999999999,5,2015-07-31,1,1,1,1,0,1\n",
		salesHeader + "1,5,2015-07-31,-1,1,1,1,0,1\r\n",
		salesHeader + "1,\"5,2015-07-31,1,1,1,1,0,1\n",
		"Store,Date\n1,2015-07-31\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseSales(data, "train.csv", SalesOptions{})
		if err != nil {
			return
		}
		if len(res.Sales)+len(res.Rejects)+res.Skipped > res.Rows {
			t.Fatalf("%d sales + %d rejects + %d skipped > %d rows", len(res.Sales), len(res.Rejects), res.Skipped, res.Rows)
		}
		for _, s := range res.Sales {
			if err := s.Validate(topics.KnownStores(nil)); err != nil {
				t.Fatalf("accepted an invalid sale %+v: %v", s, err)
			}
		}
	})
}

const storesHeader = `"Store","StoreType","Assortment","CompetitionDistance","CompetitionOpenSinceMonth","CompetitionOpenSinceYear","Promo2","Promo2SinceWeek","Promo2SinceYear","PromoInterval"` + "\n"

func FuzzParseStores(f *testing.F) {
	for _, s := range []string{
		storesHeader + "1,c,a,1270,9,2008,0,,,\n",
		storesHeader + "2,a,a,570,11,2007,1,13,2010,\"Jan,Apr,Jul,Oct\"\n",
		storesHeader + "3,z,q,-5,13,1800,1,99,1,\"Foo\"\n",
		storesHeader + "4,a,a,,,,,,,\n",
		"Store\n1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseStores(data, "store.csv")
		if err != nil {
			return
		}
		known := res.Known()
		for _, s := range res.Stores {
			if err := s.Validate(); err != nil {
				t.Fatalf("accepted an invalid store %+v: %v", s, err)
			}
			if !known(s.Store) {
				t.Fatalf("store %d parsed but not known", s.Store)
			}
		}
	})
}
