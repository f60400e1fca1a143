package audit

import "crypto/sha256"

// leaf is one record in a day's digest: its ID and its 32-byte record hash.
type leaf struct {
	id   string
	hash []byte
}

// leafHash is the RFC 6962 leaf hash of a record: SHA-256(0x00 || record_id || 0x00 || record_hash).
// The ID is inside it so that the leaf list's names are covered by the root too.
func leafHash(l leaf) []byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write([]byte(l.id))
	h.Write([]byte{0})
	h.Write(l.hash)
	return h.Sum(nil)
}

func nodeHash(left, right []byte) []byte {
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(left)
	h.Write(right)
	return h.Sum(nil)
}

// merkle computes the RFC 6962 Merkle tree hash of leaves added in order, keeping only O(log n) hashes:
// a stack of the roots of complete subtrees, merged whenever two have the same size.
type merkle struct {
	sizes  []int
	hashes [][]byte
	n      int
}

func (m *merkle) add(l leaf) {
	m.sizes = append(m.sizes, 1)
	m.hashes = append(m.hashes, leafHash(l))
	m.n++
	for k := len(m.sizes); k >= 2 && m.sizes[k-1] == m.sizes[k-2]; k = len(m.sizes) {
		m.hashes[k-2] = nodeHash(m.hashes[k-2], m.hashes[k-1])
		m.sizes[k-2] *= 2
		m.sizes, m.hashes = m.sizes[:k-1], m.hashes[:k-1]
	}
}

// root is MTH(leaves): SHA-256 of nothing for no leaves; otherwise the complete subtrees folded from
// the right, which is RFC 6962's split at the largest power of two below n.
func (m *merkle) root() []byte {
	if len(m.hashes) == 0 {
		sum := sha256.Sum256(nil)
		return sum[:]
	}
	h := m.hashes[len(m.hashes)-1]
	for i := len(m.hashes) - 2; i >= 0; i-- {
		h = nodeHash(m.hashes[i], h)
	}
	return h
}
