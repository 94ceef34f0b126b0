// Package ask is the root of the ask module: a self-hosted extractive
// question-answering server. The program is cmd/ask; this package only holds
// repository-wide tests.
package ask
