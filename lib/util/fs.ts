// Small file-system helpers shared by everything that writes results atomically or detects crashed writers.
import * as fs from 'node:fs';

/** True if a process with this pid exists (EPERM: exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Persists a rename inside `dir` (best effort: not every platform can fsync a directory). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // ignore: see above
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
