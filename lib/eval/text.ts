// Python string semantics the harness's prompts depend on, and the task-specific text helpers built on them
// (reference/data.md §3c): str.strip/lstrip/rstrip and re's `\s` (Python's whitespace set differs from JS's `\s`),
// str.capitalize (title-cases the first character, lower-cases the rest), len() in code points, the HellaSwag
// preprocess, the WikiText detokenizer and word/byte counts. Checked against CPython by test/eval/text.test.ts
// (fixtures from test/reference/make_eval_fixtures.py).

/**
 * Python's whitespace (str.isspace() and re's `\s` on str patterns; the two sets are equal in CPython 3.11), as a
 * regex character-class body. JS's `\s` lacks U+001C..U+001F and U+0085 and adds U+FEFF.
 */
const PY_WS_CLASS = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WS_RUN = new RegExp(`[${PY_WS_CLASS}]+`);
const PY_WS_START = new RegExp(`^[${PY_WS_CLASS}]+`);
const PY_WS_END = new RegExp(`[${PY_WS_CLASS}]+$`);

/** str.rstrip() with no argument. */
export function pyRstrip(s: string): string {
  return s.replace(PY_WS_END, '');
}

/** str.lstrip() with no argument. */
export function pyLstrip(s: string): string {
  return s.replace(PY_WS_START, '');
}

/** str.strip() with no argument. */
export function pyStrip(s: string): string {
  return pyLstrip(pyRstrip(s));
}

/** len(s) in Python: code points, not UTF-16 units (acc_norm divides by this). */
export function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** len(s.encode("utf-8")). */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * len(re.split(r"\s+", s)): leading and trailing whitespace each add an empty string, so " a b " counts 4.
 * The harness's WikiText word count (data.md §4: 13 real words in the fixture page count as 15).
 */
export function pySplitWhitespaceCount(s: string): number {
  return s.split(PY_WS_RUN).length;
}

// Characters whose Python title case (what capitalize() applies to the first character) differs from upper case,
// as "hex:hex,hex;..." (key -> code points of the result). Generated with CPython 3.11 (Unicode 14):
//   [(c, c.capitalize()) for c in map(chr, range(0x110000)) if c.capitalize() != c.upper()]
const TITLE_EXCEPTIONS =
  'df:53,73;1c4:1c5;1c5:1c5;1c6:1c5;1c7:1c8;1c8:1c8;1c9:1c8;1ca:1cb;1cb:1cb;1cc:1cb;1f1:1f2;1f2:1f2;1f3:1f2;587:535,582;' +
  '1f80:1f88;1f81:1f89;1f82:1f8a;1f83:1f8b;1f84:1f8c;1f85:1f8d;1f86:1f8e;1f87:1f8f;1f90:1f98;1f91:1f99;1f92:1f9a;' +
  '1f93:1f9b;1f94:1f9c;1f95:1f9d;1f96:1f9e;1f97:1f9f;1fa0:1fa8;1fa1:1fa9;1fa2:1faa;1fa3:1fab;1fa4:1fac;1fa5:1fad;' +
  '1fa6:1fae;1fa7:1faf;1fb2:1fba,345;1fb3:1fbc;1fb4:386,345;1fb7:391,342,345;1fc2:1fca,345;1fc3:1fcc;1fc4:389,345;' +
  '1fc7:397,342,345;1ff2:1ffa,345;1ff3:1ffc;1ff4:38f,345;1ff7:3a9,342,345;fb00:46,66;fb01:46,69;fb02:46,6c;' +
  'fb03:46,66,69;fb04:46,66,6c;fb05:53,74;fb06:53,74;fb13:544,576;fb14:544,565;fb15:544,56b;fb16:54e,576;fb17:544,56d';
// Characters that are their own title case although upper() changes them (Georgian Mkhedruli, Greek with
// prosgegrammeni), as inclusive hex ranges.
const TITLE_SELF_RANGES: Array<[number, number]> = [
  [0x10d0, 0x10fa], [0x10fd, 0x10ff], [0x1f88, 0x1f8f], [0x1f98, 0x1f9f], [0x1fa8, 0x1faf], [0x1fbc, 0x1fbc],
  [0x1fcc, 0x1fcc], [0x1ffc, 0x1ffc],
];

let titleTable: Map<number, string> | null = null;
function titleCase(ch: string): string {
  if (!titleTable) {
    titleTable = new Map();
    for (const entry of TITLE_EXCEPTIONS.split(';')) {
      const [k, v] = entry.split(':');
      titleTable.set(parseInt(k, 16), String.fromCodePoint(...v.split(',').map((h) => parseInt(h, 16))));
    }
    for (const [a, b] of TITLE_SELF_RANGES) for (let c = a; c <= b; c++) titleTable.set(c, String.fromCodePoint(c));
  }
  return titleTable.get(ch.codePointAt(0) as number) ?? ch.toUpperCase();
}

/**
 * Python's str.capitalize(): the first code point in title case, the rest lower case ("the USA then" ->
 * "The usa then"). The rest is lower-cased in the context of the whole string, as CPython does for the Greek final
 * sigma ("ΣΣ" -> "Σς").
 */
export function pyCapitalize(s: string): string {
  if (s.length === 0) return s;
  const first = String.fromCodePoint(s.codePointAt(0) as number);
  const restLower = s.toLowerCase().slice(first.toLowerCase().length);
  return titleCase(first) + restLower;
}

/** Every occurrence, left to right and non-overlapping, as Python's str.replace. */
function replaceAll(s: string, from: string, to: string): string {
  return s.split(from).join(to);
}

/**
 * The HellaSwag preprocess: strip, " [title]" -> ". ", drop every "[...]" (shortest match, not across \n),
 * then replace each double space by one (a single left-to-right pass, as str.replace).
 */
export function hellaswagPreprocess(text: string): string {
  let t = pyStrip(text);
  t = replaceAll(t, ' [title]', '. ');
  t = t.replace(/\[[^\n]*?\]/g, ''); // Python's `.` matches everything but \n (JS's also stops at \r, U+2028/9)
  return replaceAll(t, '  ', ' ');
}

/** The HellaSwag query: preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize()). */
export function hellaswagQuery(activityLabel: string, ctxA: string, ctxB: string): string {
  return hellaswagPreprocess(`${activityLabel}: ${ctxA} ${pyCapitalize(ctxB)}`);
}

// `\s` in the bracket squeezes is Python's whitespace.
const WS = `[${PY_WS_CLASS}]*`;
const SQUEEZES: Array<[RegExp, string]> = [
  [new RegExp(`\\(${WS}([^\\)]*?)${WS}\\)`, 'g'), '($1)'],
  [new RegExp(`\\[${WS}([^\\]]*?)${WS}\\]`, 'g'), '[$1]'],
  [new RegExp(`\\{${WS}([^\\}]*?)${WS}\\}`, 'g'), '{$1}'],
  [new RegExp(`"${WS}([^"]*?)${WS}"`, 'g'), '"$1"'],
  [new RegExp(`'${WS}([^']*?)${WS}'`, 'g'), "'$1'"],
];

/** The harness's wikitext_detokenizer, step by step in its order (data.md §3c). */
export function wikitextDetokenize(page: string): string {
  let s = page;
  s = replaceAll(s, "s '", "s'");
  // The harness's pattern has literal slashes ("/' [0-9]/"), so it only rewrites that exact text; ported as is.
  s = s.replace(/\/' [0-9]\//g, "/'[0-9]/");
  for (const [a, b] of [[' @-@ ', '-'], [' @,@ ', ','], [' @.@ ', '.']]) s = replaceAll(s, a, b);
  for (const p of [':', ';', '.', '!', '?', ',']) s = replaceAll(s, ` ${p} `, `${p} `);
  for (const [re, rep] of SQUEEZES) s = s.replace(re, rep);
  for (const [a, b] of [['= = = =', '===='], ['= = =', '==='], ['= =', '=='], [' \u00b0 ', '\u00b0']]) s = replaceAll(s, a, b);
  for (const [a, b] of [[' \n', '\n'], ['\n ', '\n'], [' N ', ' 1 '], [" 's", "'s"]]) s = replaceAll(s, a, b);
  return s;
}

/**
 * Splits the line-level wiki.test.raw into the document-level dataset's `page`s, as the harness's dataset script
 * does it (lm_eval/datasets/wikitext/wikitext.py `_generate_examples` at v0.3.0, the script behind
 * EleutherAI/wikitext_document_level): the file is split on "\n"; a line is an article heading when
 * `line.replace("= = =", "===").replace("= =", "==").strip()` starts with "= " and ends with " ="; each heading
 * closes the lines gathered so far into a page, `"\n".join(lines)` (no trailing newline), yielded only if it is not
 * all whitespace; the lines after the last heading are always yielded (they end with the file's final "\n", as an
 * empty last line). So text before the first heading is a page of its own. Python reads the file with universal
 * newlines, so "\r\n" and "\r" count as "\n". Returns each page with the 1-based line number of its first line.
 */
export function splitWikitextArticles(raw: string): Array<{ page: string; line: number }> {
  const lines = raw.replace(/\r\n?/g, '\n').split('\n');
  const out: Array<{ page: string; line: number }> = [];
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const r = pyStrip(replaceAll(replaceAll(lines[i], '= = =', '==='), '= =', '=='));
    if (r.startsWith('= ') && r.endsWith(' =')) {
      const page = lines.slice(start, i).join('\n');
      if (pyStrip(page)) out.push({ page, line: start + 1 });
      start = i;
    }
  }
  out.push({ page: lines.slice(start).join('\n'), line: start + 1 });
  return out;
}
