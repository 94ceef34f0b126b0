package safetensors

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rawFile assembles a file from a header text and dataLen zero bytes, with a
// correct length prefix.
func rawFile(hdr string, dataLen int) []byte {
	b := make([]byte, 8, 8+len(hdr)+dataLen)
	binary.LittleEndian.PutUint64(b, uint64(len(hdr)))
	b = append(b, hdr...)
	return append(b, make([]byte, dataLen)...)
}

func prefixOnly(n uint64, rest string) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, n)
	return append(b, rest...)
}

const okW = `"dtype":"F32","shape":[1],"data_offsets":[0,4]`

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name   string
		file   []byte
		tensor string // "" when the error is about the whole file
		want   string // substring of the message
	}{
		{"empty file", nil, "", "0 bytes, shorter than the 8-byte"},
		{"7 bytes", []byte{1, 0, 0, 0, 0, 0, 0}, "", "7 bytes, shorter"},
		{"header over cap", prefixOnly(MaxHeaderSize+1, "{}"), "", "exceeds the limit of 100000000"},
		{"header length 2^64-1", prefixOnly(^uint64(0), "{}"), "", "exceeds the limit"},
		{"header longer than file", prefixOnly(100, "{}      "), "", "header length 100 exceeds the 8 bytes"},
		{"zero-length header", prefixOnly(0, ""), "", "does not start with '{'"},
		{"leading space", rawFile(` {}`, 0), "", "does not start with '{'"},
		{"array header", rawFile(`[]`, 0), "", "does not start with '{'"},
		{"invalid utf-8", rawFile("{\"w\xff\":{}}", 0), "", "not valid UTF-8"},
		{"truncated json", rawFile(`{"w":`, 0), "w", "got the end of the header"},
		{"truncated top level", rawFile(`{"w":{`+okW+`}`, 4), "", "header JSON: unexpected end of JSON"},
		{"syntax error", rawFile(`{"w" 1}`, 0), "w", "header JSON: expected ':' at byte 5, found '1'"},
		{"trailing garbage", rawFile(`{} x`, 0), "", "trailing data"},
		{"two objects", rawFile(`{}{}`, 0), "", "trailing data"},
		{"trailing comma", rawFile(`{"w":{`+okW+`},}`, 4), "", "expected string at byte"},
		{"trailing comma in entry", rawFile(`{"w":{`+okW+`,}}`, 4), "w", "expected string at byte"},
		{"missing comma", rawFile(`{"w":{"dtype":"F32" "shape":[1],"data_offsets":[0,4]}}`, 4), "w", "expected ',' or '}'"},
		{"array missing comma", rawFile(`{"w":{"dtype":"F32","shape":[1 2],"data_offsets":[0,4]}}`, 4), "w", "expected ',' or ']'"},
		{"raw control char", rawFile("{\"w\x01\":{}}", 0), "", "control character 0x01"},
		{"bad escape", rawFile(`{"w\q":{}}`, 0), "", `invalid escape \q`},
		{"lone surrogate", rawFile(`{"w\ud800":{}}`, 0), "", "lone UTF-16 surrogate"},
		{"bad number", rawFile(`{"w":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}`, 4), "w", "expected ',' or ']'"},
		{"bare minus", rawFile(`{"w":{"dtype":"F32","shape":[-],"data_offsets":[0,4]}}`, 4), "w", "invalid number"},
		{"metadata true", rawFile(`{"__metadata__":true}`, 0), "", "got a boolean"},
		{"nullx", rawFile(`{"__metadata__":nullx}`, 0), "", "expected ',' or '}'"},
		{"entry not object", rawFile(`{"w":[1]}`, 0), "w", "entry must be an object"},
		{"entry null", rawFile(`{"w":null}`, 0), "w", "entry must be an object"},
		{"missing dtype", rawFile(`{"w":{"shape":[1],"data_offsets":[0,4]}}`, 4), "w", "missing dtype"},
		{"missing shape", rawFile(`{"w":{"dtype":"F32","data_offsets":[0,4]}}`, 4), "w", "missing shape"},
		{"missing offsets", rawFile(`{"w":{"dtype":"F32","shape":[1]}}`, 4), "w", "missing data_offsets"},
		{"unknown key", rawFile(`{"w":{`+okW+`,"extra":1}}`, 4), "w", `unknown key "extra"`},
		{"dtype not string", rawFile(`{"w":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}`, 4), "w", "dtype must be a string, got number 32"},
		{"unknown dtype", rawFile(`{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,4]}}`, 4), "w", `unknown dtype "F128"`},
		{"lowercase dtype", rawFile(`{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, 4), "w", `unknown dtype "f32"`},
		{"shape not array", rawFile(`{"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}`, 4), "w", "shape: must be an array"},
		{"shape negative", rawFile(`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, 4), "w", "-1 is not a non-negative"},
		{"shape float", rawFile(`{"w":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}`, 4), "w", "1.0 is not a non-negative"},
		{"shape exponent", rawFile(`{"w":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}`, 4), "w", "1e0 is not"},
		{"shape string elem", rawFile(`{"w":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}`, 4), "w", `element 0 must be a non-negative integer, got string "1"`},
		{"shape beyond u64", rawFile(`{"w":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,4]}}`, 4), "w", "not a non-negative 64-bit"},
		{"shape beyond i64", rawFile(`{"w":{"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,4]}}`, 4), "w", "too large"},
		{"offsets one elem", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, 4), "w", "must have 2 elements, got 1"},
		{"offsets three elems", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}}`, 4), "w", "must have 2 elements, got 3"},
		{"offsets not array", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":{}}}`, 4), "w", "data_offsets: must be an array"},
		{"offsets reversed", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, 4), "w", "end before they begin"},
		{"size mismatch", rawFile(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 4), "w", "span 4 bytes but shape [2] of F32 needs 8"},
		{"numel overflow", rawFile(`{"w":{"dtype":"U8","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}`, 0), "w", "overflows the element count"},
		{"bytes overflow", rawFile(`{"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}}`, 4), "w", "overflows the byte size"},
		{"sub-byte remainder", rawFile(`{"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, 2), "w", "12 bits, not a whole number of bytes"},
		{"gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, 12), "b", "leave a gap: previous tensor ends at 4"},
		{"first not at zero", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), "a", "leave a gap: previous tensor ends at 0"},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12), "b", "overlap the previous tensor"},
		{"same range twice", rawFile(`{"a":{`+okW+`},"b":{`+okW+`}}`, 4), "b", "overlap"},
		{"data longer", rawFile(`{"a":{`+okW+`}}`, 8), "a", "ends at data offset 4 but the data section has 8 bytes"},
		{"data shorter", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 4), "a", "ends at data offset 8 but the data section has 4 bytes"},
		{"no tensors but data", rawFile(`{}`, 4), "", "declares no tensors but the data section has 4 bytes"},
		{"duplicate tensor", rawFile(`{"w":{`+okW+`},"w":{`+okW+`}}`, 4), "w", "duplicate tensor name"},
		{"duplicate dtype key", rawFile(`{"w":{"dtype":"F32",`+okW+`}}`, 4), "w", `duplicate key "dtype"`},
		{"duplicate shape key", rawFile(`{"w":{"shape":[1],`+okW+`}}`, 4), "w", `duplicate key "shape"`},
		{"duplicate offsets key", rawFile(`{"w":{"data_offsets":[0,4],`+okW+`}}`, 4), "w", `duplicate key "data_offsets"`},
		{"duplicate metadata", rawFile(`{"__metadata__":{},"__metadata__":{}}`, 0), "", "duplicate key __metadata__"},
		{"metadata not object", rawFile(`{"__metadata__":"pt"}`, 0), "", `__metadata__ must be an object of strings, got string "pt"`},
		{"metadata value not string", rawFile(`{"__metadata__":{"n":1}}`, 0), "", `__metadata__["n"] must be a string, got number 1`},
		{"metadata nested", rawFile(`{"__metadata__":{"n":{}}}`, 0), "", `__metadata__["n"] must be a string, got an object`},
		{"metadata duplicate key", rawFile(`{"__metadata__":{"a":"1","a":"2"}}`, 0), "", `duplicate key "a" in __metadata__`},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".safetensors")
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err == nil {
				f.Close()
				t.Fatalf("Open accepted an invalid file")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FormatError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("message %q does not name the file %s", msg, path)
			}
			if tc.tensor != "" && !strings.Contains(msg, `tensor "`+tc.tensor+`"`) {
				t.Errorf("message %q does not name tensor %q", msg, tc.tensor)
			}
			if tc.tensor == "" && fe.HasTensor {
				t.Errorf("message %q names a tensor for a file-level error", msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("message %q lacks %q", msg, tc.want)
			}
			// The bytes-level parser must agree with Open.
			if _, err := parseHeader(tc.file); err == nil {
				t.Errorf("parseHeader accepted what Open rejected")
			}
		})
	}
}

func TestValidEdgeCases(t *testing.T) {
	tests := []struct {
		name    string
		file    []byte
		tensors int
	}{
		{"no tensors", rawFile(`{}`, 0), 0},
		{"only metadata", rawFile(`{"__metadata__":{"format":"pt"}}`, 0), 0},
		{"null metadata", rawFile(`{"__metadata__":null}`, 0), 0},
		{"padding spaces", rawFile(`{}      `, 0), 0},
		{"json whitespace inside and after", rawFile("{ \"w\" : {\n\"dtype\":\"F32\",\t\"shape\":[ 1 ],\"data_offsets\":[0,4]} }\r\n\t ", 4), 1},
		{"rank 0", rawFile(`{"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}`, 8), 1},
		{"empty tensors share offsets", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"I64","shape":[3,0],"data_offsets":[0,0]},"c":{`+okW+`},"d":{"dtype":"U8","shape":[0],"data_offsets":[4,4]}}`, 4), 4},
		{"huge dim times zero", rawFile(`{"z":{"dtype":"F32","shape":[9223372036854775807,0],"data_offsets":[0,0]}}`, 0), 1},
		{"sub-byte whole", rawFile(`{"f4":{"dtype":"F4","shape":[4],"data_offsets":[0,2]},"f6":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[2,5]}}`, 5), 2},
		{"offset order differs from key order", rawFile(`{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{`+okW+`}}`, 8), 2},
		{"unicode names", rawFile(`{"ü\u00e9\"x":{`+okW+`}}`, 4), 1},
		{"escapes", rawFile(`{"\ud83d\ude00\/\b\f\n\r\t\\\"":{`+okW+`}}`, 4), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := parseHeader(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.tensors) != tc.tensors {
				t.Errorf("got %d tensors, want %d", len(h.tensors), tc.tensors)
			}
			checkInvariants(t, h, tc.file)
			agreeWithEncodingJSON(t, h, tc.file[8:h.dataStart])
		})
	}
}

func TestEveryDTypeParses(t *testing.T) {
	for d := BOOL; d < numDTypes; d++ {
		got, ok := ParseDType(d.String())
		if !ok || got != d {
			t.Errorf("ParseDType(%q) = %v, %v", d.String(), got, ok)
		}
		if d.Bits() == 0 {
			t.Errorf("%v has no size", d)
		}
	}
	if _, ok := ParseDType("INVALID"); ok {
		t.Error("INVALID parsed")
	}
}
