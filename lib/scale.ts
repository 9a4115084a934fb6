// Every experiment runs at three scales; the scale changes numbers, never code paths.
//   tiny   tests and CI: seconds to a minute per notebook
//   lab    the default on a laptop CPU: minutes
//   paper  the paper's exact settings, for a GPU box
export const SCALES = ['tiny', 'lab', 'paper'] as const;
export type Scale = (typeof SCALES)[number];

/** The scale from INHERITUNE_SCALE (default `lab`); an unknown value is an error naming the valid ones. */
export function currentScale(env: Record<string, string | undefined> = process.env): Scale {
  const raw = (env.INHERITUNE_SCALE ?? 'lab').trim().toLowerCase();
  if ((SCALES as readonly string[]).includes(raw)) return raw as Scale;
  throw new Error(`INHERITUNE_SCALE='${env.INHERITUNE_SCALE}' is not a scale; choose one of: ${SCALES.join(', ')}`);
}

/** Picks the value for the current (or given) scale: `byScale({ tiny: 2, lab: 50, paper: 100_000 })`. */
export function byScale<T>(values: Record<Scale, T>, scale: Scale = currentScale()): T {
  return values[scale];
}
