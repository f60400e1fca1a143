package testenv

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

func TestServicesAnswer(t *testing.T) {
	db := DynamoDB(t)
	name := Table(t, db)
	out, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(out.Table.GlobalSecondaryIndexes); got != 3 {
		t.Fatalf("table has %d indexes, want 3", got)
	}
	k := KMS(t)
	for _, arn := range []string{SymmetricKey(t, k), HMACKey(t, k)} {
		if _, err := k.DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
	}
}
