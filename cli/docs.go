package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"
)

type docOut struct {
	ID       string            `json:"id"`
	Title    string            `json:"title"`
	Source   string            `json:"source"`
	Chunks   int               `json:"chunks"`
	Added    time.Time         `json:"added"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

type collectionOut struct {
	Name      string    `json:"name"`
	Embedder  string    `json:"embedder"`
	Dim       int       `json:"dim"`
	Documents int       `json:"documents"`
	Chunks    int       `json:"chunks"`
	Created   time.Time `json:"created"`
}

// runDocs is ask docs: list a collection's documents, the collections
// (--collections), or remove documents (ask docs rm ID...).
func runDocs(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "docs", "[--collection C] [--collections] [--json] | rm [--collection C] ID...\n\n"+
		"Lists the documents of a collection (id, title, chunks, when added), or with\n"+
		"--collections the collections; 'ask docs rm ID...' removes documents.")
	kf := addKBFlags(fs)
	cols := fs.Bool("collections", false, "list the collections instead")
	asJSON := fs.Bool("json", false, "print JSON lines, one per document or collection")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	store, err := openKB(ctx, env, *kf.data, *kf.db, false)
	if err != nil {
		return err
	}
	defer store.Close()

	if len(pos) > 0 && pos[0] == "rm" {
		if len(pos) == 1 {
			fs.Usage()
			return errUsage
		}
		for _, id := range pos[1:] {
			if err := store.DeleteDocument(ctx, *kf.collection, id); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "removed %s\n", id)
		}
		return nil
	}
	if len(pos) > 0 {
		fs.Usage()
		return errUsage
	}
	enc := json.NewEncoder(env.Stdout)
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	if *cols {
		all, err := store.Collections(ctx)
		if err != nil {
			return err
		}
		if !*asJSON {
			fmt.Fprintln(tw, "COLLECTION\tDOCUMENTS\tCHUNKS\tEMBEDDER\tCREATED")
		}
		for _, c := range all {
			if *asJSON {
				if err := enc.Encode(collectionOut{c.Name, c.Embedder, c.Dim, c.Documents, c.Chunks, c.Created.UTC()}); err != nil {
					return err
				}
				continue
			}
			emb := c.Embedder
			if emb == "" {
				emb = "(lexical only)"
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", c.Name, c.Documents, c.Chunks, emb, c.Created.Format(time.DateTime))
		}
		return nil
	}
	if _, err := store.Collection(ctx, *kf.collection); err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintln(tw, "ID\tTITLE\tCHUNKS\tADDED")
	}
	after := ""
	for {
		page, err := store.Documents(ctx, *kf.collection, after, 500)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		for _, d := range page {
			if *asJSON {
				if err := enc.Encode(docOut{d.ID, d.Title, d.Source, d.Chunks, d.Added.UTC(), d.Metadata}); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", d.ID, clipTitle(d.Title, 60), d.Chunks, d.Added.Format(time.DateTime))
		}
		after = page[len(page)-1].ID
	}
}

func clipTitle(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
