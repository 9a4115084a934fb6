// Small file-system helpers shared by everything that writes results atomically or detects crashed writers.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

// writeSync takes at most 2^31-1 bytes per call.
const WRITE_CHUNK = 256 * 1024 * 1024;

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

/** Writes all of `bytes` at the file position, in chunks of at most 256 MB per write call. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, Math.min(WRITE_CHUNK, bytes.length - done));
}

/**
 * Writes `fill(fd)` to `file` atomically: into a temporary file in the same folder, fsynced, then renamed over
 * `file`. If fill throws, the temporary file is removed and any previous `file` is left untouched.
 */
export function writeFileAtomic(file: string, fill: (fd: number) => void): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o644);
  let ok = false;
  try {
    fill(fd);
    fs.fsyncSync(fd);
    ok = true;
  } finally {
    fs.closeSync(fd);
    if (!ok) fs.rmSync(tmp, { force: true });
  }
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dir); // persist the rename itself
}
