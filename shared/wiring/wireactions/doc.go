// Package wireactions builds the functions of package actions from configuration (see package wiring).
package wireactions
