package wcsim

// The seeded simulator's keys. Tokens are shaped like real ones ("<id>-<16 hex>"), secrets are 32 hex.
var (
	ProfileKey1001 = Key{Token: "1001-3c5a9e0f1b7d2468", Secret: "5f1e0a9c3b7d2468ace0135724689bdf"}
	ProfileKey1002 = Key{Token: "1002-8b4d6f0a2c9e1357", Secret: "a7c3e9f1b5d2086471c3e5a9f0b2d468"}
	MasterKey2001  = Key{Token: "2001-e2f4a6c8b0d13579", Secret: "0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a"}
)

// SeededLeadsPerProfile is how many leads NewSeeded generates in each of its profiles.
const SeededLeadsPerProfile = 60

// NewSeeded returns a simulator with account 2001 ("Synthetic Health Group") holding profiles 1001
// ("Synthetic Family Dental") and 1002 ("Synthetic Physical Therapy"), SeededLeadsPerProfile
// generated leads in each (see AddLeadsBetween), and the keys ProfileKey1001, ProfileKey1002 and
// MasterKey2001. The same Options give the same data.
func NewSeeded(opts Options) *Sim {
	s := New(opts)
	s.SetAccountName(2001, "Synthetic Health Group")
	s.AddProfile(Profile{ID: 1001, AccountID: 2001, Name: "Synthetic Family Dental"})
	s.AddProfile(Profile{ID: 1002, AccountID: 2001, Name: "Synthetic Physical Therapy"})
	s.AddProfileKey(1001, ProfileKey1001)
	s.AddProfileKey(1002, ProfileKey1002)
	s.AddMasterKey(2001, MasterKey2001)
	s.AddLeads(1001, SeededLeadsPerProfile)
	s.AddLeads(1002, SeededLeadsPerProfile)
	return s
}
