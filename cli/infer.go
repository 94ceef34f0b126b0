package cli

import "context"

func runInfer(ctx context.Context, env Env, args []string) error {
	return errNotImplemented("infer")
}
