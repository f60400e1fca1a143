package table

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// OrOwnRetry widens a conditional write's condition so that the SDK's retry of that very write
// succeeds as its first attempt did.
//
// When a write takes effect but its answer is lost (the connection drops after DynamoDB applied it,
// or DynamoDB answers 500 after applying it), the SDK sends the same request again, and the retry
// finds the item its own first attempt wrote: the plain condition would refuse it, and the writer
// would take its own write for someone else's. markAttr is an attribute the write sets to mark, a
// value no other write uses (a record's hash, a claim's random token, a sealed answer's nonce): the
// retry carries the same bytes and passes, any other write is still refused. It needs no read (the
// roles that write audit records cannot read them) and decides alike on DynamoDB and on dynalite,
// which does not implement ReturnValuesOnConditionCheckFailure. names and values gain #own and :own.
func OrOwnRetry(condition, markAttr string, mark types.AttributeValue, names map[string]string, values map[string]types.AttributeValue) *string {
	names["#own"] = markAttr
	values[":own"] = mark
	return aws.String("(" + condition + ") OR #own = :own")
}
