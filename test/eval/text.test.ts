// Python string semantics of the prompts, against CPython's own results (test/reference/make_eval_fixtures.py ->
// loglik.json "python_text"): capitalize/strip/len/UTF-8 length/re.split word counts, the HellaSwag preprocess and
// query, and the WikiText detokenizer; plus the hand-checked values of reference/data.md §4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  hellaswagPreprocess, hellaswagQuery, pyCapitalize, pyLen, pyLstrip, pyRstrip, pySplitWhitespaceCount, pyStrip,
  splitWikitextArticles, utf8Length, wikitextDetokenize,
} from '../../lib/eval/text';

interface PyText {
  strings: Array<{ s: string; capitalize: string; strip: string; lstrip: string; rstrip: string; len: number; utf8: number; split_ws: number }>;
  hellaswag_preprocess: Array<[string, string]>;
  hellaswag_query: Array<[string, string, string, string]>;
  wikitext: Array<{ page: string; detok: string; words: number; bytes: number }>;
}
const py = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'eval', 'loglik.json'), 'utf8')) as { python_text: PyText }).python_text;

test('str.capitalize / strip / lstrip / rstrip / len / utf-8 length / len(re.split(r"\\s+")) as CPython', () => {
  for (const c of py.strings) {
    const label = JSON.stringify(c.s);
    assert.equal(pyCapitalize(c.s), c.capitalize, `${label}.capitalize()`);
    assert.equal(pyStrip(c.s), c.strip, `${label}.strip()`);
    assert.equal(pyLstrip(c.s), c.lstrip, `${label}.lstrip()`);
    assert.equal(pyRstrip(c.s), c.rstrip, `${label}.rstrip()`);
    assert.equal(pyLen(c.s), c.len, `len(${label})`);
    assert.equal(utf8Length(c.s), c.utf8, `utf-8 length of ${label}`);
    assert.equal(pySplitWhitespaceCount(c.s), c.split_ws, `len(re.split(r"\\s+", ${label}))`);
  }
  assert.equal(pyCapitalize('the USA then'), 'The usa then'); // data.md §4
});

test('HellaSwag preprocess and query as CPython', () => {
  for (const [s, want] of py.hellaswag_preprocess) assert.equal(hellaswagPreprocess(s), want, JSON.stringify(s));
  for (const [label, a, b, want] of py.hellaswag_query) assert.equal(hellaswagQuery(label, a, b), want);
  assert.equal(hellaswagQuery('Fixture label', 'Fixture context a.', 'then'), 'Fixture label: Fixture context a. Then');
  assert.equal(hellaswagPreprocess('e0 [title] x.'), 'e0. x.');
});

test('WikiText detokenizer and word/byte counts as CPython; the data.md fixture page: 15 words, 62 bytes', () => {
  for (const w of py.wikitext) {
    assert.equal(wikitextDetokenize(w.page), w.detok, JSON.stringify(w.page));
    assert.equal(pySplitWhitespaceCount(w.page), w.words);
    assert.equal(utf8Length(w.page), w.bytes);
  }
  const page = ' = Fixture Title = \n Fixture text 1 @,@ 000 words @-@ long . \n';
  assert.equal(wikitextDetokenize(page), ' = Fixture Title =\nFixture text 1,000 words-long.\n');
  assert.equal(pySplitWhitespaceCount(page), 15);
  assert.equal(utf8Length(page), 62);
});

test('wiki.test.raw splits into pages as the harness\'s dataset script (v0.3.0 lm_eval/datasets/wikitext/wikitext.py)', () => {
  // Expected pages derived by hand from _generate_examples: split on "\n"; a heading is a line whose
  // .replace("= = =", "===").replace("= =", "==").strip() starts with "= " and ends with " ="; pages are
  // "\n".join(lines) (no newline added); a whitespace-only page is not yielded; the last page always is.
  const raw = ' \n = First = \n \n Text one . \n \n = = Part = = \n \n More . \n = Second = \n \n Text two . \n';
  const arts = splitWikitextArticles(raw);
  assert.deepEqual(arts.map((a) => a.line), [2, 9]);
  assert.equal(arts[0].page, ' = First = \n \n Text one . \n \n = = Part = = \n \n More . '); // no trailing "\n"
  assert.equal(arts[1].page, ' = Second = \n \n Text two . \n'); // the file's final "\n" stays with the last page
  // Text before the first heading is a page of its own, not merged into the first article.
  assert.deepEqual(splitWikitextArticles('Intro text \n = A = \n x \n'), [
    { page: 'Intro text ', line: 1 },
    { page: ' = A = \n x \n', line: 2 },
  ]);
  // Universal newlines; " = = = Sub = = = " is no heading; an empty file is one empty page (the script's last yield).
  assert.deepEqual(splitWikitextArticles(' = A = \r\n a \r\n = = = Sub = = = \r\n = B = \r\n'), [
    { page: ' = A = \n a \n = = = Sub = = = ', line: 1 },
    { page: ' = B = \n', line: 4 },
  ]);
  assert.deepEqual(splitWikitextArticles(''), [{ page: '', line: 1 }]);
});
