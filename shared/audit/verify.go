package audit

import (
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// FindingKind names what a verification found wrong.
type FindingKind string

// The findings of both verifiers (period digests, and legacy daily digests: edited to chain-break).
const (
	FindingEdited       FindingKind = "edited"         // a record's content ≠ its stored hash, or its hash ≠ its leaf
	FindingDeleted      FindingKind = "deleted"        // a leaf without its record
	FindingInserted     FindingKind = "inserted"       // a record without a leaf
	FindingReordered    FindingKind = "reordered"      // a record out of its leaf order
	FindingForged       FindingKind = "forged"         // the digest's signature (MAC, legacy) does not verify
	FindingLeaves       FindingKind = "leaves"         // the stored leaf list does not hash to the signed root
	FindingChainBreak   FindingKind = "chain-break"    // previous ≠ the previous period's (day's) digest
	FindingTag          FindingKind = "tag"            // a record's tag is missing or does not verify (re-hashed, inserted)
	FindingMissing      FindingKind = "missing-period" // a period inside the chain has no digest anywhere
	FindingRestart      FindingKind = "chain-restart"  // a genesis digest after the chain had started
	FindingDigestGone   FindingKind = "digest-deleted" // anchored, but gone from (or other in) the table
	FindingNotAnchored  FindingKind = "not-anchored"   // in the table, not in the anchor
	FindingDigestDiffer FindingKind = "digest-differs" // table and anchor hold different digests
	FindingSecond       FindingKind = "second-digest"  // the anchor holds more than one digest for the period
)

// Finding is one thing wrong with the trail. Detail holds IDs and hashes only, never PHI.
type Finding struct {
	Kind     FindingKind
	Period   string // the period (YYYY-MM-DDTHH) concerned; empty for a legacy daily digest's finding
	RecordID string // the record concerned; empty for a finding about a digest or a period
	Detail   string
}

// String is the finding as one line: kind, the record or else the period, and the detail (which
// names the period of a record finding).
func (f Finding) String() string {
	switch {
	case f.RecordID != "" && f.Period != "":
		return fmt.Sprintf("%s %s %s (period %s)", f.Kind, f.RecordID, f.Detail, f.Period)
	case f.RecordID != "":
		return fmt.Sprintf("%s %s %s", f.Kind, f.RecordID, f.Detail)
	case f.Period != "":
		return fmt.Sprintf("%s %s %s", f.Kind, f.Period, f.Detail)
	}
	return fmt.Sprintf("%s - %s", f.Kind, f.Detail)
}

// What both verifiers check of a record and its leaf, and the findings they name. period is ""
// for a legacy daily digest.

// contentHash is the hash of a record's content as it is now; "unhashable" (which matches no
// stored hash or leaf) when it cannot be hashed.
func contentHash(item map[string]types.AttributeValue) string {
	h, err := RecordHash(item)
	if err != nil {
		return "unhashable"
	}
	return h
}

// checkContent reports a record whose content no longer matches its stored hash, and returns the
// stored hash (what its tag and its leaf attest) and whether the content still matches it.
func checkContent(item map[string]types.AttributeValue, period, id string, report func(Finding)) (stored string, intact bool) {
	stored = str(item, attrHash)
	if contentHash(item) != stored {
		report(Finding{Kind: FindingEdited, Period: period, RecordID: id, Detail: "content does not match the record's stored hash"})
		return stored, false
	}
	return stored, true
}

// checkLeaf reports a record whose stored hash is not its leaf's: edited and re-hashed.
func checkLeaf(period, id, stored string, l leaf, report func(Finding)) {
	if want := leafHex(l); stored != want {
		report(Finding{Kind: FindingEdited, Period: period, RecordID: id, Detail: "stored hash " + stored + " differs from the digest's leaf " + want})
	}
}

// leafHex is a leaf's record hash as a record stores it.
func leafHex(l leaf) string { return hashPrefix + hex.EncodeToString(l.hash) }

func insertedFinding(period, id, what string) Finding {
	return Finding{Kind: FindingInserted, Period: period, RecordID: id, Detail: what + " has no leaf in the digest"}
}

func deletedFinding(period, id string, index int) Finding {
	return Finding{Kind: FindingDeleted, Period: period, RecordID: id, Detail: "leaf " + strconv.Itoa(index) + " of the digest has no record"}
}
