package report

import (
	"math"

	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// BudgetLimits are the daily request limits the report spends against, per key kind: its share of
// WhatConverts' 1,000 (profile key) and 10,000 (master key). The counters are the ones the actions
// spend, so the report stops at its share and the rest of the day stays theirs.
func BudgetLimits(share float64) (profileKey, masterKey int64) {
	limit := func(total int64) int64 { return max(1, int64(math.Floor(share*float64(total)))) }
	return limit(whatconverts.ProfileKeyDailyLimit), limit(whatconverts.MasterKeyDailyLimit)
}
