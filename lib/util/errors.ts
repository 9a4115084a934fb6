// Bounded error messages: a hostile file (300k header entries, a 1M-element shape, a 50k-deep value) must give an
// error line a person can read, not megabytes. Values from files are quoted through `quote`, lists of problems
// through `listProblems`, and the CLI clips whatever reaches it with `clipMessage`.

/** Longest error message the CLI prints (characters); the rest is summarised. */
export const MAX_MESSAGE_CHARS = 2000;

/** A JSON-ish rendering of a value from a file, at most `max` characters (never throws, even on cyclic or deep values). */
export function quote(v: unknown, max = 80): string {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'bigint' ? `${v}n` : JSON.stringify(v) ?? String(v);
  } catch {
    s = Array.isArray(v) ? `[array of ${v.length}]` : typeof v === 'object' && v !== null ? '{object}' : String(v);
  }
  return s.length > max ? `${s.slice(0, max)}… (${s.length} chars)` : s;
}

/** "a; b; c; … and 297 more" with at most `max` items. */
export function listProblems(problems: readonly string[], max = 10): string {
  if (problems.length <= max) return problems.join('; ');
  return `${problems.slice(0, max).join('; ')}; … and ${problems.length - max} more`;
}

/** `message` clipped to `max` characters, saying how long it was. */
export function clipMessage(message: string, max = MAX_MESSAGE_CHARS): string {
  if (message.length <= max) return message;
  return `${message.slice(0, max)}… (message clipped: ${message.length} characters)`;
}

/** A name from a file in single quotes, clipped to `max` characters ('transformer.h.0.attn.c_attn.weight'). */
export function quoteName(name: string, max = 100): string {
  return name.length > max ? `'${name.slice(0, max)}…' (${name.length} chars)` : `'${name}'`;
}

/** A message from elsewhere (JSON.parse quotes the text around the error, newlines included) on one line. */
export function oneLine(message: string, max = 300): string {
  const s = message.replace(/\s*[\r\n]+\s*/g, ' ');
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
