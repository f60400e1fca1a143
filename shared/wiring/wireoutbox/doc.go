// Package wireoutbox builds PublishOutboxFunction (webhook.Publisher) from its configuration (see
// package wiring): it reads no secret and uses no key, so it links neither Secrets Manager nor the
// access policy.
package wireoutbox
