package answer

import (
	"github.com/askqa/ask/api"
	"github.com/askqa/ask/retrieve"
)

// APIResponse is resp in the API's shape, as the server and the CLI print
// it; mode is the retrieval mode that found the passages.
func APIResponse(resp Response, mode string) api.CollectionAskResponse {
	out := api.CollectionAskResponse{NoAnswer: resp.NoAnswer, Answers: make([]api.CollectionAnswer, len(resp.Answers)),
		Passages: APIPassages(resp.Passages), Reader: resp.Reader, Model: resp.Model, Warning: resp.Warning, Mode: mode,
		Timings: api.AskTimings{RetrieveMS: ms(resp.Timings.Retrieve.Microseconds()), QueueMS: ms(resp.Timings.Read.Queue.Microseconds()),
			ReadMS: ms((resp.Timings.Read.Tokenize + resp.Timings.Read.Compute + resp.Timings.Read.Decode).Microseconds())}}
	for i, an := range resp.Answers {
		c := an.Citation
		out.Answers[i] = api.CollectionAnswer{Answer: an.Text, Score: an.Score, PassageRank: an.PassageRank, Support: an.Support,
			Citation: api.Citation{Collection: c.Collection, DocID: c.DocID, Title: c.Title, Source: c.Source,
				Start: c.Start, End: c.End, ByteStart: c.ByteStart, ByteEnd: c.ByteEnd, Passage: c.Passage,
				PassageStart: c.PassageStart, PassageEnd: c.PassageEnd, AnswerStart: c.AnswerStart, AnswerEnd: c.AnswerEnd}}
	}
	if len(out.Answers) > 0 {
		out.Answer, out.Score = out.Answers[0].Answer, out.Answers[0].Score
	}
	return out
}

// APIPassages are retrieved passages in the API's shape.
func APIPassages(ps []retrieve.Passage) []api.Passage {
	out := make([]api.Passage, len(ps))
	for i, p := range ps {
		out[i] = api.Passage{DocID: p.DocID, Title: p.Title, Source: p.Source, Seq: p.Seq, Text: p.Text,
			ByteStart: p.Start, ByteEnd: p.End, Score: p.Score, Scores: api.RetrievalScores(p.Scores)}
	}
	return out
}

func ms(us int64) float64 { return float64(us) / 1000 }
