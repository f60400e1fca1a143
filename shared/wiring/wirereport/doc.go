// Package wirereport builds the functions of package report from configuration (see package wiring).
package wirereport
