package cli

import "context"

func runPull(ctx context.Context, env Env, args []string) error {
	return errNotImplemented("pull")
}

func runList(ctx context.Context, env Env, args []string) error {
	return errNotImplemented("list")
}

func runRm(ctx context.Context, env Env, args []string) error {
	return errNotImplemented("rm")
}
