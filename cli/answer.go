package cli

import "context"

func runAnswer(ctx context.Context, env Env, args []string) error {
	return errNotImplemented("answer")
}
