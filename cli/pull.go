package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/askqa/ask/hub"
	"github.com/askqa/ask/progress"
)

// hubOptions builds hub options from the environment, then applies the
// flags every model-taking command shares: --offline can only turn
// offline mode on (the environment may already have), and --cache-dir
// overrides HF_HUB_CACHE. Progress goes to stderr so stdout stays data.
func hubOptions(env Env, offline bool, cacheDir string) (hub.Options, error) {
	o, err := hub.OptionsFromEnv(env.Getenv)
	if err != nil {
		return o, err
	}
	o.Offline = o.Offline || offline
	if cacheDir != "" {
		o.CacheDir = cacheDir
	}
	o.Progress = env.Stderr
	return o, nil
}

// resolveModel is what serve, answer, eval, infer and bench call for their
// --model flag: a local folder, else the cache, else a download (unless
// offline). It returns the folder to load.
func resolveModel(ctx context.Context, env Env, model string, offline bool) (string, error) {
	o, err := hubOptions(env, offline, "")
	if err != nil {
		return "", err
	}
	return hub.Resolve(ctx, model, o)
}

func runPull(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "pull", "[flags] [REPO[@REVISION]]\n\n"+
		"Downloads what a QA model needs (config, tokenizer, weights) from the Hugging Face Hub\n"+
		"into the shared cache, resuming interrupted downloads. The weights are model.safetensors\n"+
		"(or its shards), else pytorch_model.bin (or its shards), kept as served and read at load\n"+
		"without running pickle code; a repo without tokenizer.json gets its SentencePiece .model\n"+
		"(spiece.model, spm.model, sentencepiece.bpe.model). REPO defaults to\n"+
		hub.DefaultModel+". With --offline, only checks the cache.\n"+
		"Environment: HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE.")
	offline := fs.Bool("offline", false, "never touch the network; report whether the model is cached")
	cacheDir := fs.String("cache-dir", "", "Hugging Face cache folder (default: $HF_HUB_CACHE or $HF_HOME/hub)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageErrorf(fs, "unexpected argument %q: pull takes one model, REPO[@REVISION]", pos[1])
	}
	ref := hub.DefaultModel
	if len(pos) == 1 {
		ref = pos[0]
	}
	o, err := hubOptions(env, *offline, *cacheDir)
	if err != nil {
		return err
	}
	if o.Offline {
		dir, err := hub.Resolve(ctx, ref, o)
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, dir)
		return nil
	}
	start := time.Now()
	snap, err := hub.Pull(ctx, ref, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "%s: commit %s, %d files (%s downloaded in %.1fs), absent: %s\n",
		snap.Ref, snap.Commit, len(snap.Files), progress.Bytes(snap.Downloaded), time.Since(start).Seconds(), orNone(snap.Absent))
	fmt.Fprintln(env.Stdout, snap.Dir)
	return nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func runList(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "list", "[flags]\n\nLists the models in the Hugging Face cache: one line per cached commit.")
	cacheDir := fs.String("cache-dir", "", "Hugging Face cache folder (default: $HF_HUB_CACHE or $HF_HOME/hub)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf(fs, "unexpected argument %q: list takes no arguments", pos[0])
	}
	o, err := hubOptions(env, true, *cacheDir)
	if err != nil {
		return err
	}
	models, err := hub.List(o.CacheDir)
	if err != nil {
		return err
	}
	if len(models) == 0 {
		fmt.Fprintf(env.Stderr, "no models in %s\n", o.CacheDir)
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tCOMMIT\tREFS\tSIZE\tCOMPLETE")
	var total int64
	for _, m := range models {
		total += m.Size
		if len(m.Snapshots) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t%s\tno (no snapshot)\n", m.Repo, progress.Bytes(m.Size))
			continue
		}
		for _, s := range m.Snapshots {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Repo, shortCommit(s.Commit), orDash(s.Refs), progress.Bytes(s.Size), completeness(s.SnapshotState))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "%d models, %s on disk in %s\n", len(models), progress.Bytes(total), o.CacheDir)
	return nil
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

func orDash(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

// completeness says "yes" only when a pull would fetch nothing more;
// "usable" when it loads but optional files were never checked (typical of
// a cache filled file by file from Python).
func completeness(st hub.SnapshotState) string {
	switch {
	case st.Complete:
		return "yes"
	case st.Usable:
		return "usable (unchecked: " + strings.Join(st.Missing, ", ") + ")"
	default:
		return "no (missing: " + strings.Join(st.Missing, ", ") + ")"
	}
}

func runRm(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "rm", "[flags] REPO\n\nRemoves a model (every cached revision) from the Hugging Face cache.")
	cacheDir := fs.String("cache-dir", "", "Hugging Face cache folder (default: $HF_HUB_CACHE or $HF_HOME/hub)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usageErrorf(fs, "missing the model to remove (REPO, as `ask list` shows it)")
	case len(pos) > 1:
		return usageErrorf(fs, "unexpected argument %q: rm removes one model at a time", pos[1])
	}
	ref, err := hub.ParseRef(pos[0])
	if err != nil {
		return err
	}
	if strings.Contains(pos[0], "@") {
		return fmt.Errorf("rm removes every revision of a model; drop %q and run: ask rm %s", "@"+ref.Revision, ref.Repo)
	}
	o, err := hubOptions(env, true, *cacheDir)
	if err != nil {
		return err
	}
	freed, err := hub.Remove(o.CacheDir, ref.Repo)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "removed %s (%s) from %s\n", ref.Repo, progress.Bytes(freed), o.CacheDir)
	return nil
}
