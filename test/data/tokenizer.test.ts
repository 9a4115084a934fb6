// GPT-2 BPE parity: our encodeOrdinary (gpt-tokenizer) against js-tiktoken, an independent implementation,
// with encode_ordinary semantics ("<|endoftext|>" is plain text), and exact decode round trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEncoding } from 'js-tiktoken';
import { EOT_TOKEN, decode, encodeOrdinary, encodeDocuments, splitAtPretokenBoundaries, tokenizerInfo } from '../../lib/data/tokenizer';
import { sotuDocuments } from '../../lib/data/corpora';

const enc = getEncoding('gpt2');

const MIXED = [
  "The quick brown fox didn't jump; it's 3.14159 km away, isn't it? I'LL SAY SO, they've said & we'd agree.",
  '',
  'function add(a, b) {\n\treturn a + b; // sum\n}\nconst xs = [1, 2, 3].map((x) => x ** 2);\nif (x != null && y >= 10) { console.log(`${x}`); }',
  '    four leading spaces, then a tab\there,\t\tand  double  spaces   and trailing spaces   ',
  'Numbers: 0 1 12 123 1234 12345 123456 1,000,000 3.0e-8 -42 +7 0x1F 1st 2nd 3rd 100% $19.99 €5',
  'Non-ASCII: café naïve résumé Zürich Øresund Ελληνικά Русский текст 中文字符 日本語のテキスト 한국어 العربية עברית हिन्दी',
  'Emoji: 🎉🚀 👍🏽 👨‍👩‍👧‍👦 🇺🇸🇯🇵 ❤️ ✨ and a lone 😀!',
  'Special literal: <|endoftext|> and <|endoftext|><|endoftext|> inside text, <|fim_prefix|> too.',
  'Whitespace runs:\n\n\n\nmany newlines\r\nCRLF line\r\n\r\n  \n \n\t\n mixed \u00a0nbsp\u3000ideographic space end',
  "Contractions 's 't 're 've 'm 'll 'd and 'S 'T (case), quotes \"double\" 'single' `back`",
  'URLs https://example.com/a?b=c&d=e#f and emails someone@example.org; paths C:\\Users\\x and /usr/lib.',
  '   ',
].join('\n');

test('tokenizerInfo and EOT', () => {
  assert.equal(EOT_TOKEN, 50256);
  assert.equal(tokenizerInfo.name, 'gpt2');
  assert.deepEqual(encodeOrdinary(''), []);
  assert.equal(decode([EOT_TOKEN]), '<|endoftext|>');
});

test('encodeOrdinary equals js-tiktoken gpt2 encode(text, [], []) on a long mixed text, and decodes back exactly', () => {
  const speech = sotuDocuments(1)[0].text;
  const text = `${MIXED}\n\n${speech}\n${MIXED}`;
  const ours = encodeOrdinary(text);
  const theirs = enc.encode(text, [], []);
  assert.equal(ours.length, theirs.length);
  assert.deepEqual(ours, theirs);
  assert.equal(decode(ours), text);
  assert.equal(decode(Uint16Array.from(ours)), text);
  assert.ok(!ours.includes(EOT_TOKEN), 'the literal <|endoftext|> must not become the EOT id');
});

test('each line of the mixed text matches js-tiktoken on its own', () => {
  for (const line of MIXED.split('\n')) assert.deepEqual(encodeOrdinary(line), enc.encode(line, [], []), JSON.stringify(line));
});

test('splitting at pre-token boundaries gives exactly the ids of the whole text', () => {
  const text = MIXED + '\n' + MIXED.toUpperCase();
  const whole = encodeOrdinary(text);
  for (const target of [1, 5, 17, 64, 500]) {
    const pieces = [...splitAtPretokenBoundaries(text, target)];
    assert.equal(pieces.join(''), text);
    assert.ok(pieces.length > 1);
    assert.deepEqual(pieces.flatMap((p) => encodeOrdinary(p)), whole, `target ${target}`);
  }
});

test('encodeDocuments appends or prepends one EOT per document', () => {
  const docs = ['Hello world.', 'Second <|endoftext|> doc'];
  const a = encodeDocuments(docs, 'append');
  const p = encodeDocuments(docs, 'prepend');
  const ids = docs.map((d) => enc.encode(d, [], []));
  assert.deepEqual(Array.from(a), [...ids[0], EOT_TOKEN, ...ids[1], EOT_TOKEN]);
  assert.deepEqual(Array.from(p), [EOT_TOKEN, ...ids[0], EOT_TOKEN, ...ids[1]]);
  assert.ok(a instanceof Uint16Array);
});

test('decode equals js-tiktoken decode, also for characters cut between tokens and arbitrary id sequences', () => {
  assert.equal(decode([12520]), enc.decode([12520])); // ' ' + the first bytes of an emoji
  assert.equal(decode([12520, 236]), enc.decode([12520, 236]));
  let seed = 3;
  for (let k = 0; k < 50; k++) {
    const ids = Array.from({ length: 40 }, () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed % 50257;
    });
    assert.equal(decode(ids), enc.decode(ids));
  }
});

test('decode rejects ids outside the vocabulary', () => {
  assert.throws(() => decode([50257]), /outside the GPT-2 vocabulary/);
  assert.throws(() => decode([-1]), /outside/);
});
