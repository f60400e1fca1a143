// Package wiresamples builds TriggerSamplesFunction (webhook.Samples) from its configuration (see
// package wiring): an IAM route, so the one webhook function that links the access policy.
package wiresamples
