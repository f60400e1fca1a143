package wcsim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/wcbridge/wcbridge/shared/local/wcsim"
)

// A client under test talks to the simulator as to WhatConverts, with server.URL + "/api/v1" as base URL.
func ExampleNewSeeded() {
	sim := wcsim.NewSeeded(wcsim.Options{Now: func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) }})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/leads?lead_type=phone_call&leads_per_page=5", nil)
	req.SetBasicAuth(wcsim.ProfileKey1001.Token, wcsim.ProfileKey1001.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var page struct {
		LeadsPerPage int              `json:"leads_per_page"`
		Leads        []map[string]any `json:"leads"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, page.LeadsPerPage, len(page.Leads), page.Leads[0]["lead_type"])
	fmt.Println("requests made:", sim.RequestsByToken(wcsim.ProfileKey1001.Token))
	// Output:
	// 200 5 5 Phone Call
	// requests made: 1
}
