package wiring_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/wiring/wireactions"
	"github.com/wcbridge/wcbridge/shared/wiring/wirereport"
)

// Every builder refuses a configuration without what its function needs, naming the setting, and
// builds without a network call when it has it.
func TestBuildersNameWhatIsMissing(t *testing.T) {
	build := map[string]func(context.Context, config.Config, *slog.Logger) error{
		"GetLeads": func(c context.Context, cfg config.Config, l *slog.Logger) error {
			_, err := wireactions.GetLeads(c, cfg, l)
			return err
		},
		"CreateLead": func(c context.Context, cfg config.Config, l *slog.Logger) error {
			_, err := wireactions.CreateLead(c, cfg, l)
			return err
		},
		"DailyReport": func(c context.Context, cfg config.Config, l *slog.Logger) error {
			_, err := wirereport.DailyReport(c, cfg, l)
			return err
		},
		"GetReport": func(c context.Context, cfg config.Config, l *slog.Logger) error {
			_, err := wirereport.GetReport(c, cfg, l)
			return err
		},
	}
	creds := `{"profiles": {"1001": {"token": "0123456789abcdef", "secret": "0123456789abcdef0123"}}}`
	for _, tc := range []struct {
		name, builder string
		env           map[string]string
		wantErr       string // "" builds
	}{
		{"an action needs the table and the data key", "GetLeads", map[string]string{config.EnvTable: "t"}, config.EnvDataKey},
		{"an action needs the WhatConverts credentials", "CreateLead",
			map[string]string{config.EnvTable: "t", config.EnvDataKey: "k"}, config.EnvWhatConvertsLocal},
		{"an action builds from its settings", "CreateLead",
			map[string]string{config.EnvTable: "t", config.EnvDataKey: "k", config.EnvWhatConvertsLocal: creds}, ""},
		{"the report needs the digest key", "DailyReport", map[string]string{config.EnvTable: "t"}, config.EnvDigestKey},
		{"the report without profiles reads no WhatConverts credentials", "DailyReport",
			map[string]string{config.EnvTable: "t", config.EnvDigestKey: "k"}, ""},
		{"the report with profiles needs them", "DailyReport",
			map[string]string{config.EnvTable: "t", config.EnvDigestKey: "k", config.EnvReportProfiles: "1001"}, config.EnvWhatConvertsLocal},
		{"GET /reports needs the table", "GetReport", map[string]string{}, config.EnvTable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.FromMap(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			err = build[tc.builder](context.Background(), cfg, slog.Default())
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("build: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("build error %v, want one naming %s", err, tc.wantErr)
			}
		})
	}
}
