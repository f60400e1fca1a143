package whatconverts

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestLeadDecodesTolerantly(t *testing.T) {
	in := `{"lead_id": "9000001", "profile_id": 1001, "account_id": 2001.0, "lead_type": "Phone Call",
		"lead_status": "Unique", "quotable": "Not Set", "quote_value": null, "sales_value": "750.50",
		"spam": "false", "duplicate": 1, "lead_analysis": [], "additional_fields": {"Name": "Sam Roe", "Age": 41},
		"custom_fields": null, "salesforce_user_id": 123456, "lead_score": "50", "lead_source": null,
		"date_created": "2026-11-28T10:00:00Z", "call_duration_seconds": 125, "brand_new_field": {"x": [1, 2]}}`
	var l Lead
	if err := json.Unmarshal([]byte(in), &l); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"lead_id from a string", l.LeadID, int64(9000001)},
		{"profile_id", l.ProfileID, int64(1001)},
		{"account_id from an integral float", l.AccountID, int64(2001)},
		{"lead_type display value", l.LeadType, "Phone Call"},
		{"quote_value null", l.QuoteValue == nil, true},
		{"sales_value from a string", l.SalesValue != nil && *l.SalesValue == 750.5, true},
		{"spam from a string", l.Spam, false},
		{"duplicate from 1", l.Duplicate, true},
		{"lead_analysis [] is empty", len(l.LeadAnalysis), 0},
		{"additional_fields object", len(l.AdditionalFields), 2},
		{"custom_fields null", l.CustomFields == nil, true},
		{"salesforce_user_id number as text", l.SalesforceUserID, "123456"},
		{"lead_score from a string", l.LeadScore, int64(50)},
		{"lead_source null", l.LeadSource, ""},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if v, ok := l.AdditionalFields.String("Age"); !ok || v != "41" {
		t.Errorf("additional field Age = %q, %v", v, ok)
	}
	if created, ok := l.Created(); !ok || created.Day() != 28 {
		t.Errorf("Created = %v, %v", created, ok)
	}
	if v, ok := l.Field("call_duration_seconds"); !ok || string(v) != "125" {
		t.Errorf("Field(call_duration_seconds) = %s, %v", v, ok)
	}
}

func TestLeadFieldsOfTheWrongTypeDoNotFailTheDecode(t *testing.T) {
	for _, in := range []string{
		`{"lead_id": {"nested": true}}`,
		`{"lead_id": 1, "quote_value": "n/a", "sales_value": [], "spam": {}, "lead_analysis": "text"}`,
		`{"lead_id": 1, "additional_fields": [{"a": 1}, "b"]}`,
		`{"lead_id": 1e400}`,
	} {
		var l Lead
		if err := json.Unmarshal([]byte(in), &l); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
	var l Lead
	if err := json.Unmarshal([]byte(`["not", "a", "lead"]`), &l); err == nil {
		t.Error("a JSON array was accepted as a lead")
	}
}

func TestLeadMarshalsBackExactlyWhatWasSent(t *testing.T) {
	in := []byte(`{"lead_id":9000001,"lead_type":"Web Form","quote_value":null,"lead_analysis":[],` +
		`"additional_fields":{"Name":"Sam Roe"},"unknown_future_field":{"deep":[1,"two",null]},"sales_value":"12.30"}`)
	var l Lead
	if err := json.Unmarshal(in, &l); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(map[string]any{"lead": l})
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte(`{"lead":`), in...), '}')
	if !bytes.Equal(out, want) {
		t.Fatalf("re-marshalled lead differs:\n got %s\nwant %s", out, want)
	}
}

func TestLeadBuiltInCodeMarshalsItsFields(t *testing.T) {
	v := 250.0
	out, err := json.Marshal(Lead{LeadID: 7, ProfileID: 1001, LeadType: "Web Form", QuoteValue: &v})
	if err != nil {
		t.Fatal(err)
	}
	var back Lead
	if err := json.Unmarshal(out, &back); err != nil || back.LeadID != 7 || back.LeadType != "Web Form" || *back.QuoteValue != 250 {
		t.Fatalf("round trip: %s → %+v, %v", out, back, err)
	}
}

func TestFlexMapAcceptsEveryShapeWhatConvertsSends(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{{`[]`, 0}, {`{}`, 0}, {`null`, 0}, {`{"a": "1", "b": 2}`, 2}, {`["x", "y"]`, 2}} {
		var m FlexMap
		if err := json.Unmarshal([]byte(tc.in), &m); err != nil || len(m) != tc.want {
			t.Errorf("%s: len %d, err %v; want %d", tc.in, len(m), err, tc.want)
		}
	}
}

func TestValuesMapBetweenDisplayAndRequestForms(t *testing.T) {
	for _, lt := range LeadTypes() {
		got, ok := ParseLeadType(lt.Display())
		if !ok || got != lt {
			t.Errorf("display %q parsed to %q", lt.Display(), got)
		}
		if again, ok := ParseLeadType(string(lt)); !ok || again != lt {
			t.Errorf("request value %q not accepted", lt)
		}
	}
	for _, c := range []struct {
		display string
		want    string
	}{
		{"Phone Call", "phone_call"}, {"Text Message", "text_message"}, {"Web Form", "web_form"},
	} {
		if got, _ := ParseLeadType(c.display); string(got) != c.want {
			t.Errorf("ParseLeadType(%q) = %q, want %q", c.display, got, c.want)
		}
	}
	if LeadTypePhoneCall.Display() != "Phone Call" || LeadTypeWebForm.Display() != "Web Form" {
		t.Error("lead type display values")
	}
	if q, ok := ParseQuotable("Not Set"); !ok || q != QuotableNotSet || QuotableNotSet.Display() != "Not Set" {
		t.Errorf("quotable Not Set ↔ not_set: %q %v", q, ok)
	}
	if s, ok := ParseLeadStatus("Repeat"); !ok || s != LeadStatusRepeat || LeadStatusUnique.Display() != "Unique" {
		t.Errorf("lead status: %q %v", s, ok)
	}
	if _, ok := ParseLeadType("Fax"); ok {
		t.Error("unknown lead type accepted")
	}
}
