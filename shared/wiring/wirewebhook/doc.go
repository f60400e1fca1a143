// Package wirewebhook builds the functions of package webhook from configuration (see package wiring).
package wirewebhook
