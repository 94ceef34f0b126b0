package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/askqa/ask/builtin"
	"github.com/askqa/ask/chunk"
	"github.com/askqa/ask/embed"
	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/kb/kbopen"
	"github.com/askqa/ask/tokenizer"
)

// defaultCollection is the collection of the knowledge-base commands when
// --collection is not given.
const defaultCollection = "default"

// kbFlags are the flags every knowledge-base command takes.
type kbFlags struct {
	collection *string
	data       *string
	db         *string
}

func addKBFlags(fs *flag.FlagSet) kbFlags {
	return kbFlags{
		collection: fs.String("collection", defaultCollection, "the collection of documents"),
		data:       fs.String("data", "", "data folder holding the knowledge base (default: $ASK_DATA, else $XDG_DATA_HOME/ask, else ~/.local/share/ask)"),
		db:         fs.String("db", "", dbUsage),
	}
}

// dbUsage is the help of every command's --db flag.
const dbUsage = "knowledge-base database: postgres://user:password@host:5432/db for a PostgreSQL with pgvector (as ask serve --db), or sqlite:PATH (default: $ASK_DB, else kb.db in the data folder)"

// dataDir is --data, else ASK_DATA, else the XDG data folder.
func dataDir(env Env, flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if d := env.Getenv("ASK_DATA"); d != "" {
		return d, nil
	}
	if d := env.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "ask"), nil
	}
	home := env.Getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no data folder: give --data or set ASK_DATA (%v)", err)
		}
		home = h
	}
	return filepath.Join(home, ".local", "share", "ask"), nil
}

// openKB opens the knowledge base --db (else ASK_DB) names, by default
// kb.db in the data folder (see kbopen.Open), creating the SQLite file and
// its folder when create is set; without it a missing SQLite knowledge base
// is an error that says how to make one. A PostgreSQL database that cannot
// be used fails here with the fix in the message.
func openKB(ctx context.Context, env Env, dataFlag, dbFlag string, create bool) (kb.Store, error) {
	dbURL := dbFlag
	if dbURL == "" {
		dbURL = env.Getenv("ASK_DB")
	}
	var dir string
	if dbURL == "" {
		d, err := dataDir(env, dataFlag)
		if err != nil {
			return nil, err
		}
		dir = d
	}
	s, err := kbopen.Open(ctx, dbURL, dir, create)
	if errors.Is(err, kbopen.ErrNoKB) {
		return nil, fmt.Errorf("no knowledge base in %s: add documents first (ask add --data %s PATH...)", dir, dir)
	}
	return s, err
}

// kbModels loads the models the knowledge-base commands need; tests give
// fakes.
type kbModels struct {
	// embedder loads an embedding model by reference ("builtin", a folder,
	// a Hub id) with the tokenizer that sizes its chunks, and a function
	// that releases it.
	embedder func(ctx context.Context, ref string) (embed.Embedder, chunk.Tokenizer, func() error, error)
}

// realModels loads the real models: the built-in embedder from the binary,
// others like --model.
func realModels(env Env, threads int) kbModels {
	return kbModels{embedder: func(ctx context.Context, ref string) (embed.Embedder, chunk.Tokenizer, func() error, error) {
		m, err := loadEmbedder(ctx, env, ref, threads, slog.New(slog.DiscardHandler))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("load the embedding model %q: %w", ref, err)
		}
		var tok *tokenizer.Tokenizer
		if builtin.IsEmbedder(ref) {
			tok, err = tokenizer.LoadFS(builtin.EmbedderFiles(), builtin.EmbedderName)
		} else {
			var dir string
			if dir, err = resolveModel(ctx, env, ref, true); err == nil {
				tok, err = tokenizer.LoadDir(dir)
			}
		}
		if err != nil {
			m.Close()
			return nil, nil, nil, fmt.Errorf("load the tokenizer of %q: %w", ref, err)
		}
		return m, chunk.FromTokenizer(tok), m.Close, nil
	}}
}
