// A small, strict argument parser: --key value, --key=value, --flag; unknown options and bad values are errors.
export interface OptionSpec {
  type: 'string' | 'number' | 'boolean';
  choices?: string[];
}
export type ArgSpec = Record<string, OptionSpec>;

export interface ParsedArgs {
  positionals: string[];
  options: Record<string, string | number | boolean | undefined>;
}

export function parseArgs(argv: string[], spec: ArgSpec): ParsedArgs {
  const out: ParsedArgs = { positionals: [], options: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const key = arg.slice(2, eq < 0 ? undefined : eq);
    const s = spec[key];
    if (!s) {
      const known = Object.keys(spec).map((k) => `--${k}`).join(', ');
      throw new Error(`unknown option --${key}${known ? `; options: ${known}` : ''}`);
    }
    if (s.type === 'boolean') {
      out.options[key] = eq < 0 ? true : !/^(false|0|no)$/i.test(arg.slice(eq + 1));
      continue;
    }
    const raw = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new Error(`option --${key} needs a value`);
    if (s.type === 'number') {
      const v = Number(raw);
      if (!Number.isFinite(v)) throw new Error(`option --${key} needs a number, got '${raw}'`);
      out.options[key] = v;
    } else {
      if (s.choices && !s.choices.includes(raw)) throw new Error(`option --${key} must be one of ${s.choices.join(', ')}, got '${raw}'`);
      out.options[key] = raw;
    }
  }
  return out;
}
