"""Fits the answer ranker of package answer (answer/rank.go).

The knowledge-base reader reads the top retrieved passages, and a wrong
passage still offers a confident span: the reader's score alone picks the
wrong answer most of the time (open F1 21.6 against the oracle's 61.3 on the
held-out articles). This script fits a listwise (softmax over one question's
candidates) linear model over features of each candidate span, prints the
weights as Go constants for answer/rank.go, and reports EM/F1 by 3-fold
cross-validation over articles, and on a second (held-out) dump if given.

Input: JSON lines written by the opt-in test in cli/rankdump_test.go, one
per question: the question, its gold answers and, for each of the 10
retrieved passages, its text, retrieval scores and ranks and the reader's
5 best spans with the no-answer ("") entry.

    ASK_RANKDUMP=QUESTIONS.json ASK_RANKDUMP_OUT=tune.jsonl ASK_RANKDUMP_DATA=DIR \
        go test ./cli -run RankDump -count=1 -timeout 2h
    python3 tools/kbrank/fit.py tune.jsonl [heldout.jsonl]

Needs numpy. The features are computed again in Go; answer/rank_test.go
checks the Go features against the ones this script writes with --golden.
"""
import collections, json, math, re, string, sys
import numpy as np

STOP = set("a an the of in on at to for by with from and or is are was were be been what which who whom whose "
           "when where why how did do does that this these those it its as than into during after before about "
           "over under between".split())
PUNCT = set(string.punctuation)
NAMES = ['relscore', 'nearov', 'bigram', 'logscore', 'lognull', 'logrrf', 'invlex', 'invdense', 'logsupp', 'sentov', 'len']


def norm(s):
    s = ''.join(ch for ch in s.lower() if ch not in PUNCT)
    s = re.sub(r'\b(a|an|the)\b', ' ', s)
    return ' '.join(s.split())


def f1(p, g):
    pt, gt = norm(p).split(), norm(g).split()
    c = collections.Counter(pt) & collections.Counter(gt)
    ns = sum(c.values())
    if ns == 0:
        return 0.0
    pr, rc = ns / len(pt), ns / len(gt)
    return 2 * pr * rc / (pr + rc)


def words(s):
    return [w for w in re.findall(r"\w+", s.lower()) if w not in STOP]


def sentence_around(text, start, end):
    a = max(text.rfind('. ', 0, start), text.rfind('\n', 0, start))
    a = 0 if a < 0 else a + 1
    b = text.find('. ', end)
    b = len(text) if b < 0 else b
    return text[a:b]


def features(r):
    """Feature rows and texts of every non-empty span of one question."""
    qw = set(words(r['Q']))
    ql = r['Q'].lower().split()
    qb = set(zip(ql, ql[1:]))
    top = r['P'][0]['Score']
    supp = collections.defaultdict(float)
    for p in r['P']:
        for a in p['Answers'] or []:
            if a['Text']:
                supp[norm(a['Text'])] += a['Score']
    rows, texts = [], []
    for p in r['P']:
        ans = p['Answers'] or []
        spans = [a for a in ans if a['Text']]
        if not spans:
            continue
        null = [a['Score'] for a in ans if a['Text'] == '']
        nullv = null[0] if null else min(a['Score'] for a in ans)
        pbest = max(a['Score'] for a in spans)
        for a in spans:
            sent = sentence_around(p['Text'], a['Start'], a['End'])
            aw = set(words(a['Text']))
            sw = set(words(sent)) - aw
            near = set(words(p['Text'][max(0, a['Start'] - 80):a['End'] + 80])) - aw
            sl = sent.lower().split()
            sb = set(zip(sl, sl[1:]))
            rows.append([
                math.log(a['Score'] / pbest + 1e-6),
                len(qw & near) / max(len(qw), 1),
                len(qb & sb) / max(len(qb), 1),
                math.log(a['Score'] + 1e-6),
                math.log(nullv + 1e-6),
                math.log(p['Score'] / top + 1e-9) if top > 0 and p['Score'] > 0 else math.log(1e-9),
                1 / p['LexRank'] if p['LexRank'] else 0,
                1 / p['DenseRank'] if p['DenseRank'] else 0,
                math.log(supp[norm(a['Text'])] + 1e-6),
                len(qw & sw) / max(len(qw), 1),
                min(len(a['Text'].split()), 10) / 10,
            ])
            texts.append(a['Text'])
    return np.array(rows, dtype=float).reshape(-1, len(NAMES)), texts


def load(path):
    out = []
    for line in open(path, encoding='utf-8'):
        r = json.loads(line)
        X, T = features(r)
        y = np.array([max(f1(t, g) for g in r['Golds']) for t in T])
        out.append((r, X, T, y))
    return out


def train(data, l2=1e-2, iters=500, lr=1.0):
    Xs = [X for _, X, _, y in data if len(y) and y.max() >= 0.99]
    Ys = [(y >= 0.99).astype(float) for _, X, _, y in data if len(y) and y.max() >= 0.99]
    allx = np.concatenate(Xs)
    mu, sd = allx.mean(0), allx.std(0) + 1e-9
    w = np.zeros(len(NAMES))
    for _ in range(iters):
        g = l2 * w
        for X, Y in zip(Xs, Ys):
            Z = (X - mu) / sd
            s = Z @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            q = Y * p
            q /= q.sum()
            g += Z.T @ (p - q) / len(Xs)
        w -= lr * g
    return w / sd  # weights on the raw features (the offset does not change the argmax)


def evaluate(data, w):
    E = F = 0.0
    for r, X, T, _ in data:
        pred = T[int(np.argmax(X @ w))] if T else ''
        E += max(float(norm(pred) == norm(g)) for g in r['Golds'])
        F += max(f1(pred, g) for g in r['Golds'])
    return 100 * E / len(data), 100 * F / len(data)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    tune = load(args[0])
    if '--golden' in sys.argv:
        # Feature rows of the first questions, for answer/rank_test.go.
        recs = [{'record': r, 'features': X.tolist()} for r, X, _, _ in tune[:int(args[1])]]
        json.dump(recs, sys.stdout)
        return
    titles = sorted({r['Title'] for r, _, _, _ in tune})
    n = e = f = 0
    for fold in range(3):
        test = set(titles[fold::3])
        w = train([d for d in tune if d[0]['Title'] not in test])
        ts = [d for d in tune if d[0]['Title'] in test]
        em, f1_ = evaluate(ts, w)
        n, e, f = n + len(ts), e + em * len(ts), f + f1_ * len(ts)
    print(f'3-fold CV over articles ({n} questions): EM {e / n:.2f} F1 {f / n:.2f}')
    w = train(tune)
    print('fit on all: EM %.2f F1 %.2f' % evaluate(tune, w))
    if len(args) > 1:
        print('held out (%d questions): EM %.2f F1 %.2f' % ((len(load(args[1])),) + evaluate(load(args[1]), w)))
    print('// Go: weights in answer/rank.go, in this order')
    print('var rankWeights = [numFeatures]float64{' + ', '.join('%.6g' % x for x in w) + '}')


if __name__ == '__main__':
    main()
