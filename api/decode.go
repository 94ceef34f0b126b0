package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The decoders below read bodies by hand (raw messages, one field at a time)
// instead of unmarshalling into a struct because a client deserves to be told
// which field is wrong and why: "parameters.top_k must be an integer, got
// string" rather than a Go type name. Every error they return is an *Error
// with status 400.

// paramNames returns the pipeline parameters, in the order errors list
// them. "topk" is the Python pipeline's deprecated alias of top_k.
func paramNames() []string {
	return []string{"top_k", "topk", "max_answer_len", "handle_impossible_answer",
		"doc_stride", "max_seq_len", "max_question_len", "align_to_words"}
}

// DecodeAsk parses a POST /api/ask body in any of its shapes: the seed shape
// {"question","context"}, the Hugging Face shape {"inputs":{...},
// "parameters":{...}}, a JSON array of pairs, "inputs" as an array, or
// "question"/"context" as arrays (zipped; a single string is paired with
// every element of the other). Parameters may sit in "parameters" or at the
// top level, as keyword arguments do in Python. "options" (sent by Hugging
// Face Inference clients) is accepted and ignored.
func DecodeAsk(body []byte) (AskRequest, error) {
	raw, err := parseBody(body)
	if err != nil {
		return AskRequest{}, err
	}
	switch jsonKind(raw) {
	case "array":
		inputs, err := decodePairs("body", raw)
		if err != nil {
			return AskRequest{}, err
		}
		return AskRequest{Inputs: inputs}, nil
	case "object":
	default:
		return AskRequest{}, wrongType("request body", "a JSON object or array", raw)
	}
	m, err := decodeObject("body", raw)
	if err != nil {
		return AskRequest{}, err
	}
	allowed := append([]string{"question", "context", "inputs", "parameters", "options"}, paramNames()...)
	if err := checkKeys("", m, allowed); err != nil {
		return AskRequest{}, err
	}
	var req AskRequest
	if req.Params, err = decodeParamsFrom(m); err != nil {
		return AskRequest{}, err
	}
	if o, ok := m["options"]; ok && jsonKind(o) != "object" && jsonKind(o) != "null" {
		return AskRequest{}, wrongType("options", "an object", o)
	}
	_, hasQ := m["question"]
	_, hasC := m["context"]
	in, hasIn := m["inputs"]
	switch {
	case hasIn && (hasQ || hasC):
		return AskRequest{}, Errorf(http.StatusBadRequest, CodeBadRequest,
			`give either "inputs" or "question" and "context", not both`)
	case hasIn:
		switch jsonKind(in) {
		case "object":
			p, err := decodePair("inputs", in)
			if err != nil {
				return AskRequest{}, err
			}
			req.Inputs = []QAInput{p}
		case "array":
			if req.Inputs, err = decodePairs("inputs", in); err != nil {
				return AskRequest{}, err
			}
		case "null":
			return AskRequest{}, missing("inputs")
		default:
			return AskRequest{}, wrongType("inputs", `an object {"question","context"} or an array of them`, in)
		}
	default:
		if req.Inputs, err = decodeQuestionContext(m); err != nil {
			return AskRequest{}, err
		}
	}
	return req, nil
}

// DecodeAnswer parses a POST /v1/answer body: exactly one question and one
// context, parameters only under "parameters". The versioned endpoint is
// strict so that its contract stays small.
func DecodeAnswer(body []byte) (AnswerRequest, error) {
	raw, err := parseBody(body)
	if err != nil {
		return AnswerRequest{}, err
	}
	if jsonKind(raw) != "object" {
		return AnswerRequest{}, wrongType("request body", "a JSON object", raw)
	}
	m, err := decodeObject("body", raw)
	if err != nil {
		return AnswerRequest{}, err
	}
	if err := checkKeys("", m, []string{"question", "context", "parameters"}); err != nil {
		return AnswerRequest{}, err
	}
	q, err := requiredString("question", m["question"])
	if err != nil {
		return AnswerRequest{}, err
	}
	c, err := requiredString("context", m["context"])
	if err != nil {
		return AnswerRequest{}, err
	}
	var p Params
	if pr, ok := m["parameters"]; ok && jsonKind(pr) != "null" {
		if p, err = decodeParams("parameters.", pr); err != nil {
			return AnswerRequest{}, err
		}
	}
	if err := p.Validate(); err != nil {
		return AnswerRequest{}, err
	}
	return AnswerRequest{Question: q, Context: c, Params: p}, nil
}

// parseBody checks that body is UTF-8 JSON and returns it as one raw value.
func parseBody(body []byte) (json.RawMessage, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, Errorf(http.StatusBadRequest, CodeInvalidJSON, "request body is empty; send a JSON object")
	}
	if !utf8.Valid(body) {
		i := firstInvalidUTF8(body)
		return nil, Errorf(http.StatusBadRequest, CodeInvalidUTF8, "request body is not valid UTF-8 (first bad byte at offset %d)", i)
	}
	var raw json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, Errorf(http.StatusBadRequest, CodeInvalidJSON, "invalid JSON at byte %d: %s", se.Offset, se.Error())
		}
		return nil, Errorf(http.StatusBadRequest, CodeInvalidJSON, "invalid JSON: %s", err.Error())
	}
	// encoding/json turns a lone surrogate escape such as "\ud800" into
	// U+FFFD without complaint; the text would then differ from what the
	// client sent, and every offset after it would be off, so refuse it.
	if i := loneSurrogate(body); i >= 0 {
		return nil, Errorf(http.StatusBadRequest, CodeInvalidUTF8,
			"request body has an unpaired UTF-16 surrogate escape at byte %d; text must be valid Unicode", i)
	}
	return raw, nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// loneSurrogate returns the offset of the first \uD800–\uDFFF escape that is
// not a high surrogate followed by a low one, or -1. It scans the raw bytes:
// in valid JSON a backslash only occurs inside strings, always as an escape.
func loneSurrogate(b []byte) int {
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 32)
		return rune(v), err == nil
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		r, ok := hex4(i)
		if !ok {
			i++ // skip the escaped character, which may be a backslash
			continue
		}
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			lo, ok := hex4(i + 6)
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return i
			}
			i += 11
		case r >= 0xDC00 && r <= 0xDFFF:
			return i
		default:
			i += 5
		}
	}
	return -1
}

// jsonKind names the JSON type of a raw value that is known to be valid.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

func wrongType(path, want string, raw json.RawMessage) *Error {
	return Errorf(http.StatusBadRequest, CodeWrongType, "%s must be %s, got %s", path, want, jsonKind(raw))
}

func missing(path string) *Error {
	return Errorf(http.StatusBadRequest, CodeMissingField, "%s is required", path)
}

func decodeObject(path string, raw json.RawMessage) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, Errorf(http.StatusBadRequest, CodeInvalidJSON, "%s: %s", path, err.Error())
	}
	return m, nil
}

// checkKeys rejects keys outside allowed, so that a typo ("qestion") is an
// error instead of a silently ignored field and a confusing "question is
// required".
func checkKeys(prefix string, m map[string]json.RawMessage, allowed []string) error {
	var unknown []string
	for k := range m {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, strconv.Quote(prefix+k))
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return Errorf(http.StatusBadRequest, CodeUnknownField, "unknown field %s; allowed: %s",
		strings.Join(unknown, ", "), strings.Join(allowed, ", "))
}

// requiredString decodes a non-empty string field. Whitespace-only text is
// empty too: it tokenizes to nothing, so no answer could come of it.
func requiredString(path string, raw json.RawMessage) (string, error) {
	if raw == nil || jsonKind(raw) == "null" {
		return "", missing(path)
	}
	if jsonKind(raw) != "string" {
		return "", wrongType(path, "a string", raw)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", Errorf(http.StatusBadRequest, CodeInvalidJSON, "%s: %s", path, err.Error())
	}
	if strings.TrimSpace(s) == "" {
		return "", Errorf(http.StatusBadRequest, CodeEmptyField, "%s must not be empty", path)
	}
	return s, nil
}

func decodePair(path string, raw json.RawMessage) (QAInput, error) {
	m, err := decodeObject(path, raw)
	if err != nil {
		return QAInput{}, err
	}
	if err := checkKeys(path+".", m, []string{"question", "context"}); err != nil {
		return QAInput{}, err
	}
	q, err := requiredString(path+".question", m["question"])
	if err != nil {
		return QAInput{}, err
	}
	c, err := requiredString(path+".context", m["context"])
	if err != nil {
		return QAInput{}, err
	}
	return QAInput{Question: q, Context: c}, nil
}

func decodePairs(path string, raw json.RawMessage) ([]QAInput, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, Errorf(http.StatusBadRequest, CodeInvalidJSON, "%s: %s", path, err.Error())
	}
	if len(elems) == 0 {
		return nil, Errorf(http.StatusBadRequest, CodeEmptyField, "%s must hold at least one {\"question\",\"context\"} pair", path)
	}
	out := make([]QAInput, 0, len(elems))
	for i, e := range elems {
		p := path + "[" + strconv.Itoa(i) + "]"
		if jsonKind(e) != "object" {
			return nil, wrongType(p, `an object {"question","context"}`, e)
		}
		in, err := decodePair(p, e)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// stringOrList decodes a string or a non-empty array of strings.
func stringOrList(path string, raw json.RawMessage) (list []string, isList bool, err error) {
	if jsonKind(raw) != "array" {
		s, err := requiredString(path, raw)
		return []string{s}, false, err
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, true, Errorf(http.StatusBadRequest, CodeInvalidJSON, "%s: %s", path, err.Error())
	}
	if len(elems) == 0 {
		return nil, true, Errorf(http.StatusBadRequest, CodeEmptyField, "%s must not be an empty list", path)
	}
	for i, e := range elems {
		s, err := requiredString(path+"["+strconv.Itoa(i)+"]", e)
		if err != nil {
			return nil, true, err
		}
		list = append(list, s)
	}
	return list, true, nil
}

func decodeQuestionContext(m map[string]json.RawMessage) ([]QAInput, error) {
	qs, qList, err := stringOrList("question", m["question"])
	if err != nil {
		return nil, err
	}
	cs, cList, err := stringOrList("context", m["context"])
	if err != nil {
		return nil, err
	}
	switch {
	case qList && cList && len(qs) != len(cs):
		return nil, Errorf(http.StatusBadRequest, CodeBadRequest,
			"question and context lists differ in length (%d and %d)", len(qs), len(cs))
	case !qList && cList:
		qs = slices.Repeat(qs, len(cs))
	case qList && !cList:
		cs = slices.Repeat(cs, len(qs))
	}
	out := make([]QAInput, len(qs))
	for i := range qs {
		out[i] = QAInput{Question: qs[i], Context: cs[i]}
	}
	return out, nil
}

// decodeParamsFrom merges "parameters" with parameters given at the top
// level; a name given in both places is an error rather than a silent pick.
func decodeParamsFrom(m map[string]json.RawMessage) (Params, error) {
	var p Params
	var err error
	if pr, ok := m["parameters"]; ok && jsonKind(pr) != "null" {
		if p, err = decodeParams("parameters.", pr); err != nil {
			return Params{}, err
		}
	}
	top := map[string]json.RawMessage{}
	for _, n := range paramNames() {
		if v, ok := m[n]; ok {
			top[n] = v
		}
	}
	if len(top) > 0 {
		if err := setParams(&p, "", top); err != nil {
			return Params{}, err
		}
	}
	if err := p.Validate(); err != nil {
		return Params{}, err
	}
	return p, nil
}

func decodeParams(prefix string, raw json.RawMessage) (Params, error) {
	if jsonKind(raw) != "object" {
		return Params{}, wrongType(strings.TrimSuffix(prefix, "."), "an object", raw)
	}
	m, err := decodeObject(prefix, raw)
	if err != nil {
		return Params{}, err
	}
	if err := checkKeys(prefix, m, paramNames()); err != nil {
		return Params{}, err
	}
	var p Params
	if err := setParams(&p, prefix, m); err != nil {
		return Params{}, err
	}
	return p, nil
}

// setParams sets the parameters named in m on p. JSON null leaves a
// parameter at its default, as None does in Python.
func setParams(p *Params, prefix string, m map[string]json.RawMessage) error {
	ints := map[string]**int{"top_k": &p.TopK, "topk": &p.TopK, "max_answer_len": &p.MaxAnswerLen,
		"doc_stride": &p.DocStride, "max_seq_len": &p.MaxSeqLen, "max_question_len": &p.MaxQuestionLen}
	bools := map[string]**bool{"handle_impossible_answer": &p.HandleImpossibleAnswer, "align_to_words": &p.AlignToWords}
	for _, name := range paramNames() { // fixed order: deterministic errors
		raw, ok := m[name]
		if !ok || jsonKind(raw) == "null" {
			continue
		}
		path := prefix + name
		if dst, ok := ints[name]; ok {
			if *dst != nil {
				return Errorf(http.StatusBadRequest, CodeInvalidParameter, "%s is given twice (top_k and topk, or at the top level and in parameters)", path)
			}
			v, err := decodeInt(path, raw)
			if err != nil {
				return err
			}
			*dst = &v
			continue
		}
		dst := bools[name]
		if *dst != nil {
			return Errorf(http.StatusBadRequest, CodeInvalidParameter, "%s is given twice (at the top level and in parameters)", path)
		}
		if jsonKind(raw) != "boolean" {
			return wrongType(path, "a boolean", raw)
		}
		v := bytes.HasPrefix(bytes.TrimSpace(raw), []byte("true"))
		*dst = &v
	}
	return nil
}

// decodeInt accepts only integer literals: 3.0 or 3e2 would be floats in
// Python and fail there too.
func decodeInt(path string, raw json.RawMessage) (int, error) {
	if jsonKind(raw) != "number" {
		return 0, wrongType(path, "an integer", raw)
	}
	s := string(bytes.TrimSpace(raw))
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, Errorf(http.StatusBadRequest, CodeInvalidParameter, "%s is out of range: %s", path, s)
		}
		return 0, Errorf(http.StatusBadRequest, CodeWrongType, "%s must be an integer, got %s", path, s)
	}
	return int(v), nil
}
