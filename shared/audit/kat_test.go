package audit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Known-answer vectors for every format that must stay readable for six years: a change to any of
// them fails here, and must come with a new format version (and its own vectors), never in place.
// The vectors were written once with -update-kat and are checked in; rerunning -update-kat is only
// ever right for a new vector file.
var updateKAT = flag.Bool("update-kat", false, "rewrite testdata/kat.json (new formats only)")

type katVectors struct {
	RecordHash      string `json:"record_hash"`      // RecordHash(katItem())
	TagKey          string `json:"tag_key"`          // hex: the tag key
	Tag             string `json:"tag"`              // hex: HMAC-SHA-256(tag key, TagMessage(record_hash))
	LeafKey         string `json:"leaf_key"`         // a period leaf's key: "<received_at>#<record_id>"
	Leaf            string `json:"leaf"`             // hex: leafHash(leaf_key, record_hash)
	Node            string `json:"node"`             // hex: nodeHash(leaf, leaf)
	Root3           string `json:"root3"`            // hex: MTH of three leaves (leaf, node, leaf as hashes)
	LegacyStatement string `json:"legacy_statement"` // the daily digest's statement (v1)
	Statement       string `json:"statement"`        // the period digest's statement (v2)
	Value           string `json:"value"`            // the period digest's Value
	SignatureInput  string `json:"signature_input"`  // hex: SHA-256(statement), what ECDSA_SHA_256 signs
	PublicKey       string `json:"public_key"`       // hex DER SubjectPublicKeyInfo of the signing key
	Signature       string `json:"signature"`        // hex ASN.1 DER signature of the statement
	AnchorDocument  string `json:"anchor_document"`  // the anchored JSON document
}

func katItem() map[string]types.AttributeValue {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	return map[string]types.AttributeValue{
		"pk": s("audit#rec_kat"), "sk": s("audit"), "kind": s("action"), "actor": s("arn:aws:iam::123456789012:role/kat"),
		"action": s("get-lead"), "outcome": s("ok"), "status": n("200"), "profile_id": n("1001"),
		"lead_ids":    &types.AttributeValueMemberL{Value: []types.AttributeValue{n("7"), n("3")}},
		"received_at": s("2026-12-02T13:04:05.000000006Z"), "day_pk": s("day#2026-12-02#05"),
		"day_sk": s("2026-12-02T13:04:05.000000006Z#rec_kat"), "expires_at": n("1954242245"),
		"phi":             &types.AttributeValueMemberB{Value: []byte{1, 2, 3}},
		"has_quote_value": &types.AttributeValueMemberBOOL{Value: true},
		"changed_fields":  &types.AttributeValueMemberSS{Value: []string{"b", "a"}},
		"meta":            &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"z": &types.AttributeValueMemberNULL{Value: true}, "y": n("1")}},
		// Outside the hash: a change here must not change it.
		"hash": s("sha256:ignored"), "tag": &types.AttributeValueMemberB{Value: []byte("x")}, "outbox_pk": s("outbox#01"),
	}
}

func computeKAT(t *testing.T, v katVectors) katVectors {
	t.Helper()
	var got katVectors
	var err error
	if got.RecordHash, err = RecordHash(katItem()); err != nil {
		t.Fatal(err)
	}
	got.TagKey = v.TagKey
	key, _ := hex.DecodeString(v.TagKey)
	m := hmac.New(sha256.New, key)
	m.Write(TagMessage(got.RecordHash))
	got.Tag = hex.EncodeToString(m.Sum(nil))
	got.LeafKey = "2026-12-02T13:04:05.000000006Z#rec_kat"
	l := leaf{id: got.LeafKey, hash: hashBytes(got.RecordHash)}
	lh := leafHash(l)
	got.Leaf = hex.EncodeToString(lh)
	got.Node = hex.EncodeToString(nodeHash(lh, lh))
	var tree merkle
	tree.add(l)
	tree.add(leaf{id: "2026-12-02T13:04:06.000000000Z#rec_two", hash: lh})
	tree.add(leaf{id: "2026-12-02T13:59:59.999999999Z#rec_three", hash: hashBytes(got.RecordHash)})
	got.Root3 = hex.EncodeToString(tree.root())
	got.LegacyStatement = string(Digest{Day: "2026-12-01", Records: 3, Root: hashPrefix + got.Root3, Previous: "sha256:" + got.Leaf}.Statement())
	d := PeriodDigest{Period: "2026-12-02T13", Records: 3, Root: hashPrefix + got.Root3, Previous: hashPrefix + got.Node}
	got.Statement = string(d.Statement())
	got.Value = d.value()
	sum := sha256.Sum256(d.Statement())
	got.SignatureInput = hex.EncodeToString(sum[:])
	got.PublicKey, got.Signature = v.PublicKey, v.Signature
	d.Signature, _ = hex.DecodeString(v.Signature)
	d.KeyID = "arn:aws:kms:us-east-1:111122223333:key/kat"
	got.AnchorDocument = string(d.document())
	return got
}

func TestKnownAnswers(t *testing.T) {
	const path = "testdata/kat.json"
	if *updateKAT {
		priv, err := ecdsa.GenerateKey(ecdsaCurve(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
		seed := katVectors{TagKey: hex.EncodeToString([]byte("wcbridge known-answer tag key 32")), PublicKey: hex.EncodeToString(der)}
		v := computeKAT(t, seed)
		sum, _ := hex.DecodeString(v.SignatureInput)
		sig, err := ecdsa.SignASN1(rand.Reader, priv, sum)
		if err != nil {
			t.Fatal(err)
		}
		seed.Signature = hex.EncodeToString(sig)
		b, _ := json.MarshalIndent(computeKAT(t, seed), "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want katVectors
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	got := computeKAT(t, want)
	for _, c := range []struct{ name, got, want string }{
		{"record hash", got.RecordHash, want.RecordHash},
		{"record tag", got.Tag, want.Tag},
		{"Merkle leaf", got.Leaf, want.Leaf},
		{"Merkle node", got.Node, want.Node},
		{"Merkle root of three", got.Root3, want.Root3},
		{"legacy daily digest statement", got.LegacyStatement, want.LegacyStatement},
		{"period digest statement", got.Statement, want.Statement},
		{"period digest value", got.Value, want.Value},
		{"signature input", got.SignatureInput, want.SignatureInput},
		{"anchor document", got.AnchorDocument, want.AnchorDocument},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("the format changed:\n got %q\nwant %q", c.got, c.want)
			}
		})
	}
	t.Run("the stored signature verifies with the stored public key", func(t *testing.T) {
		der, _ := hex.DecodeString(want.PublicKey)
		pub, err := ParsePublicKey(der)
		if err != nil {
			t.Fatal(err)
		}
		d, ok := parseDocument("2026-12-02T13", []byte(want.AnchorDocument))
		if !ok || !d.VerifySignature(pub) {
			t.Fatal("the known-answer anchor document does not verify")
		}
	})
}

func ecdsaCurve() elliptic.Curve { return elliptic.P256() }
