package samtemplate

import "testing"

// FuzzParse: any input is parsed or refused with an error, never a panic or a hang.
func FuzzParse(f *testing.F) {
	f.Add([]byte("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {Timeout: !Ref T}\n"))
	f.Add([]byte("Resources: {A: {Type: X, Properties: {V: !Sub [\"${a}\", {a: !If [C, !Ref B, x]}]}}}"))
	f.Add([]byte("a: &x [*x]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tmpl, err := Parse(data, nil)
		if err == nil && tmpl == nil {
			t.Fatal("nil template without an error")
		}
	})
}
