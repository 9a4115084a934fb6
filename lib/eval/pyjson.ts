// Python's json.dumps and str() for the values the harness writes into its per-sample logs, so the logs (and the
// doc_hash / target_hash inside them) are byte-identical to the harness's. JavaScript numbers do not say whether
// they were Python floats or ints, so floats are wrapped in PyFloat where the harness has a float (acc = 1.0).

/** A number that Python holds as a float (json.dumps writes 1.0, not 1). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** repr(float) / str(float): shortest round-trip digits; exponent form below 1e-4 and from 1e16 ("1e-05", "1e+16"). */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expStr] = x.toExponential().split('e'); // shortest digits, e.g. "-1.2345e-7"
  const exp = Number(expStr);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const sign = neg ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = digits.slice(exp + 1);
  return `${sign}${int}.${frac || '0'}`;
}

/** Python str() of a logged value: floats as repr, booleans as True/False, ints as digits. */
export function pyStr(v: unknown): string {
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  if (v === null || v === undefined) return 'None';
  return String(v);
}

// json.dumps escapes ", \, \n, \r, \t, \b, \f and other controls below 0x20 as \u00XX; with ensure_ascii=False
// everything else is written as is.
function pyJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}

function floatJson(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return pyFloatRepr(x);
}

/**
 * json.dumps(v, ensure_ascii=False[, indent]): ", " and ": " separators without indent; with indent, "," at line
 * ends. Integers that are JS numbers print as ints; PyFloat as floats; non-integral numbers as floats.
 */
export function pyJsonDumps(v: unknown, indent?: number, level = 0): string {
  if (v instanceof PyFloat) return floatJson(v.value);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : floatJson(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return pyJsonString(v);
  const nl = indent === undefined ? '' : '\n' + ' '.repeat(indent * (level + 1));
  const end = indent === undefined ? '' : '\n' + ' '.repeat(indent * level);
  const sep = indent === undefined ? ', ' : ',';
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    return `[${v.map((x) => nl + pyJsonDumps(x, indent, level + 1)).join(sep)}${end}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  if (!entries.length) return '{}';
  return `{${entries.map(([k, x]) => `${nl}${pyJsonString(k)}: ${pyJsonDumps(x, indent, level + 1)}`).join(sep)}${end}}`;
}
