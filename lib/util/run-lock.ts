// One writer per run directory. Two `train` processes on one --out (or a notebook and the CLI) would interleave
// train.csv rows and overwrite each other's checkpoints, so every writer holds <dir>/.lock (the writer's pid) while
// it works. A lock whose process is gone (killed, crashed, a leftover of this process's interrupted notebook cell)
// is taken over. The lock is re-entrant inside one process: the notebooks lock a run, then train() locks it again.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pidAlive } from './fs';

export const LOCK_FILE = '.lock';

// Locks this process holds: directory -> how many times (re-entrant).
const held = new Map<string, number>();

export interface LockOptions {
  /** Wait (polling every pollMs) for a live holder to finish instead of failing at once. Default false. */
  wait?: boolean;
  pollMs?: number;
  /** Told once when waiting for another process. */
  log?: (line: string) => void;
}

function readPid(lock: string): number {
  try {
    const text = fs.readFileSync(lock, 'utf8').trim();
    return /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  } catch {
    return NaN; // vanished between the create attempt and the read: try again
  }
}

/** A killed process that nobody reaped yet (its pid still answers kill(pid, 0)); Linux only, false elsewhere. */
function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/** Takes the lock once, or returns the live pid holding it. */
function tryLock(dir: string, lock: string): number | null {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = readPid(lock);
    if (Number.isNaN(pid) && fs.existsSync(lock)) {
      // Being written right now (created, pid not yet in it), or garbage: garbage is older than a second.
      const age = Date.now() - fs.statSync(lock).mtimeMs;
      if (age < 1000) continue;
    } else if (pid !== process.pid && pidAlive(pid) && !isZombie(pid)) {
      return pid;
    }
    // A dead holder, or our own pid without an entry in `held` (an interrupted notebook cell): take it over.
    fs.rmSync(lock, { force: true });
  }
  throw new Error(`${dir}: could not take ${LOCK_FILE} (it keeps changing); is another process starting on this run?`);
}

/**
 * Locks a run directory (created if needed) and returns the release function. Fails, naming the holder's pid, when
 * another live process holds it (or waits for it with `wait`).
 */
export async function lockRunDir(dir: string, o: LockOptions = {}): Promise<() => void> {
  const key = path.resolve(dir);
  const release = () => {
    const n = held.get(key) ?? 0;
    if (n > 1) held.set(key, n - 1);
    else if (n === 1) {
      held.delete(key);
      if (readPid(path.join(key, LOCK_FILE)) === process.pid) fs.rmSync(path.join(key, LOCK_FILE), { force: true });
    }
  };
  const n = held.get(key);
  if (n !== undefined) {
    held.set(key, n + 1);
    return release;
  }
  fs.mkdirSync(key, { recursive: true });
  const lock = path.join(key, LOCK_FILE);
  let announced = false;
  for (;;) {
    const holder = tryLock(key, lock);
    if (holder === null) {
      held.set(key, 1);
      return release;
    }
    if (!o.wait) {
      throw new Error(`${key} is in use by process ${holder} (${lock}); wait for it to finish, or choose another run directory`);
    }
    if (!announced) (o.log ?? console.log)(`waiting for process ${holder}, which is writing ${key}`);
    announced = true;
    await new Promise((r) => setTimeout(r, o.pollMs ?? 2000));
  }
}

/** True when this process holds the lock of `dir`. */
export function holdsRunLock(dir: string): boolean {
  return held.has(path.resolve(dir));
}
