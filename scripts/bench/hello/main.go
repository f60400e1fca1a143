// Command hello is P4's baseline (docs/performance.md): the smallest aws-lambda-go function, built exactly as
// the shipped functions are, so that a function's cold start over this one is what its own code costs.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (string, error) { return "hello", nil })
}
