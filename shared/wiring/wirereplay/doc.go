// Package wirereplay builds the function of package replay from configuration (see package wiring).
package wirereplay
