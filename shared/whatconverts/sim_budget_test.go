package whatconverts

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wcbridge/wcbridge/shared/budget"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/local/wcsim"
)

// Two Lambda instances (two clients, two budget stores, one table) share a key's daily budget: together they
// send no more than the limit to WhatConverts, and every call past it is refused before WhatConverts.
func TestSimTwoClientsShareOneBudget(t *testing.T) {
	db := testenv.DynamoDB(t)
	tbl := testenv.Table(t, db)
	env := newSim(t)
	const limit = 5
	clients := []*Client{
		env.client(WithBudget(budget.New(db, tbl)), WithDailyLimits(limit, limit)),
		env.client(WithBudget(budget.New(db, tbl)), WithDailyLimits(limit, limit)),
	}
	id := env.sim.LeadIDs(1001)[0]
	var ok, exhausted atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := clients[i%2].Lead(context.Background(), sim1001, id)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrBudgetExhausted):
				exhausted.Add(1)
				if a := APIError(err); a.RetryAfter <= 0 {
					errs <- errors.New("no Retry-After on an exhausted budget")
				}
			default:
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if ok.Load() != limit || exhausted.Load() != 12-limit {
		t.Fatalf("%d calls succeeded, %d were refused; want %d and %d", ok.Load(), exhausted.Load(), limit, 12-limit)
	}
	if n := env.sim.RequestsByToken(wcsim.ProfileKey1001.Token); n != limit {
		t.Fatalf("WhatConverts saw %d requests, want %d", n, limit)
	}
	used, err := budget.New(db, tbl).Used(context.Background(), budget.KeyID(wcsim.ProfileKey1001.Token))
	if err != nil || used != limit {
		t.Fatalf("Used = %d, %v; want %d", used, err, limit)
	}
}
