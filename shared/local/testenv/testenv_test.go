package testenv

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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

func TestItemTextShowsEveryValueInClear(t *testing.T) {
	item := map[string]ddbtypes.AttributeValue{
		"phi":  &ddbtypes.AttributeValueMemberB{Value: []byte("Synthetic Patient Zed")},
		"ids":  &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{&ddbtypes.AttributeValueMemberN{Value: "42"}}},
		"meta": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"email": &ddbtypes.AttributeValueMemberS{Value: "zed@example.test"}}},
		"flag": &ddbtypes.AttributeValueMemberBOOL{Value: true},
	}
	got := ItemText(item)
	for _, want := range []string{"phi=Synthetic Patient Zed\n", "ids=[42]\n", "meta={email=zed@example.test}\n", "flag=true\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("ItemText = %q, missing %q", got, want)
		}
	}
}
