package cli

import "context"

func runBench(ctx context.Context, env Env, args []string) error {
	return errNotImplemented("bench")
}
