// Headless Chromium (Debian's package) for what only a browser can do: render figures to PNG and check that an
// exported notebook's figures really draw. Flags keep it offline and quiet on machines without network.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** Path of a Chromium binary, or undefined. INHERITUNE_CHROMIUM overrides. */
export function findChromium(): string | undefined {
  const forced = process.env.INHERITUNE_CHROMIUM;
  if (forced) return fs.existsSync(forced) ? forced : undefined;
  return CANDIDATES.find((p) => fs.existsSync(p));
}

function requireChromium(): string {
  const bin = findChromium();
  if (!bin) throw new Error('Chromium not found (needed for PNG figures); `npm run setup` installs Debian\'s chromium');
  return bin;
}

function run(args: string[], timeoutMs: number): string {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'inheritune-chromium-'));
  try {
    const res = spawnSync(requireChromium(), [
      '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', `--user-data-dir=${profile}`,
      ...args,
    ], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 2 ** 20 });
    if (res.error) throw new Error(`chromium failed: ${res.error.message}`);
    if (res.status !== 0) throw new Error(`chromium exited ${res.status}: ${res.stderr.split('\n').slice(-3).join(' ')}`);
    return res.stdout;
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

/** The DOM of a local HTML file after its scripts ran (up to `budgetMs` of virtual time). */
export function renderedDom(htmlFile: string, budgetMs = 10000): string {
  return run([`--virtual-time-budget=${budgetMs}`, '--dump-dom', `file://${path.resolve(htmlFile)}`], 120000);
}

/** Screenshots a local HTML file to PNG. */
export function screenshotHtml(htmlFile: string, pngFile: string, size = { width: 900, height: 500 }): string {
  fs.mkdirSync(path.dirname(path.resolve(pngFile)), { recursive: true });
  run([
    `--window-size=${size.width},${size.height}`, '--virtual-time-budget=10000',
    `--screenshot=${path.resolve(pngFile)}`, `file://${path.resolve(htmlFile)}`,
  ], 120000);
  if (!fs.existsSync(pngFile)) throw new Error(`chromium wrote no screenshot to ${pngFile}`);
  return pngFile;
}
