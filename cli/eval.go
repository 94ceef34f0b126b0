package cli

import "context"

func runEval(ctx context.Context, env Env, args []string) error {
	return errNotImplemented("eval")
}
