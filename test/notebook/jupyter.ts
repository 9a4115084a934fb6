// Notebook tests need Debian's Jupyter pieces. In CI (CI=true) their absence is a failure, elsewhere a skip.
import type { TestContext } from 'node:test';
import { checkJupyter } from '../../lib/notebook/runner';

/** Returns true (and marks the test skipped) when Jupyter is missing outside CI; throws in CI. */
export function jupyterOrSkip(t: TestContext): boolean {
  try {
    checkJupyter();
    return false;
  } catch (e) {
    if (process.env.CI) throw e;
    t.skip((e as Error).message);
    return true;
  }
}
