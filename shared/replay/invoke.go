package replay

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// LambdaInvoker is the part of the Lambda API SelfInvoker uses.
type LambdaInvoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// SelfInvoker invokes a function asynchronously (an Event invocation: Lambda queues it, retries it
// twice when it fails, then sends it to the function's on-failure destination).
type SelfInvoker struct {
	Lambda       LambdaInvoker
	FunctionName string
}

// InvokeAsync queues one invocation with payload.
func (s *SelfInvoker) InvokeAsync(ctx context.Context, payload []byte) error {
	_, err := s.Lambda.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(s.FunctionName),
		InvocationType: lambdatypes.InvocationTypeEvent,
		Payload:        payload,
	})
	return err
}
