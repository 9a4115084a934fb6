// What a reader needs to know to trust (or reproduce) a notebook's numbers: versions, backend, scale, memory.
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { backendReport, formatBackendReport } from '../backend';
import { currentScale } from '../scale';
import { currentRegime } from '../experiments/regimes';
import { plotlyVersion } from '../viz/plotly';

function pkgVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** Rows of {item, value}: versions, backend, scale, machine, memory. Call after initBackend(). */
export function environmentRows(): Array<{ item: string; value: string }> {
  const r = backendReport();
  const mem = tf.memory();
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  return [
    { item: 'node', value: process.version },
    { item: 'tslab', value: pkgVersion('tslab') },
    { item: 'TypeScript (tslab)', value: pkgVersion('@tslab/typescript-for-tslab') },
    { item: '@tensorflow/tfjs', value: tf.version.tfjs },
    { item: 'backend', value: r ? formatBackendReport(r) : `${tf.getBackend()} (initBackend not called)` },
    { item: 'scale (INHERITUNE_SCALE)', value: currentScale() },
    { item: 'data regime (INHERITUNE_REGIME)', value: currentRegime() },
    { item: 'plotly.js', value: plotlyVersion() },
    { item: 'arquero', value: pkgVersion('arquero') },
    { item: 'machine', value: `${os.cpus().length} cores, ${mib(os.totalmem())} RAM, ${os.platform()} ${os.arch()}` },
    { item: 'process RSS', value: mib(process.memoryUsage().rss) },
    { item: 'tf.memory()', value: `${mem.numTensors} tensors, ${mib(mem.numBytes)}` },
  ];
}
