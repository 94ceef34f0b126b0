package cli

import "context"

func runTokenize(ctx context.Context, env Env, args []string) error {
	return errNotImplemented("tokenize")
}
