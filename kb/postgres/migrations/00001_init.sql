-- The knowledge base's tables. Names start with kb_ so that they can share a
-- database (and schema) with other applications. Per-collection HNSW
-- indexes are created with the collection (they need its dimension).

-- +goose Up
CREATE TABLE kb_collections (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL UNIQUE,
	embedder text NOT NULL,
	dim integer NOT NULL,
	created timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kb_documents (
	collection bigint NOT NULL REFERENCES kb_collections (id) ON DELETE CASCADE,
	id text NOT NULL,
	title text NOT NULL,
	source text NOT NULL,
	hash text NOT NULL,
	metadata jsonb NOT NULL DEFAULT '{}',
	added timestamptz NOT NULL,
	text text NOT NULL,
	PRIMARY KEY (collection, id)
);
CREATE INDEX kb_documents_metadata ON kb_documents USING gin (metadata jsonb_path_ops);

CREATE TABLE kb_chunks (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	collection bigint NOT NULL,
	doc text NOT NULL,
	seq integer NOT NULL,
	start_byte integer NOT NULL,
	end_byte integer NOT NULL,
	tokens integer NOT NULL,
	text text NOT NULL,
	-- lexemes: to_tsvector('english') of the text with every CJK character
	-- set apart (see the package comment).
	lexemes tsvector NOT NULL,
	embedding vector,
	FOREIGN KEY (collection, doc) REFERENCES kb_documents (collection, id) ON DELETE CASCADE
);
CREATE INDEX kb_chunks_doc ON kb_chunks (collection, doc, seq);
CREATE INDEX kb_chunks_lexemes ON kb_chunks USING gin (lexemes);

-- +goose Down
DROP TABLE kb_chunks;
DROP TABLE kb_documents;
DROP TABLE kb_collections;
