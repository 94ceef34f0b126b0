package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	_ "embed"
)

// The web page and the OpenAPI document are written by hand and embedded:
// no build step, and the binary is the whole deployment.

//go:embed web/index.html
var indexHTML []byte

//go:embed openapi.json
var openAPIJSON []byte

// pageCSP builds the page's Content-Security-Policy, allowing its one inline
// script and style by their hashes instead of 'unsafe-inline', so injected
// markup could run nothing.
func pageCSP(page []byte) (string, error) {
	hash := func(open, close string) (string, error) {
		_, rest, ok := bytes.Cut(page, []byte(open))
		if !ok {
			return "", fmt.Errorf("web page has no %s", open)
		}
		body, _, ok := bytes.Cut(rest, []byte(close))
		if !ok {
			return "", fmt.Errorf("web page has no %s", close)
		}
		if bytes.Contains(body, []byte(open)) {
			return "", errors.New("web page must have exactly one " + open)
		}
		sum := sha256.Sum256(body)
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'", nil
	}
	script, err := hash("<script>", "</script>")
	if err != nil {
		return "", err
	}
	style, err := hash("<style>", "</style>")
	if err != nil {
		return "", err
	}
	return "default-src 'none'; script-src " + script + "; style-src " + style +
		"; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'", nil
}
