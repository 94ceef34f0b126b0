// Command ask answers questions over text with transformer QA models.
// It only wires the process to package cli; every command lives there.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/askqa/ask/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal starts a graceful shutdown; stopping the relay then
	// restores the default action, so a second one ends the process at once.
	context.AfterFunc(ctx, stop)
	code := cli.Run(ctx, os.Args[1:], cli.Env{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
	})
	stop()
	os.Exit(code)
}
